"""Which rules run: select, extend-select and ignore, layered the way ruff layers them.

A selector names a set of rules: ``ALL``, a rule slug (``syn-isn-changed``), a rule code
(``HS001``), a code prefix (``HS``, ``HS0``) or a category (``handshake``), case-insensitive.
Selections come in layers (the configuration's top level, each matching per-path table, the
command line). Every rule starts enabled; a layer with ``select`` decides every rule afresh,
a layer without it only changes the rules its selectors name. Within a layer the most
specific selector that names a rule decides, so ``select = ["HS"]`` with ``ignore =
["HS001"]`` and ``select = ["HS001"]`` with ``ignore = ["HS"]`` both mean what they say
(flake8's DecisionEngine; ruff's rule selection).

Pure: no files, no terminal; the configuration loader and the CLI wrap the errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tcpcheck.catalog import Catalog, closest

SPECIFICITY_ALL = 0
SPECIFICITY_CATEGORY = 2
"""A category is as specific as the two-letter area prefix it usually coincides with."""
SPECIFICITY_RULE = 10
"""A full code or a slug: more specific than any prefix."""


class SelectionError(ValueError):
    """A selector names no rule; the message suggests a close one."""


@dataclass(frozen=True, slots=True)
class RuleSelection:
    """One layer of rule selection: the configuration's top level, one per-path table, or the
    command line."""

    select: tuple[str, ...] | None = None
    """The rules this layer enables, every other rule disabled; None keeps what the previous
    layers enabled."""
    extend_select: tuple[str, ...] = ()
    """Rules enabled on top of ``select`` (or of the previous layers)."""
    ignore: tuple[str, ...] = ()
    """Rules disabled."""

    def __post_init__(self) -> None:
        # Lists are welcome (they are what TOML and click give); a bare string is a bug that
        # would otherwise select one rule per character.
        for name in ("select", "extend_select", "ignore"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, str):
                raise TypeError(f"RuleSelection.{name} takes a sequence of selectors, "
                                f"not the string {value!r}")
            object.__setattr__(self, name, tuple(value))


@dataclass(frozen=True, slots=True)
class Selector:
    """A resolved selector: the rules it names and how specific it is."""

    text: str
    specificity: int
    rules: frozenset[str]
    """Slugs."""


def parse_selector(text: str, catalog: Catalog) -> Selector:
    """Resolve ``text`` against the catalog, or raise SelectionError."""
    key = text.strip().lower()
    if not key:
        raise SelectionError("empty rule selector (use a rule code, code prefix, slug, "
                             "category or ALL; see `tcpcheck rules`)")
    if key == "all":
        return Selector(text, SPECIFICITY_ALL, frozenset(r.slug for r in catalog))
    for rule in catalog:
        if key in (rule.slug, rule.code.lower()):
            return Selector(text, SPECIFICITY_RULE, frozenset({rule.slug}))
    in_category = frozenset(r.slug for r in catalog if r.category == key)
    if in_category:
        return Selector(text, SPECIFICITY_CATEGORY, in_category)
    # A prefix starts with the whole two-letter area: "H" would straddle areas for no gain.
    if len(key) >= 2:
        prefixed = frozenset(r.slug for r in catalog if r.code.lower().startswith(key))
        if prefixed:
            return Selector(text, len(key), prefixed)
    raise SelectionError(_unknown(text.strip(), catalog))


def validate_selector(text: str, catalog: Catalog) -> None:
    """Raise SelectionError unless ``text`` names at least one rule."""
    parse_selector(text, catalog)


def enabled_rules(layers: Sequence[RuleSelection], catalog: Catalog) -> frozenset[str]:
    """The slugs enabled after applying ``layers`` in order, starting from every rule."""
    enabled = {rule.slug: True for rule in catalog}
    for layer in layers:
        wanted = (*(layer.select or ()), *layer.extend_select)
        decided = _decide(wanted, layer.ignore, catalog)
        for slug in enabled:
            if slug in decided:
                enabled[slug] = decided[slug]
            elif layer.select is not None:
                enabled[slug] = False
    return frozenset(slug for slug, on in enabled.items() if on)


def split_selectors(values: Iterable[str]) -> tuple[str, ...]:
    """Command-line values (``--select HS,SQ001 --select flags``) as one tuple of selectors:
    split at commas, blanks dropped."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def _decide(wanted: Sequence[str], ignored: Sequence[str],
            catalog: Catalog) -> dict[str, bool]:
    """For each rule some selector of the layer names: enabled or not. The most specific
    selector decides; at equal specificity ignore wins (True sorts above False)."""
    best: dict[str, tuple[int, bool]] = {}
    for texts, is_ignore in ((wanted, False), (ignored, True)):
        for text in texts:
            selector = parse_selector(text, catalog)
            rank = (selector.specificity, is_ignore)
            for slug in selector.rules:
                if slug not in best or rank > best[slug]:
                    best[slug] = rank
    return {slug: not is_ignore for slug, (_, is_ignore) in best.items()}


def _unknown(text: str, catalog: Catalog) -> str:
    names = {"all": "ALL"}
    for rule in catalog:
        names[rule.code[:2].lower()] = rule.code[:2]
        names[rule.code.lower()] = rule.code
        names[rule.slug] = rule.slug
        names[rule.category] = rule.category
    close = closest(text, names)
    hint = f"did you mean {close!r}? " if close else ""
    return f"unknown rule selector {text!r} ({hint}see `tcpcheck rules`)"
