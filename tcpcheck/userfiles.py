"""Reading the files a user hands tcpcheck (configuration, profile, baseline) without trusting them.

A CI gate reads these files on every run, often from a pull request; whatever they hold, the
run must end with one line naming the file (and the key) and exit 2, never a traceback, a hang
or memory without bound. So every user file goes through here:

- it is opened without blocking and must be a regular file (a FIFO with no writer would wait
  forever, /dev/zero would never end);
- it is read up to a size limit, must be UTF-8 and hold no NUL byte;
- the TOML or JSON parser's recursion on deep nesting is caught, and the parsed tree is walked
  (without recursion) for depth, string length and NUL, and numbers a key could ever use;
- each loader then checks its keys against a table of ``Field`` values (type, range, unit),
  so that each message says which key, what it must be, and what it was.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple

KIB = 1024
MIB = 1024 * KIB

TEXT_LIMIT = 1 * MIB
"""Largest configuration or profile file: hand-written TOML is a few KiB."""
BASELINE_LIMIT = 16 * MIB
"""Largest baseline file: about 70,000 accepted findings at ~230 bytes a line. Parsed JSON
takes up to ~25 times its size (16 MiB of ``[{},{},...]`` peaks at 430 MB), so the limit is
also the memory bound."""
MAX_DEPTH = 32
"""Deepest nesting of tables and arrays a user file may have; tcpcheck's own deepest key
(``tool.tcpcheck.per-path."x".rules.RULE.param``) is 6 levels."""
MAX_STRING = 4096
"""Longest string (PATH_MAX on Linux); a profile's ``source`` prose is about 1,200."""
MAX_JSON_DIGITS = 20
"""Longest integer a JSON user file may write: more than any 64-bit field needs, far below
the 4,300 digits at which Python refuses to convert."""
INT64 = (-(2**63), 2**63 - 1)
"""TOML integers are 64-bit (TOML 1.0: "If an integer cannot be represented losslessly, an
error must be thrown"); tomllib itself takes any size."""


Key = str | int
"""A table key, or a list index: one step of a key path."""


class UserFileError(ValueError):
    """A user file that cannot be used; the message is one line starting with the file."""


# -- reading ---------------------------------------------------------------------------------

_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def read_text(path: str | os.PathLike[str], *, limit: int, what: str) -> str:
    """The UTF-8 text of the regular file ``path``, at most ``limit`` bytes.

    ``what`` names the kind of file for the size message ("configuration file"). Raises
    UserFileError for anything else, before reading from a FIFO or device.
    """
    name = os.fspath(path)
    try:
        # O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer, forever.
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        # Worded as for a capture: "cannot read: No such file or directory" reads as a
        # permission problem at a glance.
        raise UserFileError(f"{name}: no such file") from None
    except OSError as exc:
        raise UserFileError(f"{name}: cannot read: {exc.strerror or exc}") from None
    try:
        # fstat of the opened fd, not stat of the name: the file cannot be swapped in between.
        info = os.fstat(fd)
        mode = info.st_mode
        if stat.S_ISDIR(mode):
            raise UserFileError(f"{name}: is a folder, not a {what}")
        if not stat.S_ISREG(mode):
            kind = next((k for test, k in _KINDS if test(mode)), "a special file")
            raise UserFileError(f"{name}: is not a regular file ({kind})")
        if info.st_size > limit:
            raise _too_large(name, limit, what)
        data = _read_at_most(fd, name, limit, what)
    finally:
        os.close(fd)
    return _decode_text(name, data)


def _read_at_most(fd: int, name: str, limit: int, what: str) -> bytes:
    # Read one byte past the limit rather than trust st_size: the file may grow meanwhile.
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        try:
            chunk = os.read(fd, min(MIB, limit + 1 - size))
        except OSError as exc:
            raise UserFileError(f"{name}: cannot read: {exc.strerror or exc}") from None
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise _too_large(name, limit, what)
    return b"".join(chunks)


def _too_large(name: str, limit: int, what: str) -> UserFileError:
    return UserFileError(f"{name}: is larger than {_format_size(limit)}, the limit for a {what}")


def _decode_text(name: str, data: bytes) -> str:
    """``data`` as UTF-8 text without NUL bytes, else UserFileError saying where."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserFileError(f"{name}: is not UTF-8 text (byte 0x{data[exc.start]:02x} at "
                            f"offset {exc.start})") from None
    nul = data.find(b"\0")
    if nul != -1:
        raise UserFileError(f"{name}: is not a text file (NUL byte at offset {nul})")
    return text


def _format_size(size: int) -> str:
    """``1 MiB``, ``64 MiB``, ``512 KiB``."""
    return f"{size // MIB} MiB" if size % MIB == 0 else f"{size // KIB} KiB"


# -- parsing ---------------------------------------------------------------------------------


def parse_toml(name: str, text: str) -> dict[str, Any]:
    """``text`` as TOML, checked by ``check_tree``."""
    data = toml_document(name, text)
    check_tree(name, data)
    return data


def toml_document(name: str, text: str) -> dict[str, Any]:
    """``text`` as TOML, not yet walked by ``check_tree``: for a file of which tcpcheck reads
    one table (pyproject.toml), the rest being another tool's business."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends in "(at line L, column C)".
        raise UserFileError(f"{name}: invalid TOML: {exc}") from None
    except RecursionError:
        raise UserFileError(_too_deep(name, ())) from None
    except ValueError:
        # Python's int() refuses more than 4,300 digits, and tomllib lets that through.
        raise UserFileError(f"{name}: invalid TOML: an integer with thousands of digits "
                            "(TOML integers are 64-bit)") from None


