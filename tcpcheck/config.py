"""Project configuration: tcpcheck.toml or pyproject.toml's [tool.tcpcheck], found upward.

A CI job checks a folder of captures the same way every run, so the choices live in the
repository next to them: profile, failing level, baseline, which rules run, their severities
and parameters, and per-path overrides for captures of other stacks. The layering is ruff's:
catalog defaults, then the configuration's top level, then each per-path table that matches
the capture, then the command line, which always wins.

Every error names the file and the key it is about and, where a close name exists, suggests
it: a typo in a CI configuration must fail loudly, never silently check less.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tcpcheck.catalog import Catalog, CatalogError, ParamValue, RuleMeta
from tcpcheck.pathglob import compile_glob, relative_to
from tcpcheck.profiles import AUTO
from tcpcheck.result import Severity
from tcpcheck.selection import RuleSelection, SelectionError, enabled_rules, validate_selector
from tcpcheck.userfiles import (
    TEXT_LIMIT,
    UserFileError,
    check_tree,
    describe,
    dotted,
    expand_user,
    read_text,
    toml_document,
)

CONFIG_NAME = "tcpcheck.toml"
PYPROJECT_NAME = "pyproject.toml"
FAIL_ON_CHOICES = ("error", "warning", "info", "never")

_SELECTION_KEYS = ("select", "extend-select", "ignore")
_RULE_KEYS = ("profile", *_SELECTION_KEYS, "severity", "rules")
_TOP_KEYS = (*_RULE_KEYS, "fail-on", "baseline", "per-path", "hosts")
_RUN_WIDE = {"fail-on": "it applies to the whole run", "baseline": "it applies to the whole run",
             "per-path": "per-path tables do not nest", "hosts": "it applies to the whole run"}
"""Top-level keys a per-path table may not set, with why."""
_SEVERITIES = ("error", "warning", "info")


class ConfigError(ValueError):
    """An unreadable or invalid configuration file; the message names the file and key."""


@dataclass(frozen=True, slots=True)
class RuleOptions:
    """The per-capture settings one layer sets (configuration top level, a per-path table, or
    the command line); anything left unset keeps the previous layer's value."""

    selection: RuleSelection = field(default_factory=RuleSelection)
    profile: str | None = None
    """A profile name, or the path of a profile file (resolved against the configuration's
    folder when it comes from a configuration)."""
    severity: Mapping[str, Severity] = field(default_factory=dict)
    """Rule slug -> severity."""
    params: Mapping[str, Mapping[str, ParamValue]] = field(default_factory=dict)
    """Rule slug -> {parameter: value}, only the parameters this layer sets."""


@dataclass(frozen=True, slots=True)
class PathOverride:
    """A ``[per-path."<glob>"]`` table: options for the captures the glob matches.

    The glob is gitignore-like and relative to the configuration's folder: without a ``/`` it
    matches a file or folder name at any depth (``*.pcapng``, ``windows-*``); with one it is
    matched against the path from that folder (a leading ``/`` changes nothing). ``**``
    matches any number of folders, none included; ``*``, ``?`` and ``[abc]`` never match a
    ``/``. A pattern that matches a folder matches everything under it; a trailing ``/`` makes
    it match folders only. A capture outside the folder matches only by its file name.
    """

    pattern: str
    """As written in the configuration."""
    options: RuleOptions

    def matches(self, path: str, root: Path) -> bool:
        """Whether the capture ``path`` (as typed: relative to the working directory, or
        absolute) is one this table is about."""
        glob = compile_glob(self.pattern)
        relative = relative_to(path, root)
        if relative is None:
            if glob.anchored or glob.folders_only:
                return False
            return glob.regex.fullmatch(Path(os.path.abspath(path)).name) is not None
        if glob.anchored:
            return glob.regex.fullmatch(relative) is not None
        names = relative.split("/")
        if glob.folders_only:
            names = names[:-1]
        return any(glob.regex.fullmatch(name) for name in names)


