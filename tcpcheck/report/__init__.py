"""Report renderers: pure functions of a finished ``AnalysisResult``.

Each output format is one module with one public renderer. Renderers only format; no analysis
happens here. Machine formats return the document as text for the caller to write; the human
format prints on the rich ``Console`` it is given, which decides colour and width.

- ``render_json`` / ``write_json`` (``jsondoc``): the JSON document, schema version 1 (public API).
- ``render_terminal`` (``terminal``): the human report with its closing verdict line.
"""

from tcpcheck.report.jsondoc import render_json, write_json
from tcpcheck.report.terminal import render_terminal

__all__ = ["render_json", "render_terminal", "write_json"]
