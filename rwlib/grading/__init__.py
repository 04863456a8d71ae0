"""The course's grader: ``rwlib grade``, its sandbox, and the Gradescope autograder.

Nothing here is imported by a student's kernel (``import rwlib`` does not load it).

- :mod:`~rwlib.grading.intake`: finding submissions (LMS layouts, links refused), reading
  and rebuilding them; :mod:`~rwlib.grading.roster`: the class list;
- :mod:`~rwlib.grading.rules`: what an answer cell may use, from its source;
- :mod:`~rwlib.grading.runner`: the pytest plugin that runs rebuilt notebooks with nbval;
- :mod:`~rwlib.grading.sandbox`: the kernels' sandbox and limits;
- :mod:`~rwlib.grading.comparison`: each question's verdict, from its kernel's grading lines;
- :mod:`~rwlib.grading.results`: the one result model; :mod:`~rwlib.grading.reports`: the CSV
  and feedback files made from it;
- :mod:`~rwlib.grading.grade`: ``rwlib grade``, a whole class, and its ``Settings``;
- :mod:`~rwlib.grading.gradescope`: the Gradescope autograder.
"""
