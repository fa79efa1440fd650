"""One progress bar for every command: rich, on stderr, transient, and only on a terminal
(optionally a line per tenth of the work elsewhere, for long runs whose output is logged)."""
from __future__ import annotations

import sys
import time


class Bar:
    """``start(total)``, then ``advance(description)`` or ``update(done, total)``; ``stop()``.

    Does nothing unless ``enabled`` and stderr is a terminal, so piped output, ``--json`` and
    the tests see no bar; with ``lines=True``, off a terminal, ``update`` writes a plain line
    (done/total, elapsed, time left at the pace so far) after the first step and after each
    further tenth. Starts lazily: ``update`` may be the first call.
    """

    def __init__(self, label: str, enabled: bool = True, lines: bool = False):
        self.label = label
        tty = sys.stderr.isatty()
        self.enabled = enabled and tty
        self.lines = lines and enabled and not tty
        self._bar = None
        self._task = None
        self._t0 = time.monotonic()
        self._next_line = 1

    def start(self, total: int) -> None:
        if not self.enabled or self._bar is not None:
            return
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn(), TimeRemainingColumn(),
                             console=Console(stderr=True), transient=True)
        self._task = self._bar.add_task(self.label, total=total)
        self._bar.start()

    def advance(self, description: str | None = None) -> None:
        if self._bar is not None:
            self._bar.update(self._task, advance=1,
                             description=(description or self.label)[:70])

    def update(self, done: int, total: int) -> None:
        self.start(total)
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total)
        elif self.lines and done >= self._next_line:
            elapsed = time.monotonic() - self._t0
            left = elapsed * (total - done) / max(done, 1)
            print(f"{self.label}: {done}/{total}, {elapsed:.1f} s, about {left:.1f} s left",
                  file=sys.stderr, flush=True)
            self._next_line = min(total, done + max(1, total // 10))

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
