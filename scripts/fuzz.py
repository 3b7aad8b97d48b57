"""Fuzz tcpcheck from capture bytes to every report: a seeded mutation loop.

Seeds are the bundled captures (``captures/``, ``tests/regressions/``, and any ``--corpus``
folder), read once into records. Each iteration takes one seed and mutates its records, the
header fields of its frames, and the bytes of the file it is written to (``fuzz_inputs.py``).

The mutant is written to a file and goes through what ``tcpcheck analyze`` and ``show`` run: the
reader, the decoder, the model (every connection's timeline recorded), and every renderer --
terminal, json, junit, sarif, github, markdown, html and ``show``'s ladder. Every few iterations
it also goes through the real command line (in-process), which must exit 0, 1 or 2, and say a
refusal in one line. ``CaptureError`` (a file that cannot be read as a capture) is the one
expected refusal; any other exception, or an input that runs longer than ``--timeout``, is a
crash: the input is saved in the crash folder beside a ``.txt`` with the traceback and how to
replay it. Iteration ``i`` of seed ``S`` is the same mutant on every machine.

Usage::

    python scripts/fuzz.py [--seconds N | --iterations N] [--seed S] [--crashes DIR]
                           [--corpus DIR]...
    python scripts/fuzz.py --replay FILE...
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import re
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from click.testing import CliRunner
from fuzz_inputs import Rec, load_seeds, make_mutant, write_pcap  # beside this script
from rich.console import Console

from tcpcheck.catalog import load_catalog
from tcpcheck.cli import main as cli_main
from tcpcheck.pipeline import Job, analyze_jobs
from tcpcheck.profiles import load_profile
from tcpcheck.report import (
    render_github,
    render_html,
    render_junit,
    render_markdown,
    render_sarif,
    render_terminal,
    write_json,
)
from tcpcheck.report.ladder import build_ladder
from tcpcheck.report.ladder_view import render_ladder
from tcpcheck.report.outputs import FORMATS
from tcpcheck.report.terminal import render_failures
from tcpcheck.result import Severity
from tcpcheck.sources import CaptureError
from tcpcheck.timeline import Recording

ROOT = Path(__file__).resolve().parent.parent
SEED_FOLDERS = (ROOT / "captures", ROOT / "tests" / "regressions")
CLI_EVERY = 8
"""One iteration in this many also runs through the real command line."""
DEFAULT_TIMEOUT = 20.0
MAX_LADDERS = 4
"""Connections drawn as ``show`` would, per input."""
class Hang(Exception):
    """An input ran longer than the time limit."""


@dataclass
class Stats:
    executions: int = 0
    refused: int = 0
    """Inputs that could not be read as a capture (``CaptureError``): expected."""
    connections: int = 0
    """Connections analysed and drawn, over all inputs."""
    containers: Counter = field(default_factory=Counter)
    crashes: Counter = field(default_factory=Counter)
    """Crashes by signature (exception type and innermost tcpcheck line)."""
    saved: list[Path] = field(default_factory=list)


# ------------------------------------------------------------------ the target


class Target:
    """Everything ``analyze`` and ``show`` run on one capture file."""

    def __init__(self) -> None:
        self.profile = load_profile("linux")
        self.catalog = load_catalog()
        self.runner = CliRunner()

    def __call__(self, path: Path, *, cli: bool = False) -> int:
        """Run ``path`` through; the number of connections, or -1 when it was refused."""
        try:
            result = analyze_jobs([Job(str(path), self.profile)], Recording(all=True))
        except CaptureError:
            refused = True
        else:
            refused = False
            self._render(result)
        if cli:
            self._command_line(path)
        return -1 if refused else len(result.connections)

    def _render(self, result) -> None:
        console = Console(file=io.StringIO(), width=100, force_terminal=True,
                          color_system="truecolor")
        render_terminal(result, console, show_info=True, fail_on=Severity.ERROR)
        render_failures(result, console, Severity.WARNING)
        out = io.StringIO()
        write_json(result, out)
        json.loads(out.getvalue())
        render_junit(result, Severity.ERROR, timestamp="2026-01-01T00:00:00Z")
        render_sarif(result, self.catalog)
        render_github(result)
        render_markdown(result, None)
        render_html(result, self.catalog, Severity.ERROR, all_connections=True)
        summaries = {c.id: c for c in result.connections}
        # Drawing is most of an iteration's time: a few ladders, collapsed and full in turn.
        for index, timeline in enumerate(result.timelines[:MAX_LADDERS]):
            frames = (timeline.steps[len(timeline.steps) // 2].frame,) if timeline.steps else ()
            ladder = build_ladder(timeline, result.findings, full=index % 2 == 1, frames=frames)
            render_ladder(ladder, summaries[timeline.connection], console,
                          frame=frames[0] if frames else None)

    def _command_line(self, path: Path) -> None:
        """The real command line, in-process: exit 0, 1 or 2; a refusal is one line."""
        with tempfile.TemporaryDirectory() as out:
            formats = [f"--format={fmt}:{out}/report.{fmt}" for fmt in FORMATS]
            # show's frame varies with the input, so that over a run it names frames of every
            # kind: in a connection, not TCP, past the end.
            frame = str(1 + path.stat().st_size % 9)
            for args in (["analyze", str(path), "--html-all", *formats],
                         ["show", str(path), "--frame", frame]):
                # TCPCHECK_DEBUG: an internal error (exit 3) prints its traceback.
                run = self.runner.invoke(cli_main, args, env={"TCPCHECK_DEBUG": "1"})
                if run.exception is not None and not isinstance(run.exception, SystemExit):
                    raise run.exception.with_traceback(run.exc_info[2])
                if run.exit_code not in (0, 1, 2):
                    raise CommandCrash(args[0], run.exit_code, run.stderr)
                if run.exit_code == 2:
                    lines = run.stderr.splitlines()
                    if len(lines) != 1 or not lines[0].startswith("tcpcheck: error: "):
                        raise AssertionError(f"{args[0]}: a refusal is not one line: "
                                             f"{run.stderr!r}")


class CommandCrash(Exception):
    """The command line ended with a code other than 0, 1 or 2 (3: an internal error, its
    traceback on stderr)."""

    def __init__(self, command: str, code: int, stderr: str) -> None:
        super().__init__(f"tcpcheck {command} exited {code}:\n{stderr}")
        frames = re.findall(r'File "[^"]*/tcpcheck/([^"]+)", line (\d+)', stderr)
        kind = re.search(r"internal error: (\w+)", stderr)
        self.where = ":".join(frames[-1]) if frames else "?"
        self.kind = f"{kind.group(1) if kind else 'exit'} {code}"


def _alarm(signum: int, frame: object) -> None:
    raise Hang("the input ran longer than the time limit")


def signature(exc: BaseException) -> str:
    """Exception type and the innermost line of tcpcheck's own code it came from."""
    if isinstance(exc, CommandCrash):
        return f"{exc.kind}@{exc.where} (command line)"
    where = "?"
    for entry in traceback.extract_tb(exc.__traceback__):
        if "/tcpcheck/" in entry.filename or entry.filename.endswith("fuzz.py"):
            where = f"{Path(entry.filename).name}:{entry.lineno}"
    return f"{type(exc).__name__}@{where}"


