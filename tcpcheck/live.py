"""Live capture: dumpcap as a child process, its pcapng stream through the reader and pipeline
that files go through, and what dumpcap's exit says (errors here; its capture statistics, the
finished capture and a running one's counters are in ``tcpcheck.live_status``).

dumpcap, Wireshark's capture engine, writes pcapng to a pipe. ``Tee`` hands every byte read
from it to ``tcpcheck.sources.open_stream`` and, with ``--write``, to a file: the saved file is
byte for byte the stream that was analysed, so ``tcpcheck analyze FILE`` gives the same frame
numbers and findings.

dumpcap runs in its own session, so a terminal's Ctrl-C reaches tcpcheck only. tcpcheck then
stops dumpcap with SIGINT and reads on to the end of the stream: dumpcap's last packets are
analysed, the saved file is complete, and dumpcap prints its capture statistics, from which
``LiveResult`` takes the packets the capture lost.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import FrameType, TracebackType
from typing import BinaryIO

from tcpcheck.capture import CHUNK
from tcpcheck.decode import Decoder
from tcpcheck.engine import Analyzer, RuleSetup
from tcpcheck.host_profiles import HostProfiles
from tcpcheck.live_status import LiveResult, LiveStatus, parse_statistics
from tcpcheck.pipeline import analyze_records
from tcpcheck.profiles import Profile
from tcpcheck.result import Finding
from tcpcheck.sources import CaptureError, open_stream
from tcpcheck.timeline import Recording
from tcpcheck.writing import Replacement

INSTALL_HINT = ("live capture needs dumpcap, part of Wireshark: apt-get install tshark "
                "(Debian/Ubuntu), dnf install wireshark-cli, brew install wireshark")
PERMISSION_HINT = ("run as root, or give dumpcap the capabilities: "
                   "sudo setcap cap_net_raw,cap_net_admin+eip $(which dumpcap) "
                   "(Debian/Ubuntu: sudo dpkg-reconfigure wireshark-common, then add the user to "
                   "the wireshark group: sudo usermod -aG wireshark $USER)")

DEFAULT_IDLE_TIMEOUT = 600.0
"""Seconds of silence after which a live capture finalises and drops a connection."""
BUFFER_MIB = 64
"""dumpcap's kernel capture buffer (-B): about a second of 50,000 full-size frames/s, room for
a burst while the analysis catches up."""
PIPE_BYTES = 1 << 20
"""The pipe from dumpcap, enlarged from 64 KiB: Linux's limit for unprivileged users."""
INTERFACES_SHOWN = 8
"""Interfaces named in the error for an unknown one; ``tcpcheck interfaces`` lists them all."""

class LiveError(Exception):
    """The capture cannot start or run; the message is one user-facing line."""


@dataclass(frozen=True, slots=True)
class Interface:
    """An interface dumpcap can capture on."""

    name: str
    description: str
    """dumpcap's friendly name and the interface's addresses, when it has any."""


@dataclass(frozen=True, slots=True)
class CaptureRequest:
    """What to capture, and where to save it."""

    interfaces: tuple[str, ...]
    bpf: str | None = None
    """A capture filter in libpcap syntax, applied in the kernel."""
    duration: float | None = None
    """Seconds after which dumpcap stops."""
    count: int | None = None
    """Packets after which dumpcap stops (over all interfaces together)."""
    write: str | None = None
    """The pcapng file the captured stream is saved to, byte for byte."""
    buffer_mib: int = BUFFER_MIB

    @property
    def input_name(self) -> str:
        """The name findings and summaries carry: ``live:eth0`` (``live:eth0,eth1``)."""
        return "live:" + ",".join(self.interfaces)

    def argv(self, dumpcap: str) -> list[str]:
        """The dumpcap command: pcapng on stdout, no running count (-q), the stop conditions."""
        argv = [dumpcap, "-q", "-n", "-w", "-", "-B", str(self.buffer_mib)]
        for name in self.interfaces:
            argv += ["-i", name]
        if self.bpf:
            argv += ["-f", self.bpf]
        if self.duration is not None:
            argv += ["-a", f"duration:{self.duration:g}"]
        if self.count is not None:
            argv += ["-c", str(self.count)]
        return argv


# -- dumpcap ---------------------------------------------------------------------------------