@dataclass(frozen=True, slots=True)
class Config:
    """A configuration file, read and validated."""

    path: Path | None
    """The file read; None when there is none and the defaults apply."""
    root: Path
    """The folder relative paths and per-path patterns are relative to: the file's folder (the
    starting folder when there is no file)."""
    options: RuleOptions
    fail_on: str | None = None
    """``error``, ``warning``, ``info`` or ``never``; None when the file does not say."""
    baseline: str | None = None
    """The baseline file, resolved against ``root``."""
    per_path: tuple[PathOverride, ...] = ()
    """In file order: later tables override earlier ones."""
    hosts: tuple[HostPin, ...] = ()
    """The ``[hosts]`` table: profiles pinned to addresses or prefixes (``--profile auto``)."""


@dataclass(frozen=True, slots=True)
class HostPin:
    """One row of the ``[hosts]`` table: ``"192.0.2.0/24" = "windows"``."""

    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    """An address (a /32 or /128) or a prefix."""
    profile: str
    """A profile name or a profile file's path (resolved against the configuration's folder)."""


@dataclass(frozen=True, slots=True)
class Settings:
    """What applies to one capture file once every layer is merged."""

    profile: str
    """A profile name or a profile file's path."""
    rules: frozenset[str]
    """Enabled rule slugs."""
    severity: Mapping[str, Severity]
    """Every enabled slug -> its effective severity."""
    params: Mapping[str, Mapping[str, ParamValue]]
    """Every rule that has parameters -> all of them (defaults merged)."""


# -- discovery -------------------------------------------------------------------------------


def find_config(start: Path) -> Path | None:
    """The configuration file that applies in ``start``: in ``start`` or the nearest folder
    above it, tcpcheck.toml (whatever it holds) before a pyproject.toml with [tool.tcpcheck]."""
    folder = Path(os.path.abspath(start))
    if folder.is_file():
        folder = folder.parent
    for candidate in (folder, *folder.parents):
        own = candidate / CONFIG_NAME
        # Not is_file(): a FIFO or device named tcpcheck.toml is refused loudly when read,
        # rather than skipped to a configuration further up.
        if own.exists() and not own.is_dir():
            return own
        pyproject = candidate / PYPROJECT_NAME
        if pyproject.is_file() and _has_tool_table(pyproject):
            return pyproject
    return None


def discover_config(start: Path, catalog: Catalog) -> Config:
    """The configuration found from ``start`` (see ``find_config``), loaded; the defaults
    rooted at ``start`` when there is none."""
    path = find_config(start)
    if path is None:
        return Config(path=None, root=Path(os.path.abspath(start)), options=RuleOptions())
    return load_config(path, catalog)


def _has_tool_table(path: Path) -> bool:
    text = _read(path)
    # Parse only files that mention us: a broken pyproject.toml of an unrelated project higher
    # up must not stop the run, a broken one that configures tcpcheck must.
    if "tcpcheck" not in text:
        return False
    return _tool_table(path, _parse(path, text)) is not None


# -- loading ---------------------------------------------------------------------------------


def load_config(path: Path, catalog: Catalog) -> Config:
    """Read and validate one configuration file. A file named pyproject.toml is read from its
    [tool.tcpcheck] table (which it must have); any other file from its top level."""
    path = Path(path)
    data = _parse(path, _read(path))
    if path.name == PYPROJECT_NAME:
        table = _tool_table(path, data)
        if table is None:
            raise ConfigError(f"{path}: no [tool.tcpcheck] table")
        prefix: tuple[str, ...] = ("tool", "tcpcheck")
    else:
        table, prefix = data, ()
    with _as_config_error():
        check_tree(str(path), table, prefix)
    root = Path(os.path.abspath(path)).parent
    return _Reader(path, root, catalog).config(table, prefix)


