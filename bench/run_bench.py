"""Time tcpcheck beside tshark and tcptrace on the benchmark capture (``make bench``).

Runs each tool as a child process on the same file and reports wall time, packets per
second and the child's peak resident set size (ru_maxrss from wait4(2), the figure
``/usr/bin/time -v`` prints as "Maximum resident set size"):

1. ``tcpcheck analyze FILE --format json --jobs 1``             the full analysis, one process
   ``tcpcheck analyze FILE --format json --jobs N``             the same split among N
                                                               processes (N: the cores here)
2. ``python bench/bare_loop.py FILE``                            read the records and unpack
                                                               each header: the floor
3. ``python bench/bare_loop.py --dpkt FILE``                     the same with dpkt's reader
4. ``tshark -r FILE -n -Y tcp.analysis.flags -T fields -e frame.number``
                                                               Wireshark's TCP analysis
5. ``tshark -r FILE -q -z conv,tcp``                            conversation table only
6. ``tcptrace -n -l FILE``                                      tcptrace's per-connection
                                                               statistics (no TCP checks)

The rows are the ``ROWS`` table, the ratio lines under them the ``RATIOS`` table.

Output goes to /dev/null, so printing costs little. Nothing here asserts on time: the
numbers are for reading (bench/README.md explains them).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_capture

ROOT = Path(__file__).resolve().parent.parent
TCPCHECK = ROOT / ".venv" / "bin" / "tcpcheck"
# tcpcheck exits 1 when it reports error findings; that is a result, not a failure.
OK_EXIT = {"tcpcheck": {0, 1}}
CORES = os.cpu_count() or 1


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float


@dataclass
class Result:
    tool: str
    runs: list[Run]
    error: str = ""

    @property
    def seconds(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def peak_rss_mb(self) -> float:
        return max(r.peak_rss_mb for r in self.runs)


def measure(argv: list[str], ok_exit: set[int]) -> Run:
    """Run ``argv`` once with stdout to /dev/null; wall time and the child's peak RSS.

    os.wait4 returns the resource usage of exactly this child, so the figure is not mixed
    with this process or with earlier runs (as RUSAGE_CHILDREN would be).
    """
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped by wait4
        if proc.returncode not in ok_exit:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(f"exit {proc.returncode}: " + " | ".join(tail))
    return Run(seconds, usage.ru_maxrss / 1024)  # Linux reports ru_maxrss in KiB


def bench(tool: str, argv: list[str], runs: int) -> Result:
    result = Result(tool, [])
    for _ in range(runs):
        try:
            result.runs.append(measure(argv, OK_EXIT.get(tool.split()[0], {0})))
        except (OSError, RuntimeError) as exc:
            result.error = str(exc)
            break
    return result


@dataclass(frozen=True)
class Row:
    """One row of the table: a tool, its command for a capture, and whether it is one of
    the external tools ``--skip-tshark`` leaves out."""

    tool: str
    argv: Callable[[str], list[str]]
    external: bool = False


def _tshark() -> str:
    return shutil.which("tshark") or "tshark"


BARE_LOOP = [sys.executable, str(Path(__file__).resolve().parent / "bare_loop.py")]
ROWS = (
    Row("tcpcheck", lambda f: [str(TCPCHECK), "analyze", f, "--format", "json", "--jobs", "1"]),
    # One process per core, when there are several (the ratio line under the table).
    *([Row(f"tcpcheck --jobs {CORES}", lambda f: [str(TCPCHECK), "analyze", f, "--format",
                                                   "json", "--jobs", str(CORES)])]
      if CORES > 1 else []),
    Row("bare loop", lambda f: [*BARE_LOOP, f]),
    Row("dpkt + struct", lambda f: [*BARE_LOOP, "--dpkt", f]),
    Row("tshark analysis", lambda f: [_tshark(), "-r", f, "-n", "-Y", "tcp.analysis.flags",
                                      "-T", "fields", "-e", "frame.number"], external=True),
    Row("tshark conv,tcp", lambda f: [_tshark(), "-r", f, "-q", "-z", "conv,tcp"],
        external=True),
    Row("tcptrace -l", lambda f: [shutil.which("tcptrace") or "tcptrace", "-n", "-l", f],
        external=True),
)
RATIOS = (("bare loop", "0.5"), ("tshark analysis", "6"), ("tcptrace -l", ""))
"""tcpcheck's packets/s divided by these rows', with issue 16's target where it set one."""


def commands(path: Path, skip_tshark: bool) -> list[tuple[str, list[str]]]:
    return [(row.tool, row.argv(str(path))) for row in ROWS
            if not (skip_tshark and row.external)]


def report(results: list[Result], packets: int) -> None:
    print(f"{'tool':<18} {'seconds':>9} {'packets/s':>11} {'peak RSS MB':>12}")
    for r in results:
        if not r.runs:
            print(f"{r.tool:<18} failed: {r.error}")
            continue
        print(f"{r.tool:<18} {r.seconds:>9.2f} {packets / r.seconds:>11,.0f} "
              f"{r.peak_rss_mb:>12.0f}" + (f"   (then failed: {r.error})" if r.error else ""))
    by_tool = {r.tool: r for r in results if r.runs}
    for row in ROWS[1:]:
        if row.tool.startswith("tcpcheck --jobs") and {"tcpcheck", row.tool} <= set(by_tool):
            print(f"{row.tool} packets/s / tcpcheck --jobs 1 packets/s = "
                  f"{by_tool['tcpcheck'].seconds / by_tool[row.tool].seconds:.2f}")
    for other, target in RATIOS:
        if "tcpcheck" in by_tool and other in by_tool:
            ratio = by_tool[other].seconds / by_tool["tcpcheck"].seconds
            print(f"tcpcheck packets/s / {other} packets/s = {ratio:.2f}"
                  + (f"   (target >= {target})" if target else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=make_capture.DEFAULT_OUT,
                        help="capture to benchmark (default: the generated bench.pcap)")
    parser.add_argument("--runs", type=int, default=1, help="runs per tool; the median counts")
    parser.add_argument("--skip-tshark", action="store_true",
                        help="leave out tshark and tcptrace (tcpcheck and the Python loops only)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.file == make_capture.DEFAULT_OUT:
        packets = make_capture.ensure(args.file)
    elif args.file.exists():
        packets = make_capture.count_records(args.file)
        print(f"{args.file}: {packets:,} packets, {args.file.stat().st_size / 1e6:.0f} MB")
    else:
        parser.error(f"{args.file} does not exist")
    print(f"{args.runs} run(s) per tool; seconds is the median, peak RSS the largest")
    if not TCPCHECK.exists():
        print(f"note: {TCPCHECK} is missing (run `make venv`); its row will show the error")
    results = [bench(tool, cmd, args.runs) for tool, cmd in commands(args.file,
                                                                     args.skip_tshark)]
    report(results, packets)
    return 0 if all(r.runs and not r.error for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
