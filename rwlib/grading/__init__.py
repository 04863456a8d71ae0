"""The course's grader: ``rwlib grade``, its sandbox, and the Gradescope autograder.

Nothing here is imported by a student's kernel (``import rwlib`` does not load it).

- :mod:`~rwlib.grading.intake`: finding submissions, reading them, rebuilding them;
- :mod:`~rwlib.grading.runner`: the pytest plugin that runs rebuilt notebooks with nbval;
- :mod:`~rwlib.grading.sandbox`: the kernels' sandbox and limits;
- :mod:`~rwlib.grading.grade`: ``rwlib grade``, a whole class;
- :mod:`~rwlib.grading.gradescope`: the Gradescope autograder.
"""
