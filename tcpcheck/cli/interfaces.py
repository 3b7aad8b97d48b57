"""``tcpcheck interfaces``: the interfaces ``sniff`` can capture on."""

from __future__ import annotations

import click

from tcpcheck.cli.console import printing
from tcpcheck.cli.run import fail
from tcpcheck.live import LiveError, list_interfaces


@click.command(short_help="List the interfaces sniff can capture on.")
@printing("the list")
def interfaces() -> None:
    """List the network interfaces dumpcap can capture on, one per line, with a description
    when there is one."""
    try:
        found = list_interfaces()
    except LiveError as exc:
        fail(str(exc))
    width = max((len(i.name) for i in found), default=0)
    for interface in found:
        click.echo(f"{interface.name:<{width}}  {interface.description}".rstrip())
