"""Tests of rwlib.language_model: the course corpus, the bigram model, its rewards.

Expected values come from an independent count of the corpus in this file
(collections.Counter, math.log), from closed forms, or from sampling statistics
with a fixed seed and a stated tolerance.
"""

import importlib.resources
import math
from collections import Counter

import numpy as np
import pytest
from goodness_of_fit import chi_square_bound, pooled_chi_square

import rwlib.language_model as lm

SMOOTHING = 0.1  # the smoothing course_model uses
LOG2 = math.log(2)


def corpus_lines():
    """The shipped corpus, read directly (not through rwlib.language_model)."""
    text = importlib.resources.files("rwlib").joinpath("data/reviews.txt").read_text("utf-8")
    return [line for line in text.splitlines() if line.strip()]


class TestCorpus:
    def test_has_300_to_400_lines(self):
        assert 300 <= len(corpus_lines()) <= 400

    def test_vocabulary_has_at_most_48_words(self):
        words = {word for line in corpus_lines() for word in line.split()}
        assert len(words) <= 48
        assert lm.course_model().vocabulary == tuple(sorted(words))

    def test_lowercase_letters_and_spaces_only(self):
        for line in corpus_lines():
            assert line == line.strip() and all(c.islower() or c == " " for c in line), line

    def test_varied_sentences(self):
        lines = corpus_lines()
        assert len(set(lines)) == len(lines)
        assert len({line.split()[0] for line in lines}) >= 8
        assert len({len(line.split()) for line in lines}) >= 6

    def test_has_clearly_positive_and_negative_words(self):
        counts = Counter(word for line in corpus_lines() for word in line.split())
        lexicon = lm.sentiment_lexicon()
        assert sum(counts[w] for w, s in lexicon.items() if s > 0) >= 100
        assert sum(counts[w] for w, s in lexicon.items() if s < 0) >= 100

    def test_course_corpus_reads_the_package_file(self):
        assert list(lm.course_corpus()) == corpus_lines()


class TestFromSentences:
    def test_log_prob_of_a_sentence_equals_hand_counted_transitions(self):
        lines = corpus_lines()
        vocabulary = sorted({word for line in lines for word in line.split()})
        pairs = Counter()
        for line in lines:
            words = ["<s>"] + line.split()
            pairs.update(zip(words[:-1], words[1:], strict=False))

        def log_p(previous, word):
            total = sum(n for (a, _), n in pairs.items() if a == previous)
            return math.log(
                (pairs[previous, word] + SMOOTHING) / (total + SMOOTHING * len(vocabulary))
            )

        sentence = "i loved the acting but the plot was slow"
        words = ["<s>"] + sentence.split()
        expected = sum(log_p(a, b) for a, b in zip(words[:-1], words[1:], strict=False))
        model = lm.course_model()
        assert model.log_prob(model.encode(sentence)) == pytest.approx(expected, rel=1e-14)

    def test_tiny_corpus_by_hand(self):
        model = lm.BigramModel.from_sentences(["a b", "a a", "b"], smoothing=0.5)
        # <s>: a twice, b once; after a: b once, a once; after b: nothing.
        expected = np.array([[2.5 / 4, 1.5 / 4], [1.5 / 3, 1.5 / 3], [0.5, 0.5]])
        np.testing.assert_allclose(np.exp(model.log_transitions), expected, rtol=1e-15)

    def test_every_transition_has_positive_probability(self):
        assert np.isfinite(lm.course_model().log_transitions).all()

    def test_is_read_only_and_cached(self):
        model = lm.course_model()
        assert lm.course_model() is model
        with pytest.raises(ValueError, match="read-only"):
            model.log_transitions[0, 0] = 0.0

    @pytest.mark.parametrize(
        ("sentences", "smoothing", "message"),
        [
            ("the movie", 0.1, "single string"),
            ([], 0.1, "sentences is empty"),
            (["the movie", "  "], 0.1, r"sentences\[1\] is empty"),
            (["the movie"], 0.0, "smoothing must be a positive"),
        ],
    )
    def test_bad_input(self, sentences, smoothing, message):
        with pytest.raises(ValueError, match=message):
            lm.BigramModel.from_sentences(sentences, smoothing)


class TestConstructor:
    def test_rows_must_be_distributions(self):
        with pytest.raises(ValueError, match="must sum to 1"):
            lm.BigramModel(("a", "b"), np.log([[0.5, 0.5], [0.5, 0.4], [0.5, 0.5]]))

    def test_shape_must_be_v_plus_one_by_v(self):
        with pytest.raises(ValueError, match=r"shape \(V \+ 1, V\) = \(3, 2\)"):
            lm.BigramModel(("a", "b"), np.log(np.full((2, 2), 0.5)))

    def test_repeated_word(self):
        with pytest.raises(ValueError, match="'a' twice"):
            lm.BigramModel(("a", "a"), np.log(np.full((3, 2), 0.5)))


class TestEncodeDecode:
    def test_round_trip(self):
        model = lm.course_model()
        for line in corpus_lines()[:50]:
            assert model.decode(model.encode(line)) == line

    def test_ids_index_the_vocabulary(self):
        model = lm.course_model()
        ids = model.encode("the movie was great")
        assert [model.vocabulary[i] for i in ids] == ["the", "movie", "was", "great"]

    def test_unknown_word_is_named(self):
        with pytest.raises(ValueError, match=r"unknown word 'superb'.*model\.vocabulary"):
            lm.course_model().encode("the movie was superb")

    def test_decode_rejects_out_of_range_ids(self):
        model = lm.course_model()
        with pytest.raises(ValueError, match="outside 0..45"):
            model.decode([0, model.vocabulary_size])

    def test_decode_rejects_float_ids(self):
        with pytest.raises(TypeError, match="integer token ids"):
            lm.course_model().decode([0.0, 1.0])


