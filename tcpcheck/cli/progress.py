"""The progress bar ``tcpcheck analyze`` shows on a terminal's stderr while it reads.

One bar per capture (a stitched set is one capture, so one bar: one ETA for what the user
waits for): bytes read of the file's size, packets/s, time remaining. A pipe or standard input
has no size: its bar shows bytes and packets/s, without an ETA. The readers feed it once per
megabyte (``tcpcheck.progress``), and it is drawn on stderr only, so that it changes neither
stdout nor a report. The bars disappear when reading ends, before the report is printed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from tcpcheck.progress import ReadProgress

REFRESHES_PER_SECOND = 4
"""How often the bar is redrawn: often enough to look alive, rarely enough to cost nothing."""

BARS_SHOWN = 5
"""The bars of the latest captures that stay on screen while several files are read."""


def wants_progress(quiet: bool, stderr_is_terminal: bool, environ: Mapping[str, str]) -> bool:
    """Whether to draw the bar: not with ``-q``, not when stderr is no terminal, not in CI
    (GitHub Actions and GitLab set ``CI``; an ``xterm`` log would fill with redraws)."""
    in_ci = environ.get("CI", "").lower() not in ("", "0", "false")
    return not quiet and stderr_is_terminal and not in_ci


@contextmanager
def reading_progress(quiet: bool, console: Console | None = None,
                     ) -> Iterator[ReadProgress | None]:
    """The progress hook to give the pipeline while the captures are read, or None when no
    bar is wanted (``wants_progress``); ``console`` (stderr by default) is where it is drawn."""
    console = console or Console(stderr=True)
    if not wants_progress(quiet, console.is_terminal, os.environ):
        yield None
        return
    # Redrawn by the reader's own calls, not by rich's refresh thread: a second thread
    # waking four times a second made the analysis measurably slower (bench/README.md).
    progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                        _PacketRate(), _Remaining(), console=console, transient=True,
                        auto_refresh=False, redirect_stdout=False)
    with progress:
        yield _Bars(progress)


class _Bars:
    """A ``ReadProgress`` that keeps one bar per capture named to it."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}
        self._drawn = 0.0

    def __call__(self, name: str, done: int, total: int | None, records: int) -> None:
        task = self._tasks.get(name)
        if task is None:
            task = self._tasks[name] = self._progress.add_task(name, total=total, records=0)
            if len(self._tasks) > BARS_SHOWN:
                # Only the latest files' bars: a folder of a thousand captures would
                # otherwise outgrow the terminal.
                oldest = list(self._tasks.values())[-BARS_SHOWN - 1]
                self._progress.update(oldest, visible=False)
        self._progress.update(task, completed=done, records=records)
        now = time.monotonic()
        if now - self._drawn >= 1 / REFRESHES_PER_SECOND:
            self._drawn = now
            self._progress.refresh()


class _PacketRate(ProgressColumn):
    """Records read per second since the capture's bar appeared."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        rate = task.fields.get("records", 0) / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate / 1000:,.0f} k packets/s", style="progress.data.speed")


class _Remaining(TimeRemainingColumn):
    """The time remaining, left out for a capture of unknown size (a pipe)."""

    def render(self, task: Task) -> Text:
        return Text("") if task.total is None else super().render(task)

