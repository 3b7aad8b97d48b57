"""Report renderers: pure functions of a finished ``AnalysisResult``.

Each output format is one module with one public renderer, registered by name in ``formats``
(what ``--format`` accepts, and what each format supports). Renderers only format; no analysis
happens here. Machine formats return the document as text for the caller to write; the human
format prints on the rich ``Console`` it is given, which decides colour and width.

- ``render_json`` / ``write_json`` (``jsondoc``): the JSON document, schema version 1 (public API).
- ``render_terminal`` (``terminal``): the human report with its closing verdict line.
- ``render_sarif`` (``sarif``): SARIF 2.1.0 for code scanning.
- ``render_junit`` (``junit``): JUnit XML, a test suite per capture, a test case per connection.
- ``render_github`` (``github``): GitHub Actions workflow annotations.
- ``render_markdown`` (``markdown``): a summary for a pull-request comment or job summary.
- ``render_html`` (``html``): one self-contained page with tables, ladder diagrams and
  time-sequence graphs drawn from the recorded timelines.

Beside the reports: ``catalog_view`` and ``profile_view`` render the rule catalog and the stack
profiles (``tcpcheck rules``/``explain``/``profiles``), ``ladder_view`` one connection
(``tcpcheck show``), ``live_view`` the live capture (``tcpcheck sniff``).
"""

from importlib import import_module
from typing import Any

_MODULES = {
    "render_github": "github",
    "render_html": "html",
    "render_json": "jsondoc",
    "render_junit": "junit",
    "render_markdown": "markdown",
    "render_sarif": "sarif",
    "render_terminal": "terminal",
    "write_json": "jsondoc",
}
"""Each renderer's module. They are imported on first use (PEP 562), so that a run imports
only the renderers of the formats it writes (about 0.03 s less start-up for ``--format json``)."""

__all__ = sorted(_MODULES)


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
