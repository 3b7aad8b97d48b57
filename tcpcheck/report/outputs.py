"""Where reports go: ``--format FORMAT[:PATH]`` given once or several times, and ``-o PATH``.

One run can write the terminal report to stdout, SARIF for code scanning, JUnit for the test
tab and Markdown for the pull request at once. At most one format goes to stdout; when every
format has a file, the terminal report still goes to stdout, as pytest does with --junitxml.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tcpcheck.report.formats import FORMATS


class OutputError(ValueError):
    """A ``--format``/``-o`` combination that cannot be honoured."""


@dataclass(frozen=True, slots=True)
class Output:
    """One report: its format and its file (None: stdout)."""

    format: str
    path: str | None


def plan_outputs(specs: Sequence[str], output: str | None, *, quiet: bool) -> list[Output]:
    """The reports one run writes, from its ``--format`` values and ``-o``.

    A path after the first colon belongs to the format (``sarif:out/report.sarif``); ``-o``
    is the path of the one format given without one.
    """
    outputs: list[Output] = []
    for spec in specs or ("terminal",):
        name, sep, path = spec.partition(":")
        name = name.strip().lower()
        if name not in FORMATS:
            raise OutputError(f"unknown format {name!r} in --format {spec!r} "
                              f"(formats: {', '.join(FORMATS)})")
        if sep and not path:
            raise OutputError(f"--format {spec!r}: the path after ':' is empty")
        outputs.append(Output(name, path or None))
    to_stdout = [o for o in outputs if o.path is None]
    if len(to_stdout) > 1:
        names = ", ".join(o.format for o in to_stdout)
        raise OutputError(f"several formats for stdout ({names}): give all but one a path, "
                          "as in --format sarif:report.sarif")
    if output is not None:
        if not to_stdout:
            raise OutputError("-o/--output names the file of the format given without a path, "
                              "but every --format has one")
        outputs = [Output(o.format, output) if o.path is None else o for o in outputs]
    elif not to_stdout and not quiet:
        outputs.insert(0, Output("terminal", None))
    paths = [o.path for o in outputs if o.path is not None]
    duplicates = sorted({p for p in paths if paths.count(p) > 1})
    if duplicates:
        raise OutputError(f"two reports would be written to {duplicates[0]}")
    return outputs
