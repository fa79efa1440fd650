"""The shared progress bar: silent off a terminal, a rich bar on one."""
import io

from attngrad import progress


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_silent_when_disabled_or_not_a_terminal(monkeypatch):
    monkeypatch.setattr(progress.sys, "stderr", io.StringIO())
    for bar in (progress.Bar("x"), progress.Bar("x", enabled=False)):
        bar.start(3)
        bar.advance("a")
        bar.update(2, 3)
        bar.stop()
        assert bar._bar is None


def test_on_a_terminal_counts_and_stops(monkeypatch):
    monkeypatch.setattr(progress.sys, "stderr", _Tty())
    bar = progress.Bar("work")
    assert bar.enabled
    bar.update(1, 4)  # starts lazily
    assert bar._bar is not None
    bar.advance("next")
    assert bar._bar.tasks[0].completed == 2 and bar._bar.tasks[0].total == 4
    bar.stop()
    bar.stop()  # idempotent
    assert bar._bar is None
    assert not progress.Bar("work", enabled=False).enabled


def test_lines_off_a_terminal(monkeypatch):
    """lines=True: off a terminal, a plain line after the first step and after each tenth."""
    err = io.StringIO()
    monkeypatch.setattr(progress.sys, "stderr", err)
    bar = progress.Bar("calls", lines=True)
    for done in range(1, 101):
        bar.update(done, 100)
    bar.stop()
    lines = err.getvalue().splitlines()
    assert [ln.split(",")[0] for ln in lines] == [f"calls: {k}/100" for k in (1, 11, 21, 31, 41, 51, 61, 71, 81, 91, 100)]
    assert all(ln.endswith(" s left") for ln in lines) and lines[-1].endswith("about 0.0 s left")
    monkeypatch.setattr(progress.sys, "stderr", _Tty())
    assert not progress.Bar("calls", lines=True).lines  # a terminal gets the rich bar instead