@contextmanager
def _as_config_error() -> Iterator[None]:
    """A user file's reading or parsing error, raised as the ConfigError it is."""
    try:
        yield
    except UserFileError as exc:
        raise ConfigError(str(exc)) from None


def _read(path: Path) -> str:
    with _as_config_error():
        return read_text(path, limit=TEXT_LIMIT, what="configuration file")


def _parse(path: Path, text: str) -> dict[str, Any]:
    # Only the table tcpcheck reads is walked (load_config): the rest of a pyproject.toml
    # belongs to other tools.
    with _as_config_error():
        return toml_document(str(path), text)


def _tool_table(path: Path, data: dict[str, Any]) -> dict[str, Any] | None:
    tool = data.get("tool")
    if not isinstance(tool, dict) or "tcpcheck" not in tool:
        return None
    table = tool["tcpcheck"]
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: tool.tcpcheck must be a table, not {table!r}")
    return table


def _suggest(word: str, choices: Sequence[str]) -> str | None:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return close[0] if close else None


@dataclass(frozen=True, slots=True)
class _Reader:
    """Validates one file's tables; knows the file's name and folder for the messages and the
    relative paths."""

    file: Path
    root: Path
    catalog: Catalog

    def fail(self, message: str) -> ConfigError:
        return ConfigError(f"{self.file}: {message}")

    def config(self, table: dict[str, Any], prefix: tuple[str, ...]) -> Config:
        self.known_keys(table, prefix, _TOP_KEYS)
        fail_on = table.get("fail-on")
        if fail_on is not None:
            fail_on = self.choice(fail_on, (*prefix, "fail-on"), FAIL_ON_CHOICES)
        baseline = table.get("baseline")
        if baseline is not None:
            baseline = self.path(baseline, (*prefix, "baseline"))
        return Config(path=self.file, root=self.root, options=self.options(table, prefix),
                      fail_on=fail_on, baseline=baseline,
                      per_path=self.per_path(table.get("per-path"), (*prefix, "per-path")),
                      hosts=self.hosts(table.get("hosts"), (*prefix, "hosts")))

    def hosts(self, table: Any, where: tuple[str, ...]) -> tuple[HostPin, ...]:
        if table is None:
            return ()
        if not isinstance(table, dict):
            raise self.fail(f"{dotted(where)} must be a table of addresses or prefixes, like "
                            f'[hosts] "192.0.2.0/24" = "windows", not {table!r}')
        out = []
        for text, profile in table.items():
            key = (*where, text)
            try:
                network = ipaddress.ip_network(text.strip())
            except ValueError as exc:
                raise self.fail(f"{dotted(key)}: not an address or prefix ({exc})") from None
            if profile == AUTO:
                raise self.fail(f"{dotted(key)}: a pin names one profile, not {AUTO!r}")
            out.append(HostPin(network, self.profile(profile, key)))
        return tuple(out)

    def per_path(self, tables: Any, where: tuple[str, ...]) -> tuple[PathOverride, ...]:
        if tables is None:
            return ()
        if not isinstance(tables, dict):
            raise self.fail(f"{dotted(where)} must be a table of globs, like "
                            f'[per-path."captures/windows/**"], not {tables!r}')
        out = []
        for pattern, table in tables.items():
            key = (*where, pattern)
            if not pattern.strip("/"):
                raise self.fail(f"{dotted(key)}: empty per-path pattern")
            if not isinstance(table, dict):
                raise self.fail(f"[{dotted(key)}] must be a table of options, not {table!r}")
            try:
                compile_glob(pattern)
            except re.error as exc:
                # Compiled now, not when the first capture is matched: "[z-a]" is the
                # file's error, found before anything is read.
                raise self.fail(f"{dotted(key)}: bad pattern ({exc.msg})") from None
            self.known_keys(table, key, _RULE_KEYS)
            out.append(PathOverride(pattern, self.options(table, key)))
        return tuple(out)

    def options(self, table: dict[str, Any], where: tuple[str, ...]) -> RuleOptions:
        profile = table.get("profile")
        if profile is not None:
            profile = self.profile(profile, (*where, "profile"))
        select, extend, ignore = (self.selectors(table, where, k) for k in _SELECTION_KEYS)
        return RuleOptions(
            selection=RuleSelection(select=select, extend_select=extend or (),
                                    ignore=ignore or ()),
            profile=profile,
            severity=self.severity(table.get("severity"), (*where, "severity")),
            params=self.params(table.get("rules"), (*where, "rules")),
        )

    def known_keys(self, table: dict[str, Any], where: tuple[str, ...],
                   allowed: Sequence[str]) -> None:
        for key in table:
            if key in allowed:
                continue
            place = f"in [{dotted(where)}]" if where else "at the top level"
            if key == "tool" and not where:
                hint = "this file takes the keys of [tool.tcpcheck] at its top level"
            elif key in _RUN_WIDE and where:
                hint = f"set it at the top level: {_RUN_WIDE[key]}"
            elif close := _suggest(key, allowed):
                hint = f"did you mean {close!r}?"
            else:
                hint = f"keys: {', '.join(allowed)}"
            raise self.fail(f"unknown key {key!r} {place} ({hint})")

    def selectors(self, table: dict[str, Any], where: tuple[str, ...],
                  key: str) -> tuple[str, ...] | None:
        value = table.get(key)
        if value is None:
            return None
        name = dotted((*where, key))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f'{name} must be a list of strings, like ["HS", "SQ001"], '
                            f"not {value!r}")
        for text in value:
            try:
                validate_selector(text, self.catalog)
            except SelectionError as exc:
                raise self.fail(f"{name}: {exc}") from None
        return tuple(value)

    def choice(self, value: Any, where: tuple[str, ...], choices: Sequence[str]) -> str:
        name = dotted(where)
        if isinstance(value, str) and value.strip().lower() in choices:
            return value.strip().lower()
        close = _suggest(value.strip().lower(), choices) if isinstance(value, str) else None
        hint = f" (did you mean {close!r}?)" if close else ""
        raise self.fail(f"{name} must be one of {', '.join(choices)}, not {value!r}{hint}")

    def path(self, value: Any, where: tuple[str, ...]) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{dotted(where)} must be a path (a string), not {value!r}")
        try:
            expanded = expand_user(dotted(where), value)
        except UserFileError as exc:
            raise self.fail(str(exc)) from None
        # Relative to the configuration, not to wherever the run starts: the same file must
        # mean the same thing from every folder of the project.
        return os.path.normpath(self.root / expanded)

    def profile(self, value: Any, where: tuple[str, ...]) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{dotted(where)} must be a profile name or a .toml file, "
                            f"not {value!r}")
        # Names are checked by the profile loader, which knows them; files are made absolute
        # here because only here is the configuration's folder known.
        return self.path(value, where) if value.endswith(".toml") else value

    def rule(self, name: str, table: tuple[str, ...]) -> RuleMeta:
        try:
            return self.catalog.get(name)
        except CatalogError:
            pass
        try:
            validate_selector(name, self.catalog)
        except SelectionError:
            close = self.catalog.suggest(name)
            hint = f"did you mean {close!r}? " if close else ""
            raise self.fail(f"unknown rule {name!r} in [{dotted(table)}] "
                            f"({hint}see `tcpcheck rules`)") from None
        raise self.fail(f"{name!r} in [{dotted(table)}] selects several rules; name one "
                        "rule per key (a slug or a code)")

    def rule_table(self, value: Any, where: tuple[str, ...],
                   what: str) -> dict[RuleMeta, tuple[str, Any]]:
        """A table keyed by rule name -> {rule: (key as written, value)}."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(f"{dotted(where)} must be a table of rules, like "
                            f"{what}, not {value!r}")
        out: dict[RuleMeta, tuple[str, Any]] = {}
        for name, item in value.items():
            rule = self.rule(name, where)
            if rule in out:
                raise self.fail(f"[{dotted(where)}] sets {rule.slug} twice "
                                f"(as {out[rule][0]!r} and {name!r})")
            out[rule] = (name, item)
        return out

    def severity(self, value: Any, where: tuple[str, ...]) -> dict[str, Severity]:
        example = '[severity] retransmission = "warning"'
        return {rule.slug: Severity.parse(self.choice(level, (*where, name), _SEVERITIES))
                for rule, (name, level) in self.rule_table(value, where, example).items()}

    def params(self, value: Any,
               where: tuple[str, ...]) -> dict[str, dict[str, ParamValue]]:
        example = "[rules.rto-backoff-violation] tolerance = 0.5"
        out: dict[str, dict[str, ParamValue]] = {}
        for rule, (name, table) in self.rule_table(value, where, example).items():
            key = (*where, name)
            if not isinstance(table, dict):
                raise self.fail(f"{dotted(key)} must be a table of parameters, like "
                                f"{example}, not {table!r}")
            out[rule.slug] = {p: self.param(rule, p, v, key) for p, v in table.items()}
        return out

    def param(self, rule: RuleMeta, name: str, value: Any,
              table: tuple[str, ...]) -> ParamValue:
        known = {p.name: p for p in rule.parameters}
        if name not in known:
            if not known:
                hint = f"{rule.slug} has no parameters"
            elif close := _suggest(name, list(known)):
                hint = f"did you mean {close!r}? parameters: {', '.join(known)}"
            else:
                hint = f"parameters: {', '.join(known)}"
            raise self.fail(f"unknown parameter {name!r} in [{dotted(table)}] ({hint})")
        try:
            checked = known[name].check(value)
        except ValueError as exc:
            raise self.fail(f"[{dotted(table)}] {exc}") from None
        if isinstance(checked, float) and not math.isfinite(checked):
            raise self.fail(f"[{dotted(table)}] {name} must be a finite number, "
                            f"not {describe(checked)}")
        return checked


# -- merging ---------------------------------------------------------------------------------


def settings_for(config: Config, path: str, cli: RuleOptions, catalog: Catalog, *,
                 default_profile: str = "linux") -> Settings:
    """The settings for the capture ``path``: catalog defaults, then the configuration's top
    level, then every per-path table that matches (in file order), then the command line.

    Raises SelectionError for an unknown selector on the command line and CatalogError for an
    unknown rule in the command line's severities or parameters (the configuration's were
    checked when it was loaded).
    """
    layers = [config.options]
    layers += [o.options for o in config.per_path if o.matches(path, config.root)]
    layers.append(cli)
    profile = default_profile
    severity = {rule.slug: rule.severity for rule in catalog}
    params = {rule.slug: rule.defaults() for rule in catalog if rule.parameters}
    for layer in layers:
        if layer.profile is not None:
            profile = layer.profile
        for name, level in layer.severity.items():
            severity[catalog.get(name).slug] = level
        for name, values in layer.params.items():
            _merge_params(params, catalog.get(name), values)
    rules = enabled_rules([layer.selection for layer in layers], catalog)
    return Settings(profile=profile, rules=rules,
                    severity={slug: level for slug, level in severity.items() if slug in rules},
                    params=params)


def _merge_params(params: dict[str, dict[str, ParamValue]], rule: RuleMeta,
                  values: Mapping[str, ParamValue]) -> None:
    """Set ``values`` over ``params[rule]``, checked (the command line's are not yet)."""
    known = {p.name: p for p in rule.parameters}
    for name, value in values.items():
        if name not in known:
            raise CatalogError(f"{rule.slug} has no parameter {name!r} "
                               f"(parameters: {', '.join(known) or 'none'})")
        params[rule.slug][name] = known[name].check(value)
