"""``docs/oracle-dev.md`` says what tcpcheck says today about every case of ../shared/oracle/dev.

The document is regenerated in memory by ``scripts/oracle_table.py`` from a real run and compared
with the committed one. Every case's hand-written reason must have been written for tcpcheck's
current summary of that case: when the model changes what it says, the reason is reviewed, not
silently kept (``python scripts/oracle_table.py --accept CASE`` records the review).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "oracle_table.py"
ORACLE = ROOT.parent / "shared" / "oracle" / "dev"

pytestmark = pytest.mark.skipif(not ORACLE.is_dir(), reason="../shared/oracle/dev not present")


def _load_script() -> ModuleType:
    """Import the script as a module (``scripts/`` is not a package)."""
    spec = importlib.util.spec_from_file_location("oracle_table", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


table = _load_script()


@pytest.fixture(scope="module")
def rows() -> list:
    """Every case with tcpcheck's summary of it, from one run per capture."""
    return table.build_rows(table.load_cases(ORACLE), table.load_reasons(table.REASONS))


def test_every_oracle_case_is_in_the_document(rows):
    captures = {p.name.split(".")[0] for p in ORACLE.iterdir()
                if p.suffix in (".pcap", ".pcapng")}
    assert {row.case.name for row in rows} == captures


def test_every_reason_was_written_for_what_tcpcheck_says_now(rows):
    assert table.stale_messages(rows) == []


def test_the_document_is_what_a_fresh_run_writes(rows):
    if table.stale_messages(rows):
        pytest.fail("reasons to review first (see the test above)")
    assert table.DOC.read_text() == table.render(rows), (
        "docs/oracle-dev.md is out of date: run make oracle-table")


def test_a_reason_written_for_another_summary_is_refused_with_both_summaries(tmp_path, rows):
    reasons = tmp_path / "reasons.toml"
    text = table.REASONS.read_text()
    row = rows[0]
    assert row.reason is not None
    reasons.write_text(text.replace(f"written_for = '''{row.says.text}'''",
                                    "written_for = '''errors: none'''", 1))
    out = tmp_path / "oracle-dev.md"
    code = table.main(["--oracle", str(ORACLE), "--reasons", str(reasons), "--out", str(out)])
    assert code == 1
    assert not out.exists()
    (message,) = table.stale_messages(table.build_rows(table.load_cases(ORACLE),
                                                       table.load_reasons(reasons)))
    assert message == (f"{row.case.name}: reason written for [errors: none], "
                       f"tcpcheck now says [{row.says.text}]: review")


def test_accepting_a_reviewed_case_records_its_current_summary_and_keeps_its_reason(tmp_path,
                                                                                    rows):
    reasons = tmp_path / "reasons.toml"
    row = rows[0]
    assert row.reason is not None
    reasons.write_text(table.REASONS.read_text().replace(
        f"written_for = '''{row.says.text}'''", "written_for = '''errors: none'''", 1))
    out = tmp_path / "oracle-dev.md"
    code = table.main(["--oracle", str(ORACLE), "--reasons", str(reasons), "--out", str(out),
                       "--accept", row.case.name])
    assert code == 0
    assert reasons.read_text() == table.REASONS.read_text()
    assert out.read_text() == table.DOC.read_text()
