"""What every exercise and quiz check must do, asserted the same way for every unit."""
from __future__ import annotations


def not_done(*args, **kwargs):
    """An answer cell as released: the stub raises NotImplementedError."""
    raise NotImplementedError()


def assert_exercise_check(check, right, wrongs, capsys):
    """The right answer passes with full points; each wrong one fails with a hint; not attempted and errors say so."""
    result = check(right)
    assert result.passed, result.message
    assert result.points == result.max_points > 0
    assert check(not_done).status == "not attempted"
    for wrong in wrongs:
        res = check(wrong)
        assert not res.passed and res.points == 0, wrong
        assert "Hint" in res.message
    assert check(lambda *a: 1 / 0).status == "error"
    assert "passed" in capsys.readouterr().out


def assert_quiz(check, right, also_right, wrong):
    for fn in [right, *also_right]:
        assert check(fn, verbose=False).passed
    for fn in wrong:
        assert check(fn, verbose=False).status == "wrong"
    assert check(not_done, verbose=False).status == "not attempted"
