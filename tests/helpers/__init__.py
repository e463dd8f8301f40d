"""Helpers shared by several test modules (a test module never imports another one).

* :mod:`helpers.grading`: a small source notebook with two exercises and a quiz, and its
  released version with given answers (the grader's tests);
* :mod:`helpers.checks`: what every unit's exercise and quiz checks must do;
* :mod:`helpers.attention`: the attention layers' weights copied into their PyTorch twins.

The browser tests share ``browser_util.py`` (also used by ``benchmarks/``).
"""
