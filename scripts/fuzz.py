"""Fuzz tcpcheck from capture bytes to every report: a seeded mutation loop.

Seeds are the bundled captures (``captures/``, ``tests/regressions/``, and any ``--corpus``
folder), read once into records. Each iteration takes one seed and mutates it at three levels:

- records: drop, duplicate, swap, splice in records of another seed, shift timestamps;
- header fields of real frames: any TCP or IP header field (seq, ack, flags, window, data
  offset, option kinds and lengths, total length, IHL, protocol, fragment bits), with the TCP
  checksum recomputed most of the time so SYN, FIN and RST segments are not simply dropped;
- the written container (pcap in either byte order and time unit, pcapng, either one
  gzip-compressed): odd header fields (snaplen, link type, ``if_tsresol``, ``if_tsoffset``),
  then bit flips, interesting values, inserts, deletes, truncation, splices of its bytes.

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
import gzip
import hashlib
import io
import json
import random
import signal
import struct
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from click.testing import CliRunner
from rich.console import Console

from tcpcheck.catalog import load_catalog
from tcpcheck.cli import main as cli_main
from tcpcheck.engine import Job, analyze_jobs
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
from tcpcheck.sources import CaptureError, open_capture
from tcpcheck.timeline import Recording

ROOT = Path(__file__).resolve().parent.parent
SEED_FOLDERS = (ROOT / "captures", ROOT / "tests" / "regressions")
MAX_SEED_RECORDS = 80
"""A longer seed is cut to its first and last records: the handshake and the close, where
most of the state machine is, and a short input keeps each iteration a few milliseconds."""
CLI_EVERY = 8
"""One iteration in this many also runs through the real command line."""
DEFAULT_TIMEOUT = 20.0
MAX_LADDERS = 4
"""Connections drawn as ``show`` would, per input."""
_INTERESTING = (0, 1, 0x7F, 0x80, 0xFE, 0xFF)
_INTERESTING_32 = (0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF)


class Rec(NamedTuple):
    ts_ns: int
    linktype: int
    data: bytes


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


# ------------------------------------------------------------------ seeds


def load_seeds(folders: Iterable[Path]) -> list[list[Rec]]:
    """Every readable capture under ``folders``, as records (long ones cut, see above)."""
    seeds = []
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.suffix not in (".pcap", ".pcapng", ".cap", ".gz"):
                continue
            try:
                with open_capture(str(path)) as capture:
                    records = [Rec(ts, lt, data) for _, ts, lt, data in capture.records()]
            except CaptureError:
                continue
            if len(records) > MAX_SEED_RECORDS:
                half = MAX_SEED_RECORDS // 2
                records = records[:half] + records[-half:]
            if records:
                seeds.append(records)
    return seeds


# ------------------------------------------------------------------ record and field mutations


def _tcp_offset(data: bytes, linktype: int) -> tuple[int, int] | None:
    """(IP header offset, TCP header offset) of an Ethernet/IPv4 or IPv6 TCP frame."""
    if linktype != 1 or len(data) < 14:
        return None
    ip = 14
    ethertype = struct.unpack_from("!H", data, 12)[0]
    if ethertype == 0x0800 and len(data) >= ip + 20 and data[ip + 9] == 6:
        tcp = ip + (data[ip] & 0x0F) * 4
    elif ethertype == 0x86DD and len(data) >= ip + 40 and data[ip + 6] == 6:
        tcp = ip + 40
    else:
        return None
    return (ip, tcp) if len(data) >= tcp + 20 else None


def _fix_checksum(frame: bytearray, ip: int, tcp: int) -> None:
    """Recompute the TCP checksum of the frame (IPv4 or IPv6 pseudo-header)."""
    if frame[ip] >> 4 == 4:
        length = struct.unpack_from("!H", frame, ip + 2)[0] - (tcp - ip)
        addresses = bytes(frame[ip + 12:ip + 20])
    else:
        length = struct.unpack_from("!H", frame, ip + 4)[0]
        addresses = bytes(frame[ip + 8:ip + 40])
    if length < 20 or tcp + length > len(frame):
        return
    frame[tcp + 16:tcp + 18] = b"\0\0"
    words = addresses + struct.pack("!HH", 6, length) + bytes(frame[tcp:tcp + length])
    words += b"\0" * (len(words) % 2)
    total = sum(struct.unpack(f"!{len(words) // 2}H", words))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    struct.pack_into("!H", frame, tcp + 16, ~total & 0xFFFF)


# (offset from the TCP header, struct format) of the TCP header's fields
_TCP_FIELDS = ((4, "!I"), (8, "!I"), (12, "!B"), (13, "!B"), (14, "!H"), (18, "!H"))
# ... and of the IPv4 header's: total length, flags/fragment offset, TTL, protocol, IHL/version
_IP4_FIELDS = ((2, "!H"), (6, "!H"), (9, "!B"), (0, "!B"))


def _field_value(rng: random.Random, fmt: str, old: int) -> int:
    bits = struct.calcsize(fmt) * 8
    choice = rng.random()
    if choice < 0.3:
        return rng.choice(_INTERESTING_32) & ((1 << bits) - 1)
    if choice < 0.6:
        return (old + rng.choice((-1, 1)) * rng.randint(1, 1 << min(bits - 1, 16))) % (1 << bits)
    return rng.getrandbits(bits)


def mutate_field(rng: random.Random, records: list[Rec]) -> str:
    """Change one header field (or option byte) of one TCP frame."""
    candidates = [i for i, r in enumerate(records) if _tcp_offset(r.data, r.linktype)]
    if not candidates:
        return "field: no TCP frame"
    index = rng.choice(candidates)
    rec = records[index]
    ip, tcp = _tcp_offset(rec.data, rec.linktype)  # type: ignore[misc]
    frame = bytearray(rec.data)
    options_end = min(len(frame), tcp + (frame[tcp + 12] >> 4) * 4)
    where = rng.random()
    if where < 0.3 and options_end > tcp + 20:
        # An option byte: kinds and lengths are where parsers go wrong.
        pos = rng.randrange(tcp + 20, options_end)
        frame[pos] = rng.choice((*_INTERESTING, 2, 3, 4, 5, 8, 10, 40, rng.getrandbits(8)))
        what = f"option byte {pos - tcp}"
    elif where < 0.8 or frame[ip] >> 4 != 4:
        offset, fmt = rng.choice(_TCP_FIELDS)
        old = struct.unpack_from(fmt, frame, tcp + offset)[0]
        struct.pack_into(fmt, frame, tcp + offset, _field_value(rng, fmt, old))
        what = f"tcp+{offset}"
    else:
        offset, fmt = rng.choice(_IP4_FIELDS)
        old = struct.unpack_from(fmt, frame, ip + offset)[0]
        struct.pack_into(fmt, frame, ip + offset, _field_value(rng, fmt, old))
        what = f"ip+{offset}"
    if rng.random() < 0.8:
        _fix_checksum(frame, ip, tcp)
    records[index] = rec._replace(data=bytes(frame))
    return f"field: frame {index + 1} {what}"


def mutate_records(rng: random.Random, records: list[Rec], seeds: Sequence[list[Rec]]) -> str:
    """Drop, duplicate, swap or splice whole records, or move one in time."""
    op = rng.randrange(5)
    i = rng.randrange(len(records))
    if op == 0 and len(records) > 1:
        del records[i]
        return f"records: drop {i + 1}"
    if op == 1:
        records.insert(rng.randrange(len(records) + 1), records[i])
        return f"records: duplicate {i + 1}"
    if op == 2:
        j = rng.randrange(len(records))
        records[i], records[j] = records[j], records[i]
        return f"records: swap {i + 1} {j + 1}"
    if op == 3:
        other = rng.choice(seeds)
        start = rng.randrange(len(other))
        part = other[start:start + rng.randint(1, 8)]
        records[i:i] = part
        return f"records: splice {len(part)} at {i + 1}"
    step = rng.choice((-1, 1)) * rng.choice((1, 1000, 10**9, 10**12, 1 << 62))
    records[i] = records[i]._replace(ts_ns=max(0, records[i].ts_ns + step))
    return f"records: move {i + 1} by {step} ns"


# ------------------------------------------------------------------ containers


def write_pcap(records: Sequence[Rec], *, nano: bool, big_endian: bool,
               snaplen: int = 262144, linktype: int | None = None) -> bytes:
    """Classic pcap; ``linktype`` overrides the records' in the file header."""
    order = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    network = records[0].linktype if linktype is None else linktype
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, network)]
    for rec in records:
        sec, frac = divmod(rec.ts_ns, 10**9)
        frac = frac if nano else frac // 1000
        out.append(struct.pack(order + "IIII", sec & 0xFFFFFFFF, frac, len(rec.data),
                               len(rec.data)) + rec.data)
    return b"".join(out)