# ------------------------------------------------------------------ the loop


def fuzz(*, seed: int, iterations: int | None = None, seconds: float | None = None,
         crashes: Path, corpus: Sequence[Path] = (), timeout: float = DEFAULT_TIMEOUT,
         target: Callable[..., int] | None = None, log: Callable[[str], None] = print) -> Stats:
    """Run the loop for ``iterations`` or ``seconds`` (Ctrl-C ends it early, SIGTERM after
    the input in progress); save every new crash under ``crashes``."""
    seeds = load_seeds([*SEED_FOLDERS, *corpus])
    seeds_bytes = [write_pcap(s, nano=False, big_endian=False) for s in seeds
                   if len({r.linktype for r in s}) == 1]
    run = _Run(seed, seeds, seeds_bytes, target or Target(), timeout, crashes, log)
    deadline = None if seconds is None else time.monotonic() + seconds
    stop: list[int] = []
    previous = signal.signal(signal.SIGALRM, _alarm)
    previous_term = signal.signal(signal.SIGTERM, lambda signum, frame: stop.append(signum))
    try:
        with tempfile.TemporaryDirectory(prefix="tcpcheck-fuzz-") as work:
            i = 0
            while (iterations is None or i < iterations) and not stop and (
                    deadline is None or time.monotonic() < deadline):
                run.one(i, Path(work))
                i += 1
    except KeyboardInterrupt:
        stop.append(signal.SIGINT)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        signal.signal(signal.SIGTERM, previous_term)
    if stop:
        log("stopped: the summary covers the inputs run so far")
    return run.stats


