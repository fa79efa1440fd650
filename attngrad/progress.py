"""One progress bar for every command: rich, on stderr, transient, and only on a terminal."""
from __future__ import annotations

import sys


class Bar:
    """``start(total)``, then ``advance(description)`` or ``update(done, total)``; ``stop()``.

    Does nothing unless ``enabled`` and stderr is a terminal, so piped output, ``--json`` and
    the tests see no bar. Starts lazily: ``update`` may be the first call.
    """

    def __init__(self, label: str, enabled: bool = True):
        self.label = label
        self.enabled = enabled and sys.stderr.isatty()
        self._bar = None
        self._task = None

    def start(self, total: int) -> None:
        if not self.enabled or self._bar is not None:
            return
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn)

        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn(), console=Console(stderr=True), transient=True)
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

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