def _block(btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    length = len(body) + 12
    return struct.pack("<II", btype, length) + body + struct.pack("<I", length)


def write_pcapng(records: Sequence[Rec], *, tsresol: int = 9, tsoffset: int | None = None,
                 snaplen: int = 0) -> bytes:
    """Section header, one interface per link type, then EPBs; timestamps are written in
    nanoseconds whatever ``tsresol`` (``if_tsresol``) and ``tsoffset`` (``if_tsoffset``) say."""
    out = [_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))]
    options = struct.pack("<HHB3x", 9, 1, tsresol)
    if tsoffset is not None:
        options += struct.pack("<HHq", 14, 8, tsoffset)
    options += struct.pack("<HH", 0, 0)
    interfaces: dict[int, int] = {}
    for rec in records:
        if rec.linktype not in interfaces:
            interfaces[rec.linktype] = len(interfaces)
            out.append(_block(1, struct.pack("<HHI", rec.linktype & 0xFFFF, 0, snaplen)
                              + options))
        ts = rec.ts_ns & 0xFFFFFFFFFFFFFFFF
        out.append(_block(6, struct.pack("<IIIII", interfaces[rec.linktype], ts >> 32,
                                         ts & 0xFFFFFFFF, len(rec.data), len(rec.data))
                          + rec.data))
    return b"".join(out)


