"""The rule catalog: every rule's metadata, read from the TOML files in rules/catalog.

Codes and slugs are public API (CI configurations and baselines refer to them). The logic of a
rule lives in ``tcpcheck.checks``; the text a user reads lives here, as data.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from tcpcheck.result import Severity

_REQUIRED = ("code", "slug", "severity", "category", "summary", "reference", "what", "why",
             "causes", "example")


class CatalogError(ValueError):
    """A rule file is malformed, or a rule name is unknown."""


ParamValue = bool | int | float | str
"""The value of a rule parameter: TOML's scalars."""


@dataclass(frozen=True, slots=True)
class RuleParameter:
    """A knob of a rule, set per project in the configuration (``[tool.tcpcheck.rules.SLUG]``)."""

    name: str
    default: ParamValue
    description: str

    def check(self, value: object) -> ParamValue:
        """``value`` if it has the default's type (an int is fine for a float), else ValueError."""
        kind = type(self.default)
        if kind is float and type(value) is int:
            return float(value)
        if type(value) is not kind:
            raise ValueError(f"{self.name} must be {_KIND_NAMES[kind]}, not {value!r}")
        return value  # type: ignore[return-value]


_KIND_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


@dataclass(frozen=True, slots=True)
class RuleMeta:
    """One rule's metadata, as ``tcpcheck explain`` and the reports show it."""

    code: str
    slug: str
    severity: Severity
    """Default severity."""
    category: str
    summary: str
    reference: str
    what: str
    """What the rule checks."""
    why: str
    """Why it matters (the RFC text it rests on)."""
    causes: str
    """What usually causes it in practice."""
    example: str
    """A bundled capture that shows it (path from the project root), or empty."""
    parameters: tuple[RuleParameter, ...] = ()
    """What the configuration may tune, with defaults (``[parameters.NAME]`` in the TOML)."""
    artefact: bool = False
    """A capture artefact (``artefact = true``), not a protocol finding: what the capture
    point did to the packets (checksum or segmentation offload, copies). Reports fold its
    findings into one per capture and host (``tcpcheck.artefacts``)."""

    def defaults(self) -> dict[str, ParamValue]:
        """Every parameter at its default value."""
        return {p.name: p.default for p in self.parameters}


@dataclass(frozen=True, slots=True)
class Catalog:
    """All rules, by slug and by code."""

    rules: tuple[RuleMeta, ...]

    def get(self, name: str) -> RuleMeta:
        """A rule by slug (``syn-isn-changed``) or code (``HS001``), case-insensitive.

        Raises CatalogError naming the closest rule when the name is a slip of one.
        """
        key = name.strip().lower()
        for rule in self.rules:
            if rule.slug == key or rule.code.lower() == key:
                return rule
        close = self.suggest(key)
        hint = f"did you mean {close!r}? " if close else ""
        raise CatalogError(f"unknown rule {name!r} ({hint}see `tcpcheck rules`)")

    def suggest(self, name: str) -> str | None:
        """The slug or code closest to ``name``, as the catalog spells it; None when none is
        close."""
        names = {rule.slug: rule.slug for rule in self.rules}
        names.update((rule.code.lower(), rule.code) for rule in self.rules)
        return closest(name, names)

    def __iter__(self):
        return iter(self.rules)

    def artefacts(self) -> frozenset[str]:
        """The slugs of the rules that report capture artefacts."""
        return frozenset(rule.slug for rule in self.rules if rule.artefact)


def closest(text: str, names: Mapping[str, str]) -> str | None:
    """The value of the key of ``names`` (lower-case keys) closest to ``text``, for a "did you
    mean"; None when none is close.

    The cutoff is lower than difflib's default so that a one-letter slip in a two-letter area
    ("HZ" for "HS") still gets a suggestion.
    """
    close = difflib.get_close_matches(text.strip().lower(), names, n=1, cutoff=0.5)
    return names[close[0]] if close else None


def _parse(name: str, text: str) -> RuleMeta:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"rules/catalog/{name}: {exc}") from None
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise CatalogError(f"rules/catalog/{name}: missing {', '.join(missing)}")
    return RuleMeta(
        code=data["code"], slug=data["slug"], severity=Severity.parse(data["severity"]),
        category=data["category"], summary=data["summary"], reference=data["reference"],
        what=data["what"].strip(), why=data["why"].strip(), causes=data["causes"].strip(),
        example=data["example"],
        parameters=_parameters(name, data.get("parameters", {})),
        artefact=_artefact(name, data.get("artefact", False)),
    )


def _artefact(name: str, value: object) -> bool:
    if type(value) is not bool:
        raise CatalogError(f"rules/catalog/{name}: artefact must be true or false, not {value!r}")
    return value


def _parameters(name: str, table: dict) -> tuple[RuleParameter, ...]:
    out = []
    for key, spec in sorted(table.items()):
        if not isinstance(spec, dict) or "default" not in spec or "description" not in spec:
            raise CatalogError(f"rules/catalog/{name}: parameter {key} needs a default and a "
                               "description")
        default = spec["default"]
        if type(default) not in _KIND_NAMES:
            raise CatalogError(f"rules/catalog/{name}: parameter {key} has an unsupported "
                               f"default {default!r}")
        out.append(RuleParameter(key, default, " ".join(spec["description"].split())))
    return tuple(out)


def paragraphs(text: str) -> list[str]:
    """The catalog's hard-wrapped text as paragraphs, each on one line, for the reader's
    width (the terminal's, or a SARIF viewer's)."""
    blocks = (" ".join(block.split()) for block in text.split("\n\n"))
    return [block for block in blocks if block]


@cache
def load_catalog() -> Catalog:
    """The bundled catalog, sorted by code (read once per process)."""
    folder = files("tcpcheck._catalog") / "catalog"
    rules = [_parse(p.name, p.read_text(encoding="utf-8")) for p in folder.iterdir()
             if p.name.endswith(".toml")]
    rules.sort(key=lambda r: r.code)
    return Catalog(tuple(rules))
