"""The options several commands share, as click decorators."""

from __future__ import annotations

from collections.abc import Callable

import click

from tcpcheck.cli.console import Command
from tcpcheck.profiles import AUTO, profile_names
from tcpcheck.report.formats import FORMATS

FAIL_LEVELS = ("error", "warning", "info", "never")
COLOR_MODES = ("auto", "always", "never")


def rule_options(func: Command) -> Command:
    """What decides the rules and the gate: shared by ``analyze`` and ``sniff``."""
    func = click.option("--fail-on", type=click.Choice(FAIL_LEVELS),
                        help="Exit with 1 when a finding at or above this severity exists. "
                             "[default: error]")(func)
    return selection_options(func)


def selection_options(func: Command) -> Command:
    """What decides the rules: configuration, profile, selection (``show`` has these too)."""
    options = [
        # Not click.Path(dir_okay=False): a folder gets the loader's one line, not usage text.
        click.option("--config", "config_path", metavar="FILE",
                     help="Configuration file (default: tcpcheck.toml or [tool.tcpcheck] in "
                          "pyproject.toml, searched upward from the working directory)."),
        click.option("--isolated", is_flag=True, help="Ignore every configuration file."),
        click.option("--profile", "profile_name", metavar="NAME|FILE.toml",
                     help=f"Stack profile the timers are checked against: {AUTO} (each "
                          f"connection side's from its own SYN or SYN-ACK, the RFC's bounds "
                          f"when unknown), one for every side "
                          f"({', '.join(profile_names())}), or a TOML file overriding one. "
                          f"[default: {AUTO}]"),
        click.option("--select", multiple=True, metavar="RULES",
                     help="Only these rules: codes (HS001), code prefixes (HS), slugs, "
                          "categories or ALL, comma-separated."),
        click.option("--extend-select", multiple=True, metavar="RULES",
                     help="Rules to enable on top of the selection."),
        click.option("--ignore", multiple=True, metavar="RULES", help="Rules to leave out."),
        click.option("--ignore-checksums", is_flag=True,
                     help="Take every segment as intact, whatever its TCP checksum (for "
                          "sanitised or address-rewritten traces; Zeek's -C)."),
    ]
    return _apply(options, func)


def report_options(func: Command) -> Command:
    """Where the reports go and how they look: shared by ``analyze`` and ``sniff``."""
    options = [
        click.option("--format", "formats", multiple=True, metavar="FORMAT[:PATH]",
                     help=f"Report format ({', '.join(FORMATS)}), with the file to write it to; "
                          "repeat to write several. [default: terminal]"),
        click.option("-o", "--output", type=click.Path(),
                     help="Write the report given without a path to this file instead of "
                          "stdout."),
        click.option("-q", "--quiet", is_flag=True,
                     help="Print only the findings that fail the run, one line each."),
        click.option("--color", type=click.Choice(COLOR_MODES), default="auto",
                     show_default=True,
                     help="Colour in the terminal report (NO_COLOR is honoured)."),
        no_color_option,
        click.option("--no-info", is_flag=True,
                     help="Leave info findings out of the terminal report."),
        click.option("--html-all", is_flag=True,
                     help="Draw every connection in the html report, not only those with "
                          "findings (costs memory and file size on big captures)."),
        click.option("--each-artefact", is_flag=True,
                     help="Report capture artefacts (checksum and segmentation offload, "
                          "duplicate frames) one by one instead of once per capture and host, "
                          "and draw their connections in the html report."),
    ]
    return _apply(options, func)


def _apply(options: list[Callable[[Command], Command]], func: Command) -> Command:
    """``func`` decorated by ``options``, the first listed first in ``--help``."""
    for option in reversed(options):
        func = option(func)
    return func


def color_option(func: Command) -> Command:
    """``--color`` for a command that prints on a terminal."""
    return click.option("--color", type=click.Choice(COLOR_MODES), default="auto",
                        show_default=True,
                        help="Colour on a terminal (NO_COLOR is honoured).")(func)


no_color_option = click.option("--no-color", is_flag=True, help="Same as --color never.")


def filter_option(func: Command) -> Command:
    """``--filter EXPR``, the read filter of ``analyze`` and ``show``."""
    return click.option("--filter", "filter_expression", metavar="EXPR",
                        help="Analyse only the frames this tcpdump filter expression keeps, "
                             "as tcpdump -r FILE EXPR does (libpcap syntax, e.g. 'port 8000'); "
                             "frame numbers stay those of the whole file.")(func)


def text_or_json_option(func: Command) -> Command:
    """``--format terminal|json`` of the catalog commands (``rules``, ``profiles``)."""
    return click.option("--format", "fmt", type=click.Choice(["terminal", "json"]),
                        default="terminal", show_default=True, help="Output format.")(func)


def stitch_option(func: Command) -> Command:
    """``--stitch``: the capture files are one rotated capture."""
    return click.option("--stitch", is_flag=True,
                        help="The files (or a folder of them) are one rotated capture "
                             "(tcpdump -C/-G/-W, dumpcap -b, editcap -c): read them in the "
                             "order of their first timestamps as one capture, so that a "
                             "connection crossing files is one connection. Findings still "
                             "name their own file and its frame number.")(func)
