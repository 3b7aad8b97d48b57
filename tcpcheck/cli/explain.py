"""``tcpcheck explain RULE``: what a rule checks, why it matters, causes and an example."""

from __future__ import annotations

import click

from tcpcheck.catalog import CatalogError, load_catalog
from tcpcheck.cli.console import printing, stdout_console
from tcpcheck.cli.options import color_option
from tcpcheck.cli.run import fail
from tcpcheck.report.catalog_view import render_explanation


@click.command(short_help="Explain a rule: what, why, causes, example.")
@click.argument("rule_name", metavar="RULE")
@color_option
@printing("the explanation")
def explain(rule_name: str, color: str) -> None:
    """Explain one rule (slug such as syn-isn-changed, or code such as HS001)."""
    try:
        rule = load_catalog().get(rule_name)
    except CatalogError as exc:
        fail(str(exc))
    render_explanation(rule, stdout_console(color))