def find_dumpcap() -> str:
    """The dumpcap executable on PATH; LiveError saying how to install it when there is none."""
    path = shutil.which("dumpcap")
    if path is None:
        raise LiveError(INSTALL_HINT)
    return path


def list_interfaces() -> list[Interface]:
    """The interfaces dumpcap can capture on (``dumpcap -D``), in its order."""
    dumpcap = find_dumpcap()
    try:
        proc = subprocess.run([dumpcap, "-D", "-M"], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=60)
    except PermissionError:
        raise LiveError(f"cannot run {dumpcap}: permission denied; {PERMISSION_HINT}") from None
    if proc.returncode != 0:
        raise LiveError(f"dumpcap cannot list interfaces: {_first_error(proc.stderr)}")
    interfaces = []
    # Machine-readable lines: "N. name<TAB>vendor<TAB>friendly name<TAB>type<TAB>addresses...".
    for line in proc.stdout.splitlines():
        index, _, rest = line.partition(". ")
        if not index.isdigit() or not rest:
            continue
        fields = rest.split("\t")
        name = fields[0]
        friendly = fields[2] if len(fields) > 2 else ""
        addresses = fields[4].replace(",", ", ") if len(fields) > 4 else ""
        interfaces.append(Interface(name, " · ".join(p for p in (friendly, addresses) if p)))
    return interfaces


def failure_message(stderr: str, request: CaptureRequest) -> str:
    """One line for a dumpcap that could not capture, from what it printed on stderr."""
    text = " ".join(line.strip() for line in stderr.splitlines() if line.strip())
    if m := re.search(r'There is no device named "(.*?)"', text):
        return f"no such interface {m[1]!r} ({_known_interfaces()})"
    if m := re.search(r'You do not have permission to capture on device "(.*?)"', text):
        return f"no permission to capture on {m[1]}: {PERMISSION_HINT}"
    if m := re.search(r"That string isn't a valid capture filter \((.*)\)\.", text):
        return f"invalid capture filter {request.bpf!r}: {m[1]}"
    if m := re.search(r'Device "(.*?)" is not up', text):
        return f"interface {m[1]} is down (bring it up: ip link set {m[1]} up)"
    return f"dumpcap failed: {_first_error(stderr)}"