class _HugeInteger(NamedTuple):
    """A JSON integer too long to convert, kept so the tree walk can say which key has it."""

    digits: int


def _json_int(text: str) -> int | _HugeInteger:
    digits = len(text.lstrip("-"))
    return _HugeInteger(digits) if digits > MAX_JSON_DIGITS else int(text)


def parse_json(name: str, text: str) -> Any:
    """``text`` as JSON, checked by ``check_tree``; NaN and Infinity are refused (they are
    not JSON, though Python writes and reads them)."""
    try:
        data = json.loads(text, parse_int=_json_int, parse_constant=_not_json)
    except json.JSONDecodeError as exc:
        raise UserFileError(f"{name}: invalid JSON: {exc}") from None
    except RecursionError:
        raise UserFileError(_too_deep(name, ())) from None
    except _NotJSON as exc:
        raise UserFileError(f"{name}: invalid JSON: {exc.args[0]} is not a JSON number") \
            from None
    check_tree(name, data)
    return data


class _NotJSON(Exception):
    """Raised from inside the JSON parser on NaN, Infinity and -Infinity."""


def _not_json(constant: str) -> float:
    raise _NotJSON(constant)


def check_tree(name: str, data: Any, where: tuple[Key, ...] = ()) -> None:
    """Refuse nesting deeper than ``MAX_DEPTH``, strings (keys included) longer than
    ``MAX_STRING`` or holding NUL, and integers beyond 64 bits.

    ``where`` is the key path of ``data`` in its file, for the messages. Walks with a stack of
    at most ``MAX_DEPTH`` iterators, one per open container: a recursive walk would fail where
    the parser did not, and a stack of every value would take more memory than the tree.
    """
    _check_value(name, data, where, None)
    if not isinstance(data, (dict, list)):
        return
    stack = [(where, _children(name, data, where))]
    while stack:
        where, children = stack[-1]
        for key, value in children:  # resumes where it left off when a container ends
            if isinstance(value, (dict, list)):
                inner = (*where, key)
                if len(inner) >= MAX_DEPTH:
                    raise UserFileError(_too_deep(name, inner))
                stack.append((inner, _children(name, value, inner)))
                break
            _check_value(name, value, where, key)
        else:
            stack.pop()


def _children(name: str, container: dict[str, Any] | list[Any],
              where: tuple[Key, ...]) -> Iterator[tuple[Key, Any]]:
    if isinstance(container, list):
        yield from enumerate(container)
        return
    for key, value in container.items():
        _check_string(name, key, where, None, "key")
        yield key, value


def _check_value(name: str, value: Any, where: tuple[Key, ...], key: Key | None) -> None:
    """Check a scalar at ``where`` + ``key`` (``where`` itself when None); the path is built
    only for a message, not for each of a million values."""
    if isinstance(value, str):
        _check_string(name, value, where, key, "string")
    elif isinstance(value, _HugeInteger):
        raise UserFileError(f"{name}: {_path(where, key)}: an integer of {value.digits} "
                            "digits is out of range")
    elif isinstance(value, int) and not isinstance(value, bool) \
            and not INT64[0] <= value <= INT64[1]:
        raise UserFileError(f"{name}: {_path(where, key)}: an integer of "
                            f"{len(str(abs(value)))} digits is out of range "
                            "(integers are 64-bit)")


def _check_string(name: str, text: str, where: tuple[Key, ...], key: Key | None,
                  what: str) -> None:
    if "\0" not in text and len(text) <= MAX_STRING:
        return
    path = _path(where, key)
    place = f"{path}: " if path else ""
    if "\0" in text:
        raise UserFileError(f"{name}: {place}a {what} holds a NUL character")
    raise UserFileError(f"{name}: {place}a {what} of {len(text):,} characters is longer "
                        f"than {MAX_STRING:,}")


def _path(where: tuple[Key, ...], key: Key | None) -> str:
    return dotted(where if key is None else (*where, key))


