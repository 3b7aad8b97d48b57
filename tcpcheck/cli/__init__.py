"""The command line: ``tcpcheck analyze FILE...``, ``tcpcheck show FILE`` (one connection's
ladder diagram), the live ``tcpcheck sniff`` and ``tcpcheck interfaces``, and the catalog
commands ``tcpcheck rules``, ``tcpcheck explain RULE`` and ``tcpcheck profiles [NAME]``.

One module per command; ``run`` holds what the analysing commands share, ``options`` the
shared options, ``console`` the consoles they print on, ``exits`` how a process ends. This is
the only package that imports click.

Results go to stdout, errors and warnings to stderr. Exit codes (``ExitCode``) are public API:
0 nothing at or above ``--fail-on``, 1 findings at or above it, 2 usage, input or output error
(one line on stderr), 3 an internal error (a bug: one line, the traceback with ``--debug`` or
TCPCHECK_DEBUG=1), 130 SIGINT, 141 stdout closed early (``| head``, quietly), 143 SIGTERM.

Reports and baselines are never written over an input capture, and are written atomically
(``tcpcheck.writing``): a run that fails leaves the previous files as they were.
"""

from __future__ import annotations

import click

from tcpcheck import __version__
from tcpcheck.cli.analyze import analyze
from tcpcheck.cli.exits import DEBUG_ENV, Group
from tcpcheck.cli.explain import explain
from tcpcheck.cli.interfaces import interfaces
from tcpcheck.cli.profiles import profiles
from tcpcheck.cli.rules import rules
from tcpcheck.cli.show import show
from tcpcheck.cli.sniff import sniff


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tcpcheck")
@click.option("--debug", is_flag=True, envvar=DEBUG_ENV, show_envvar=True,
              help="Print the traceback of an internal error (a bug in tcpcheck).")
def main(debug: bool) -> None:
    """Check that the TCP in packet captures follows the protocol, and explain where not."""
    # --debug is read by Group.invoke, which reports the exceptions of every command.


for _command in (analyze, sniff, interfaces, show, rules, explain, profiles):
    main.add_command(_command)
