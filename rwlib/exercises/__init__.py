"""The exercises' checks, one module per lesson (``lesson01.py`` for notebook 01, ...).

Each module registers a verifier per graded exercise with
``@rwlib.checks.exercise(grade_id)``; ``rw.check`` imports them all on first use.
"""