def _too_deep(name: str, where: tuple[Key, ...]) -> str:
    place = f" at {dotted(where)}" if where else ""
    return f"{name}: nested too deeply{place} (more than {MAX_DEPTH} levels)"


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def dotted(parts: Sequence[Key]) -> str:
    """A key path as the user would write it: ``per-path."caps/**".rules.TM003`` in TOML,
    ``findings[3].count`` in JSON."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        text = part if _BARE_KEY.fullmatch(part) else json.dumps(part)
        out += f".{text}" if out else text
    return out


def load_toml(path: str | os.PathLike[str], *, what: str,
              limit: int = TEXT_LIMIT) -> dict[str, Any]:
    """Read and parse a TOML user file (see ``read_text`` and ``parse_toml``)."""
    return parse_toml(os.fspath(path), read_text(path, limit=limit, what=what))


def load_json(path: str | os.PathLike[str], *, what: str, limit: int) -> Any:
    """Read and parse a JSON user file (see ``read_text`` and ``parse_json``)."""
    return parse_json(os.fspath(path), read_text(path, limit=limit, what=what))


# -- keys as data ----------------------------------------------------------------------------


class Kind(Enum):
    """What a key holds."""

    SECONDS = "a number of seconds"
    COUNT = "a whole number"
    TEXT = "a string"
    CHOICE = "one of"


@dataclass(frozen=True, slots=True)
class Field:
    """What one key of a user file may hold: its type and, for numbers, an inclusive range.

    ``infinite`` lets a time be ``inf`` (a timer that never fires, as RFC 9293's FIN_WAIT_2).
    """

    kind: Kind
    low: float = 0
    high: float = math.inf
    infinite: bool = False
    choices: tuple[str, ...] = ()
    nullable: bool = False
    """``None`` (JSON null) is accepted."""

    def expected(self) -> str:
        """What the key must be, for a message: ``a number of seconds from 0 to 3600``."""
        if self.kind is Kind.CHOICE:
            return f"one of {', '.join(self.choices)}"
        if self.kind is Kind.TEXT:
            return "a string"
        if math.isinf(self.high):
            span = f" of at least {_number(self.low)}"
        else:
            span = f" from {_number(self.low)} to {_number(self.high)}"
        tail = ", or inf for none" if self.infinite else ""
        tail += ", or null" if self.nullable else ""
        return f"{self.kind.value}{span}{tail}"

    def check(self, key: str, value: object) -> Any:
        """``value`` when it fits (an int becomes a float for a time), else ValueError
        with ``key must be EXPECTED, not GOT``."""
        if value is None and self.nullable:
            return None
        if self.kind is Kind.TEXT:
            fits = isinstance(value, str)
        elif self.kind is Kind.CHOICE:
            fits = isinstance(value, str) and value in self.choices
        elif self.kind is Kind.COUNT:
            fits = _type_of(value) == "int"
        else:
            fits = _type_of(value) in ("int", "float")  # an int is a fine number of seconds
        if not fits:
            raise ValueError(f"{key} must be {self.expected()}, not {describe(value)}")
        if self.kind in (Kind.TEXT, Kind.CHOICE):
            return value
        return self._in_range(key, value)

    def _in_range(self, key: str, value: Any) -> float | int:
        number = value
        if self.kind is not Kind.COUNT:
            try:
                number = float(value)
            except OverflowError:  # an int beyond any float: out of every range
                number = math.nan
            if number == math.inf and self.infinite:
                return number
        if not self.low <= number <= self.high:  # NaN compares false: refused too
            raise ValueError(f"{key} must be {self.expected()}, not {describe(value)}")
        return number


def _type_of(value: object) -> str:
    if isinstance(value, bool):  # bool is an int subclass: true is not 1 here
        return "bool"
    if isinstance(value, int):
        return "int"
    return type(value).__name__


def _number(value: float) -> str:
    # Whole bounds as written (65535, not 65535.0 or 6.5535e+04); fractions as %g.
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


_NAMES = {str: "a string", dict: "a table", list: "a list", type(None): "null"}


def describe(value: object) -> str:
    """A value as a message shows what was found: ``a string``, ``true``, ``nan``, ``1e+300``,
    ``an integer of 400 digits``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        digits = len(str(abs(value)))
        return str(value) if digits <= 20 else f"an integer of {digits} digits"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) and abs(value) < 1e15 else f"{value:g}"
    if isinstance(value, str) and len(value) <= 40:
        return f"the string {value!r}"
    return _NAMES.get(type(value), type(value).__name__)


def check_fields(table: Mapping[str, Any], fields: Mapping[str, Field],
                 fail: Callable[[str], Exception],
                 where: Sequence[Key] = ()) -> dict[str, Any]:
    """Every key of ``table`` checked against ``fields`` (unknown keys are the caller's to
    refuse first); ``fail(message)`` builds the exception to raise."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        try:
            out[key] = fields[key].check(dotted((*where, key)), value)
        except ValueError as exc:
            raise fail(str(exc)) from None
    return out


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def expand_user(name: str, value: str) -> str:
    """A path written in a user file, ``~`` and ``~user`` expanded.

    UserFileError naming the user when there is none (pathlib raises RuntimeError, os.path
    leaves the text as it was), and for control characters: every message names the path,
    and a newline in it would make that message two lines.
    """
    if _CONTROL.search(value):
        raise UserFileError(f"{name}: a path must not hold control characters, not {value!r}")
    if not value.startswith("~"):
        return value
    expanded = os.path.expanduser(value)
    if expanded.startswith("~"):
        user = value[1:].split("/", 1)[0]
        raise UserFileError(f"{name}: no user {user}" if user else
                            f"{name}: ~ names no home folder (HOME is not set)")
    return expanded