def serialize(rng: random.Random, records: Sequence[Rec]) -> tuple[bytes, str]:
    """The records in a container chosen at random, its header fields sometimes odd (snaplen,
    link type, timestamp resolution and offset); (bytes, file suffix)."""
    single = len({r.linktype for r in records}) == 1
    odd = rng.random() < 0.25
    if single and rng.random() < 0.6:
        snaplen = rng.choice((0, 1, 68, 65535, 0xFFFFFFFF, rng.getrandbits(32)))
        linktype = rng.choice((0, 101, 113, 276, 0x03FFFFFF, rng.getrandbits(32)))
        data = write_pcap(records, nano=rng.random() < 0.3, big_endian=rng.random() < 0.2,
                          snaplen=snaplen if odd else 262144,
                          linktype=linktype if odd and rng.random() < 0.3 else None)
        suffix = ".pcap"
    else:
        tsresol = rng.choice((0, 1, 3, 6, 10, 19, 0x80, 0x8A, 0xBF, 0xFF, rng.getrandbits(8)))
        tsoffset = rng.choice((1, -1, 1 << 40, (1 << 63) - 1, -(1 << 63),
                               rng.getrandbits(64) - (1 << 63)))
        data = write_pcapng(records, tsresol=tsresol if odd else 9,
                            tsoffset=tsoffset if odd and rng.random() < 0.5 else None,
                            snaplen=rng.choice((0, 1, 68, 0xFFFFFFFF)) if odd else 0)
        suffix = ".pcapng"
    if rng.random() < 0.15:
        data, suffix = gzip.compress(data, mtime=0), suffix + ".gz"
    return data, suffix


# ------------------------------------------------------------------ byte mutations


