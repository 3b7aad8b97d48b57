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

from tcpcheck.report.github import render_github
from tcpcheck.report.html import render_html
from tcpcheck.report.jsondoc import render_json, write_json
from tcpcheck.report.junit import render_junit
from tcpcheck.report.markdown import render_markdown
from tcpcheck.report.sarif import render_sarif
from tcpcheck.report.terminal import render_terminal

__all__ = ["render_github", "render_html", "render_json", "render_junit", "render_markdown",
           "render_sarif", "render_terminal", "write_json"]
