"""``tcpcheck rules [--category NAME]``: every rule, as a table or JSON."""

from __future__ import annotations

import click

from tcpcheck.catalog import CatalogError, load_catalog
from tcpcheck.cli.console import WIDE_OUTPUT, printing, stdout_console
from tcpcheck.cli.options import color_option, text_or_json_option
from tcpcheck.cli.run import fail
from tcpcheck.report.catalog_view import render_rules, rules_json


@click.command(short_help="List every rule.")
@click.option("--category", metavar="NAME", help="Only the rules of this category.")
@text_or_json_option
@color_option
@printing("the list")
def rules(category: str | None, fmt: str, color: str) -> None:
    """List every rule: code, slug, severity, category and summary."""
    try:
        selected = list(load_catalog())
    except CatalogError as exc:
        fail(str(exc))
    if category is not None:
        categories = sorted({r.category for r in selected})
        selected = [r for r in selected if r.category == category.strip().lower()]
        if not selected:
            fail(f"unknown category {category!r} (categories: {', '.join(categories)})")
    if fmt == "json":
        click.echo(rules_json(selected))
    else:
        render_rules(selected, stdout_console(color, WIDE_OUTPUT))