def mutate_bytes(rng: random.Random, data: bytes, seeds_bytes: Sequence[bytes]) -> tuple[bytes,
                                                                                          str]:
    """One byte-level change anywhere in the written file."""
    if not data:
        return data, "bytes: empty"
    buf = bytearray(data)
    op = rng.randrange(7)
    pos = rng.randrange(len(buf))
    if op == 0:
        for _ in range(rng.randint(1, 8)):
            p = rng.randrange(len(buf))
            buf[p] ^= 1 << rng.randrange(8)
        return bytes(buf), "bytes: bit flips"
    if op == 1:
        buf[pos] = rng.choice(_INTERESTING)
        return bytes(buf), f"bytes: set {pos}"
    if op == 2:
        buf[pos:pos] = rng.randbytes(rng.choice((1, 2, 4, 16, 100)))
        return bytes(buf), f"bytes: insert at {pos}"
    if op == 3:
        del buf[pos:pos + rng.choice((1, 2, 4, 16, 100))]
        return bytes(buf), f"bytes: delete at {pos}"
    if op == 4:
        return bytes(buf[:pos]), f"bytes: truncate at {pos}"
    if op == 5:
        length = rng.randint(1, 64)
        buf[pos:pos] = buf[pos:pos + length]
        return bytes(buf), f"bytes: repeat {length} at {pos}"
    other = rng.choice(seeds_bytes)
    start = rng.randrange(len(other))
    buf[pos:pos + rng.randint(0, 64)] = other[start:start + rng.randint(1, 256)]
    return bytes(buf), f"bytes: splice at {pos}"


def make_mutant(seed: int, iteration: int, seeds: Sequence[list[Rec]],
                seeds_bytes: Sequence[bytes]) -> tuple[bytes, str, list[str]]:
    """Iteration ``iteration``'s input: (bytes, file suffix, the mutations applied)."""
    rng = random.Random(f"{seed}:{iteration}")
    records = list(rng.choice(seeds))
    steps = []
    for _ in range(rng.randint(0, 3)):
        steps.append(mutate_field(rng, records))
    if rng.random() < 0.4:
        steps.append(mutate_records(rng, records, seeds))
    data, suffix = serialize(rng, records)
    if rng.random() < 0.5:
        for _ in range(rng.randint(1, 3)):
            data, step = mutate_bytes(rng, data, seeds_bytes)
            steps.append(step)
    return data, suffix, steps


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
            for args in (["analyze", str(path), "--html-all", *formats],
                         ["show", str(path), "--frame", "3"]):
                run = self.runner.invoke(cli_main, args)
                if run.exception is not None and not isinstance(run.exception, SystemExit):
                    raise run.exception.with_traceback(run.exc_info[2])
                if run.exit_code not in (0, 1, 2):
                    raise AssertionError(f"{args[0]} exited {run.exit_code}")
                if run.exit_code == 2:
                    lines = run.stderr.splitlines()
                    if len(lines) != 1 or not lines[0].startswith("tcpcheck: error: "):
                        raise AssertionError(f"{args[0]}: a refusal is not one line: "
                                             f"{run.stderr!r}")


def _alarm(signum: int, frame: object) -> None:
    raise Hang("the input ran longer than the time limit")


def signature(exc: BaseException) -> str:
    """Exception type and the innermost line of tcpcheck's own code it came from."""
    where = "?"
    for entry in traceback.extract_tb(exc.__traceback__):
        if "/tcpcheck/" in entry.filename or entry.filename.endswith("fuzz.py"):
            where = f"{Path(entry.filename).name}:{entry.lineno}"
    return f"{type(exc).__name__}@{where}"


# ------------------------------------------------------------------ the loop


def fuzz(*, seed: int, iterations: int | None = None, seconds: float | None = None,
         crashes: Path, corpus: Sequence[Path] = (), timeout: float = DEFAULT_TIMEOUT,
         target: Callable[..., int] | None = None, log: Callable[[str], None] = print) -> Stats:
    """Run the loop for ``iterations`` or ``seconds`` (Ctrl-C ends it early); save every new
    crash under ``crashes``."""
    seeds = load_seeds([*SEED_FOLDERS, *corpus])
    seeds_bytes = [write_pcap(s, nano=False, big_endian=False) for s in seeds
                   if len({r.linktype for r in s}) == 1]
    run = _Run(seed, seeds, seeds_bytes, target or Target(), timeout, crashes, log)
    deadline = None if seconds is None else time.monotonic() + seconds
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        with tempfile.TemporaryDirectory(prefix="tcpcheck-fuzz-") as work:
            i = 0
            while (iterations is None or i < iterations) and (
                    deadline is None or time.monotonic() < deadline):
                run.one(i, Path(work))
                i += 1
    except KeyboardInterrupt:
        log("interrupted: the summary covers the inputs run so far")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
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
