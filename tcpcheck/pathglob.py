"""Per-path patterns of the configuration: gitignore-like globs compiled to regular expressions.

Without a ``/`` a pattern matches a file or folder name at any depth; with one it is matched
against the path from the configuration's folder. ``**`` spans folders; ``*``, ``?`` and
``[abc]`` never match a ``/``. (``config.PathOverride`` documents the whole behaviour.)
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Glob:
    """A compiled per-path pattern."""

    regex: re.Pattern[str]
    """Anchored: over the whole relative path; otherwise: over one file or folder name."""
    anchored: bool
    """The pattern has a ``/`` (other than a trailing one): it is matched from the root."""
    folders_only: bool
    """A trailing ``/``: the pattern matches folders (so what is under them), never files."""


@cache
def compile_glob(pattern: str) -> Glob:
    """``pattern`` compiled; ``re.error`` when its brackets make no regex (``[z-a]``)."""
    folders_only = pattern.endswith("/")
    body = pattern.rstrip("/")
    anchored = "/" in body
    out = []
    parts = body.lstrip("/").split("/")
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            # "a/**/b" also matches "a/b"; a trailing "**" matches everything under.
            out.append(".*" if last else "(?:.*/)?")
            continue
        out.append(_glob_part(part))
        if not last:
            out.append("/")
    regex = "".join(out)
    if anchored:
        # A pattern that matches a folder matches everything under it.
        regex += "/.+" if folders_only else "(?:/.+)?"
    return Glob(re.compile(regex), anchored, folders_only)


def _glob_part(part: str) -> str:
    """One path component of a glob as a regex: ``*``, ``?`` and ``[...]`` never match ``/``."""
    out = []
    i = 0
    while i < len(part):
        char = part[i]
        if char == "*":
            while i + 1 < len(part) and part[i + 1] == "*":
                i += 1  # "a**b" is "a*b", as in gitignore
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and (end := part.find("]", i + 2)) != -1:
            inner = part[i + 1:end]
            negate = inner[:1] in ("!", "^")
            inner = "".join("\\" + c if c in "\\^[]" else c for c in inner[negate:] if c != "/")
            out.append(f"[^/{inner}]" if negate else f"[{inner}]" if inner else "(?!)")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def relative_to(path: str, root: Path) -> str | None:
    """``path`` relative to ``root`` with ``/`` separators, or None when it is outside.

    Both sides are tried as typed (made absolute) and with symbolic links resolved, so a
    capture reached through a link into the project, or a project reached through a link,
    still matches.
    """
    given = Path(os.path.abspath(path))
    base = Path(os.path.abspath(root))
    for candidate in (given, given.resolve()):
        for folder in (base, base.resolve()):
            try:
                return candidate.relative_to(folder).as_posix()
            except ValueError:
                continue
    return None