class TestNextTokenProbs:
    def test_sums_to_one_for_every_context(self):
        model = lm.course_model()
        np.testing.assert_allclose(model.next_token_probs([]).sum(), 1.0, rtol=1e-14)
        all_contexts = np.arange(model.vocabulary_size)[:, None]
        np.testing.assert_allclose(model.next_token_probs(all_contexts).sum(-1), 1.0, rtol=1e-14)

    def test_only_the_last_word_matters(self):
        model = lm.course_model()
        np.testing.assert_array_equal(
            model.next_token_probs(model.encode("i loved the")),
            model.next_token_probs(model.encode("the")),
        )


class TestEnumerate:
    @pytest.mark.parametrize("length", [1, 2, 3])
    def test_probabilities_sum_to_one(self, length):
        model = lm.course_model()
        ids, log_probs = model.enumerate(length)
        assert ids.shape == (model.vocabulary_size**length, length)
        assert math.fsum(np.exp(log_probs)) == pytest.approx(1.0, abs=1e-13)

    def test_lists_every_sequence_once(self):
        ids, _ = lm.course_model().enumerate(2)
        assert len({tuple(row) for row in ids.tolist()}) == len(ids)

    def test_log_probs_match_log_prob(self):
        model = lm.course_model()
        ids, log_probs = model.enumerate(3)
        for row in (0, 12345, len(ids) - 1):
            assert log_probs[row] == model.log_prob(ids[row])

    def test_refuses_too_many_sequences(self):
        with pytest.raises(ValueError, match=r"46\*\*5 = 205,962,976 sequences"):
            lm.course_model().enumerate(5)


class TestSample:
    def test_shape_and_range(self):
        ids = lm.course_model().sample(np.random.default_rng(0), length=7, size=11)
        assert ids.shape == (11, 7) and ids.min() >= 0 and ids.max() < 46

    def test_first_token_frequencies_match_next_token_probs(self):
        model = lm.course_model()
        ids = model.sample(np.random.default_rng(1), length=1, size=200_000)
        counts = np.bincount(ids[:, 0], minlength=model.vocabulary_size)
        statistic, df = pooled_chi_square(counts, model.next_token_probs([]))
        assert statistic < chi_square_bound(df)

    def test_pair_frequencies_match_enumerated_probabilities(self):
        model = lm.course_model()
        ids = model.sample(np.random.default_rng(2), length=2, size=400_000)
        counts = np.bincount(ids[:, 0] * model.vocabulary_size + ids[:, 1], minlength=46**2)
        statistic, df = pooled_chi_square(counts, np.exp(model.enumerate(2)[1]))
        assert df > 100
        assert statistic < chi_square_bound(df)

    def test_same_seed_same_sequences(self):
        model = lm.course_model()
        first = model.sample(np.random.default_rng(5), length=4, size=3)
        np.testing.assert_array_equal(first, model.sample(np.random.default_rng(5), 4, 3))

    def test_never_draws_a_zero_probability_word(self):
        # After "<s>" only "a" is possible, then only "b": every sample is "a b".
        model = lm.BigramModel(("a", "b"), [[0.0, -np.inf], [-np.inf, 0.0], [-LOG2, -LOG2]])
        ids = model.sample(np.random.default_rng(3), length=2, size=1000)
        assert (ids == [0, 1]).all()

    def test_rng_must_be_a_generator(self):
        with pytest.raises(TypeError, match="default_rng"):
            lm.course_model().sample(0, length=2)


class TestRewards:
    def test_lexicon_scores(self):
        lexicon = lm.sentiment_lexicon()
        assert set(lexicon.values()) <= {-2.0, -1.0, 1.0, 2.0}
        assert lexicon["great"] > 0 > lexicon["boring"]

    def test_token_rewards_follow_the_vocabulary(self):
        model = lm.course_model()
        rewards = lm.token_rewards(model, {"great": 2.0, "bad": -1.0})
        assert rewards.shape == (46,)
        assert rewards[model.encode("great")[0]] == 2.0 and rewards[model.encode("bad")[0]] == -1.0
        assert np.count_nonzero(rewards) == 2

    def test_token_rewards_rejects_unknown_words(self):
        with pytest.raises(ValueError, match="'superb' is not in the model's vocabulary"):
            lm.token_rewards(lm.course_model(), {"superb": 2.0})

    def test_sequence_reward_is_the_sum_over_tokens(self):
        model = lm.course_model()
        rewards = lm.token_rewards(model, lm.sentiment_lexicon())
        ids = model.encode("i loved it but it was boring and slow")
        assert lm.sequence_reward(ids, rewards) == 2.0 - 2.0 - 1.0
        batch = lm.sequence_reward(np.stack([ids, ids[::-1]]), rewards)
        np.testing.assert_array_equal(batch, [-1.0, -1.0])

    def test_contains_word(self):
        model = lm.course_model()
        great = model.encode("great")[0]
        ids = [model.encode("great great film"), model.encode("a bad film")]
        np.testing.assert_array_equal(lm.contains_word(ids, great), [1.0, 0.0])
