"""The consoles commands print on, and the guard for commands whose output is what they print."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

from rich.console import Console

from tcpcheck.cli.exits import writing_stdout
from tcpcheck.report.plain import plain_console

WIDE_OUTPUT = 160
"""Width of tables written to a pipe or file, so that one rule or one value stays on one line."""

Command = Callable[..., None]


def report_console(color: str) -> Console:
    """The console of a report on stdout: laid out for the terminal, or plain (nothing
    wrapped, no trailing spaces) for a pipe, a file or a CI log."""
    if sys.stdout.isatty():
        return stdout_console(color)
    return plain_console(sys.stdout, color=color == "always")


def stdout_console(color: str, min_width: int = 0, *, stderr: bool = False) -> Console:
    """A console on stdout (on stderr with ``stderr``): colour per ``--color`` and NO_COLOR,
    plain text when not a terminal.

    ``min_width`` widens the output when it goes to a pipe or a file (rich assumes 80 columns
    there), so that table rows stay greppable instead of wrapping.
    """
    force = {"always": True, "never": False}.get(color)
    # An explicit --color beats NO_COLOR; with "auto" rich reads NO_COLOR and FORCE_COLOR.
    no_color = {"always": False, "never": True}.get(color)
    console = _Console(force_terminal=force, no_color=no_color, stderr=stderr)
    if not console.is_terminal:
        console.width = max(console.width, min_width)
    return console


class _Console(Console):
    """A rich console that lets a closed pipe end the run as ExitCode.BROKEN_PIPE: rich's own
    handler exits with 1, which means findings."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def printing(what: str) -> Callable[[Command], Command]:
    """For a command whose only output is what it prints: a failed write to stdout is one
    line naming ``what``, exit 2. (Its reading errors are user errors raised before.)"""
    def decorate(func: Command) -> Command:
        @functools.wraps(func)
        def command(*args: object, **kwargs: object) -> None:
            with writing_stdout(what):
                func(*args, **kwargs)
        return command
    return decorate