def _first_error(stderr: str) -> str:
    """dumpcap's error line, with the explanation in brackets it puts on the next line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if line.startswith("dumpcap: "):
            detail = lines[i + 1] if i + 1 < len(lines) else ""
            extra = f" {detail}" if detail.startswith("(") else ""
            return line.removeprefix("dumpcap: ") + extra
    return lines[-1] if lines else "no message"


def _known_interfaces() -> str:
    try:
        names = [i.name for i in list_interfaces()]
    except LiveError:
        return "tcpcheck interfaces lists the ones there are"
    shown = ", ".join(names[:INTERFACES_SHOWN])
    more = ", ..." if len(names) > INTERFACES_SHOWN else ""
    return f"interfaces here: {shown}{more}; tcpcheck interfaces lists them"


class Dumpcap:
    """dumpcap capturing into a pipe, in a session of its own.

    ``stop`` ends the capture in order (SIGINT: dumpcap writes what it holds, its statistics,
    then closes the pipe); calling it again kills dumpcap.
    """

    def __init__(self, request: CaptureRequest) -> None:
        self.request = request
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 -- closed by close()
        self._stops = 0

    def start(self) -> BinaryIO:
        """Start dumpcap; return the pipe it writes pcapng to."""
        dumpcap = find_dumpcap()
        argv = self.request.argv(dumpcap)
        try:
            # Its own session: a terminal's Ctrl-C goes to tcpcheck, which stops dumpcap in
            # order instead of both racing to quit.
            self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.PIPE, stderr=self._stderr,
                                          bufsize=0, start_new_session=True)
        except PermissionError:
            raise LiveError(f"cannot run {dumpcap}: permission denied; "
                            f"{PERMISSION_HINT}") from None
        except OSError as exc:
            raise LiveError(f"cannot run {dumpcap}: {exc.strerror or exc}") from None
        stdout = self._proc.stdout
        assert stdout is not None
        # A bigger pipe absorbs bursts; the default size works too, so failing is fine.
        with contextlib.suppress(OSError):
            fcntl.fcntl(stdout.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        if self._stops:  # asked to stop while it was starting
            self._signal()
        return stdout

    def stop(self) -> None:
        """End the capture: SIGINT the first time, SIGKILL after that. Signal-handler safe."""
        self._stops += 1
        if self._proc is not None:
            self._signal()

    def finish(self, stream: Tee) -> tuple[int, str]:
        """After the analysis stopped reading ``stream``: if it stopped before the end (the
        stream was damaged), stop dumpcap and read what it still writes so that it can exit;
        then ``wait`` for it."""
        if stream.read1(CHUNK):
            if not self._stops:
                self.stop()
            while stream.read1(CHUNK):
                pass
        return self.wait()

    def _signal(self) -> None:
        assert self._proc is not None
        with contextlib.suppress(ProcessLookupError):
            self._proc.send_signal(signal.SIGINT if self._stops == 1 else signal.SIGKILL)

    @property
    def killed(self) -> bool:
        """Whether ``stop`` was called twice, so dumpcap was killed, not stopped in order."""
        return self._stops > 1

    def wait(self) -> tuple[int, str]:
        """Wait for dumpcap to exit; its exit status and everything it wrote on stderr."""
        assert self._proc is not None
        status = self._proc.wait()
        self._stderr.seek(0)
        return status, self._stderr.read().decode(errors="replace")

    def close(self) -> None:
        """Kill dumpcap if it still runs (an error on our side), and release the pipes."""
        proc = self._proc
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        self._stderr.close()


class Tee:
    """A reader that writes every byte it returns to ``sink`` too (when there is one).

    ``read1`` and ``read`` do one read of the pipe each: what is there, up to ``n`` bytes, as
    ``open_stream`` wants from a pipe. ``wait`` blocks until the stream has begun. When
    writing fails (a full disk), the analysis goes on: ``write_error`` says why the file ends
    early.
    """

    def __init__(self, source: BinaryIO, sink: BinaryIO | None) -> None:
        self._read = source.read
        self._write = None if sink is None else sink.write
        self._pending = b""
        self.write_error: str | None = None

    def wait(self) -> bool:
        """Block until the stream has bytes (True) or ends without any (False); what was read
        is still returned by the next ``read1``."""
        if not self._pending:
            self._pending = self._take(CHUNK)
        return bool(self._pending)

    def read1(self, n: int = -1) -> bytes:
        pending = self._pending
        if not pending:
            return self._take(n)
        if 0 <= n < len(pending):
            self._pending = pending[n:]
            return pending[:n]
        self._pending = b""
        return pending

    read = read1

    def _take(self, n: int) -> bytes:
        data = self._read(n)
        if data and self._write is not None:
            try:
                self._write(data)
            except OSError as exc:
                self.write_error = exc.strerror or str(exc)
                self._write = None
        return data


# -- the pipeline ----------------------------------------------------------------------------


FindingCallback = Callable[[Finding, tuple[str, str] | None], None]
"""Receives each finding as it happens, with its connection's ``(client, server)``."""


