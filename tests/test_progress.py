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
