"""How a tcpcheck process ends: the exit codes CI gates read, and the click group that maps every
way a command can end onto one of them with at most one line on stderr.

1 means "findings" and nothing else: a bug in tcpcheck exits 3, Ctrl-C 130, SIGTERM 143, a
closed pipe 141 (as a Unix filter killed by SIGPIPE), usage, input and write errors 2.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from enum import IntEnum
from types import FrameType
from typing import Any, NoReturn

import click

DEBUG_ENV = "TCPCHECK_DEBUG"
"""Set to 1 to print the traceback of an internal error, as --debug does."""


class ExitCode(IntEnum):
    """Process exit status: public API, documented in the README."""

    OK = 0
    """Nothing at or above the fail level."""
    FINDINGS = 1
    """At least one finding at or above the fail level."""
    ERROR = 2
    """Usage, input or output error (one line on stderr)."""
    INTERNAL = 3
    """A bug in tcpcheck: an exception nothing expected (one line; the traceback with --debug)."""
    INTERRUPTED = 130
    """SIGINT (Ctrl-C): 128 + 2, as shells report it."""
    BROKEN_PIPE = 141
    """stdout was closed early (``| head``): 128 + SIGPIPE, quietly."""
    TERMINATED = 143
    """SIGTERM: 128 + 15."""


class Terminated(BaseException):
    """SIGTERM arrived. Raised wherever the program is, as KeyboardInterrupt is for SIGINT, so
    that half-written files are cleaned up on the way out."""


class StdoutError(Exception):
    """Writing to stdout failed (a full device, an I/O error); the message is one line."""


@contextlib.contextmanager
def writing_stdout(what: str) -> Iterator[None]:
    """Turn a failed write to stdout inside the block into ``StdoutError`` naming ``what``; a
    closed pipe stays a BrokenPipeError, which ends the run quietly."""
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise StdoutError(f"cannot write {what} to stdout: {exc.strerror or exc}") from None


class Group(click.Group):
    """The ``tcpcheck`` group: its commands end with an ``ExitCode``, never with a traceback
    or click's "Aborted!" (exit 1, which a CI gate reads as findings)."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        with _sigterm_raises():
            try:
                code = super().main(args, prog_name, complete_var, standalone_mode=False,
                                    **extra)
            except click.ClickException as exc:  # usage errors: click's message and code 2
                exc.show()
                code = exc.exit_code
            except (click.Abort, KeyboardInterrupt):  # Ctrl-C while the command line is parsed
                code = _stopped("interrupted", ExitCode.INTERRUPTED)
            except Terminated:
                code = _stopped("terminated", ExitCode.TERMINATED)
        sys.exit(code if isinstance(code, int) else ExitCode.OK)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            code = _stopped("interrupted", ExitCode.INTERRUPTED)
        except Terminated:
            code = _stopped("terminated", ExitCode.TERMINATED)
        except BrokenPipeError:
            _silence_stdout()
            code = ExitCode.BROKEN_PIPE
        except StdoutError as exc:
            _silence_stdout()
            click.echo(f"tcpcheck: error: {one_line(str(exc))}", err=True)
            code = ExitCode.ERROR
        except Exception as exc:
            code = _internal_error(exc, debug=bool(ctx.params.get("debug")))
        ctx.exit(code)


def one_line(message: str) -> str:
    """``message`` with control characters escaped (a path may hold a newline): an error is
    one line, for the user and for a CI log parser alike."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)


def _internal_error(exc: Exception, *, debug: bool) -> ExitCode:
    """Report an exception nothing expected, a bug: one line, the traceback before it with
    ``debug`` or TCPCHECK_DEBUG=1."""
    debug = debug or os.environ.get(DEBUG_ENV, "") not in ("", "0")
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    detail = " ".join(str(exc).split())
    hint = "" if debug else "; run again with --debug for the traceback"
    click.echo(f"tcpcheck: internal error: {type(exc).__name__}"
               f"{': ' + detail if detail else ''} (this is a bug in tcpcheck{hint})", err=True)
    return ExitCode.INTERNAL


def _stopped(how: str, code: ExitCode) -> ExitCode:
    with contextlib.suppress(OSError):
        click.echo(f"tcpcheck: {how}", err=True)
    return code


def _silence_stdout() -> None:
    """Point stdout at /dev/null: Python flushes it again at exit, and a second failure would
    print "Exception ignored ..." (the Python docs' note on SIGPIPE)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (click's test runner)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """SIGTERM raises ``Terminated`` inside the block (signal handlers: main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_terminated(signum: int, frame: FrameType | None) -> NoReturn:
    raise Terminated