class LiveSession:
    """One live analysis: dumpcap → tee → reader → decoder → analyzer, until the capture ends.

    Use as a context manager, ``start`` then ``run``. Inside it, SIGINT and SIGTERM stop the
    capture in order (a second one kills dumpcap); on exit dumpcap is gone, the signal handlers
    are back, the saved file is closed. ``on_finding`` (which may be set until ``run``) gets
    each finding as it happens, with its connection's endpoints. With a ``recording`` the
    analyzer keeps the timelines it chooses (for the HTML report).
    """

    def __init__(self, request: CaptureRequest, profile: Profile | HostProfiles,
                 setup: RuleSetup | None = None,
                 *, idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
                 on_finding: FindingCallback | None = None,
                 recording: Recording | None = None) -> None:
        self.request = request
        self.on_finding = on_finding
        self.decoder = Decoder(verify_checksums=setup is None or setup.verify_checksums)
        self.analyzer = Analyzer(profile, input_name=request.input_name, setup=setup,
                                 on_finding=self._found, idle_timeout=idle_timeout,
                                 recording=recording, twins=False)
        self._dumpcap = Dumpcap(request)
        self._sink: Replacement | None = None
        self._stream: Tee | None = None
        self._started = 0.0
        self._handlers: dict[int, object] = {}

    def __enter__(self) -> LiveSession:
        # Python delivers signals to the main thread only; elsewhere the caller stops us.
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._handlers[signum] = signal.signal(signum, self._signalled)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for signum, handler in self._handlers.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        self._dumpcap.close()
        if self._sink is not None:
            with contextlib.suppress(OSError):  # the write error is reported by LiveResult
                self._sink.close()

    def start(self) -> None:
        """Start dumpcap and wait until it captures (the start of its pcapng stream is in).

        Raises LiveError when dumpcap is missing or cannot capture: no permission, no such
        interface, an invalid filter; the ``--write`` path is left as it was then. The capture
        is saved beside it until ``run`` has read the start of the stream.
        """
        path = self.request.write
        if path is not None:
            try:
                self._sink = Replacement(path, binary=True)
            except OSError as exc:
                raise LiveError(f"cannot write {path}: {exc.strerror or exc}") from None
        try:
            self._stream = Tee(self._dumpcap.start(),
                               None if self._sink is None else self._sink.file)
            # dumpcap writes its section and interface headers once every interface captures
            # with its filter set, and nothing at all when it cannot.
            if not self._stream.wait():
                status, stderr = self._dumpcap.wait()
                raise LiveError(failure_message(stderr, self.request) if status else
                                "dumpcap ended without capturing anything")
        except LiveError:
            self._discard_write()
            raise
        self._started = time.monotonic()

    def run(self) -> LiveResult:
        """Analyse until the capture ends: --duration, --count, ``stop`` (Ctrl-C, SIGTERM) or
        dumpcap exiting. Connections still open are finalised as open.

        Raises CaptureError when the stream cannot be analysed at all (an interface of a link
        type tcpcheck does not decode).
        """
        if self._stream is None:
            raise RuntimeError("LiveSession.run() before start()")
        try:
            capture = open_stream(self._stream, self.request.input_name)
        except CaptureError:
            self._discard_write()
            raise
        self._keep_write()
        summary = analyze_records(capture, self.analyzer, self.decoder)
        status, stderr = self._dumpcap.finish(self._stream)
        stats = tuple(parse_statistics(stderr))
        if status != 0 and summary.damage is None and not self._dumpcap.killed:
            # dumpcap gave up mid-capture (the interface went away...): analysed up to there.
            summary = replace(summary, damage=f"dumpcap stopped: {_first_error(stderr)}")
        live = LiveResult(summary, self.analyzer, stats, time.monotonic() - self._started,
                          self._stream.write_error)
        if live.lost:
            live = replace(live, summary=replace(
                summary, skipped={**summary.skipped, "dropped": live.lost}))
        return live

    def stop(self) -> None:
        """End the capture in order (a second call kills dumpcap)."""
        self._dumpcap.stop()

    def status(self) -> LiveStatus:
        """Current counters; safe to call from another thread while ``run`` runs."""
        counters = self.decoder.counters
        return LiveStatus(elapsed=time.monotonic() - self._started if self._started else 0.0,
                          packets=counters.packets, tcp_packets=counters.tcp)

    def state_counts(self) -> dict[str, int]:
        """Tracked connections by state (TIME_WAIT and CLOSED ones too, until they expire);
        safe to call from another thread while ``run`` runs."""
        return self.analyzer.tracker.state_counts()

    # ------------------------------------------------------------------ internals

    def _found(self, finding: Finding) -> None:
        if self.on_finding is not None:
            self.on_finding(finding, self.analyzer.endpoints(finding.connection))

    def _signalled(self, signum: int, frame: FrameType | None) -> None:
        self.stop()

    def _discard_write(self) -> None:
        """Forget the --write file of a capture that could not be analysed: the path keeps
        what it had."""
        if self._sink is not None:
            with contextlib.suppress(OSError):
                self._sink.close()
            self._sink = None

    def _keep_write(self) -> None:
        """The capture runs and its stream can be analysed: the --write file replaces what
        was at its path, and grows there until the capture ends."""
        if self._sink is None:
            return
        try:
            self._sink.commit()
        except OSError as exc:
            raise LiveError(f"cannot write {self.request.write}: "
                            f"{exc.strerror or exc}") from None