@dataclass
class _Run:
    """One fuzzing run: what each iteration needs, and what the run found."""

    seed: int
    seeds: Sequence[list[Rec]]
    seeds_bytes: Sequence[bytes]
    target: Callable[..., int]
    timeout: float
    crashes: Path
    log: Callable[[str], None]
    stats: Stats = field(default_factory=Stats)

    def one(self, i: int, work: Path) -> None:
        """Iteration ``i``: make its input, run it under the time limit, count the outcome."""
        data, suffix, steps = make_mutant(self.seed, i, self.seeds, self.seeds_bytes)
        stats = self.stats
        stats.containers[suffix] += 1
        path = work / f"input{suffix}"
        path.write_bytes(data)
        signal.setitimer(signal.ITIMER_REAL, self.timeout)
        try:
            found = self.target(path, cli=i % CLI_EVERY == 0)
        except Exception as exc:  # any exception but CaptureError is a finding
            signal.setitimer(signal.ITIMER_REAL, 0)
            self._crashed(exc, data, suffix, steps, i)
        else:
            signal.setitimer(signal.ITIMER_REAL, 0)
            if found < 0:
                stats.refused += 1
            else:
                stats.connections += found
        stats.executions += 1

    def _crashed(self, exc: Exception, data: bytes, suffix: str, steps: list[str],
                 iteration: int) -> None:
        """Count the crash; save the input and its traceback the first time its signature
        shows."""
        sig = signature(exc)
        self.stats.crashes[sig] += 1
        if self.stats.crashes[sig] > 1:
            return
        self.crashes.mkdir(parents=True, exist_ok=True)
        name = f"crash-{hashlib.sha1(data).hexdigest()[:12]}"
        path = self.crashes / f"{name}{suffix}"
        path.write_bytes(data)
        trace = "".join(traceback.format_exception(exc))
        (self.crashes / f"{name}.txt").write_text(
            f"signature: {sig}\nseed: {self.seed}\niteration: {iteration}\n"
            f"mutations: {'; '.join(steps) or 'none'}\n"
            f"replay: python scripts/fuzz.py --replay {path}\n\n{trace}", encoding="utf-8")
        self.stats.saved.append(path)
        self.log(f"crash {sig}: saved {path}")


def replay(paths: Sequence[str]) -> int:
    """Run saved inputs through the target (with the command line); 1 if any still crashes."""
    target = Target()
    failed = 0
    for name in paths:
        try:
            found = target(Path(name), cli=True)
        except Exception:
            traceback.print_exc()
            failed = 1
        else:
            print(f"{name}: ok ({'refused' if found < 0 else f'{found} connections'})")
    return failed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--iterations", type=int, default=None)
    parser.add_argument("--seed", type=int, default=None,
                        help="random seed (default: a new one, printed)")
    parser.add_argument("--crashes", type=Path, default=ROOT / "fuzz-crashes")
    parser.add_argument("--corpus", type=Path, action="append", default=[],
                        help="another folder of seed captures")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help="seconds one input may take before it counts as a hang")
    parser.add_argument("--replay", nargs="+", metavar="FILE")
    args = parser.parse_args(argv)
    if args.replay:
        return replay(args.replay)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 32)
    if args.seconds is None and args.iterations is None:
        args.seconds = 600.0
    print(f"FUZZ_SEED={seed} (iteration i of a seed is the same input everywhere)", flush=True)
    started = time.monotonic()
    stats = fuzz(seed=seed, iterations=args.iterations, seconds=args.seconds,
                 crashes=args.crashes, corpus=[p for p in args.corpus if p.is_dir()],
                 timeout=args.timeout)
    elapsed = time.monotonic() - started
    containers = ", ".join(f"{n} {s}" for s, n in sorted(stats.containers.items()))
    print(f"{stats.executions} inputs in {elapsed:.0f} s ({stats.executions / elapsed:.0f}/s): "
          f"{stats.refused} refused as not a capture, {stats.connections} connections "
          f"analysed and drawn; containers: {containers}")
    for sig, count in stats.crashes.most_common():
        print(f"CRASH {sig}: {count} inputs")
    if stats.saved:
        print(f"saved in {args.crashes}: " + " ".join(p.name for p in stats.saved))
    return 1 if stats.crashes else 0


if __name__ == "__main__":
    sys.exit(main())
