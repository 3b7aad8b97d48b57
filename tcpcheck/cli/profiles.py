"""``tcpcheck profiles [NAME|FILE.toml]``: the stack profiles, or one of them."""

from __future__ import annotations

import json

import click

from tcpcheck.cli.console import WIDE_OUTPUT, printing, stdout_console
from tcpcheck.cli.options import color_option, text_or_json_option
from tcpcheck.cli.run import fail
from tcpcheck.profiles import AUTO, ProfileError, load_profile, profile_names
from tcpcheck.report.profile_view import (
    AUTO_DESCRIPTION,
    profiles_json,
    render_profile,
    render_profiles,
)


@click.command(short_help="List the stack profiles, or show one.")
@click.argument("name", required=False, metavar="[NAME|FILE.toml]")
@text_or_json_option
@color_option
@printing("the profiles")
def profiles(name: str | None, fmt: str, color: str) -> None:
    """List the stack profiles, or show one with its SYN and SYN-ACK schedules."""
    if name == AUTO:  # not a profile: the choice of one per connection side
        if fmt == "json":
            click.echo(json.dumps({"name": AUTO, "description": AUTO_DESCRIPTION}, indent=2))
        else:
            click.echo(f"{AUTO} (default): {AUTO_DESCRIPTION}")
        return
    try:
        selected = [load_profile(name)] if name else [load_profile(n) for n in profile_names()]
    except ProfileError as exc:
        fail(str(exc))
    if fmt == "json":
        click.echo(profiles_json(selected, one=bool(name)))
    elif name:
        render_profile(selected[0], stdout_console(color))
    else:
        render_profiles(selected, stdout_console(color, WIDE_OUTPUT))
