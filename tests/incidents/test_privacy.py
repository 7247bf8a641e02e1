"""No victim's or family's name where it should not be (#20 for incident files, #18).

Incident reports may name the family whose home was hit and the victims they count. Those names
belong in the case, the report and the app; never in what the command line prints, in a log record,
a warning, an error message or a redacted export. Canary names (tokens no other text holds) are
put in the name columns of good rows and of rows with mistakes, then every incident command runs.
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from undercount.cli import app
from undercount.store import Case

from .conftest import write

CANARIES = ("Qzvorthal", "Xuwendrib", "Plonkersyth", "ظضغثق", "ثخذغظ")
HEADER = "incident id,date,location,type,killed,source,source type,family,victim names\n"
GOOD = (
    "C-1,2023-10-17,Jabalia camp,residential,3,Airwars,casualty recorder,Qzvorthal,Xuwendrib Qzvorthal; Plonkersyth Qzvorthal\n"
    "C-2,2023-10-17,Jabalia camp,residential,2-3,Al Jazeera,press,ظضغثق,ثخذغظ ظضغثق\n"
    "C-3,2023-10-20,Nuseirat,school,5,Airwars,casualty recorder,,\n"
)
# Every row has a mistake in a column that is not a name, and its name cells hold the canaries.
BAD = (
    "C-1,2023-13-45,Jabalia camp,residential,3,Airwars,casualty recorder,Qzvorthal,Xuwendrib Qzvorthal\n"
    "C-2,2023-10-17,Jabalia camp,bakery Plonkersyth,2-3,Al Jazeera,press,ظضغثق,ثخذغظ\n"
    "C-3,2023-10-20,Nuseirat,school,Qzvorthal,Airwars,casualty recorder,Qzvorthal,\n"
)


def _leaks(text: str) -> list[str]:
    words = set(re.findall(r"\w+", text))
    return [c for c in CANARIES if c in words or c.casefold() in {w.casefold() for w in words}]


def test_incident_files_names_stay_out_of_output_logs_warnings_and_redacted_exports(
    empty_case: Case, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="undercount")
    runner = CliRunner()
    good = write(tmp_path / "reports.csv", HEADER + GOOD)
    bad = write(tmp_path / "bad.csv", HEADER + BAD)
    case = str(empty_case.path)
    printed: list[str] = []

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert result.exit_code == code, result.output
        printed.append(result.output)
        return result.output

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        refused = run("incidents", "import", case, str(bad), code=1)
        run("incidents", "import", case, str(bad), "--json", code=1)
        run("incidents", "import", case, str(good))
        listed = json.loads(run("incidents", "list", case, "--json"))
        run("incidents", "list", case)
        run("incidents", "dedupe", case)
        run("incidents", "review", case)
        run("incidents", "list", case)
        run("incidents", "export", case, "-o", str(tmp_path / "redacted.csv"), "--redact")
        run("incidents", "export", case, "-o", str(tmp_path / "redacted.json"), "--redact", "--format", "json")
        run("incidents", "export", case, "-o", str(tmp_path / "incidents.hxl.csv"), "--format", "hxl")
        run("incidents", "export", case, "-o", str(tmp_path / "full.csv"))

    # the checks can fail: the refusal names file, row and column, and the case holds the names
    assert "bad.csv" in refused and "row 1" in refused and "column 'date'" in refused
    assert listed, "the good file was imported"
    assert _leaks((tmp_path / "full.csv").read_text(encoding="utf-8-sig")), "the full export keeps the families"
    texts = {
        "output": "\n".join(printed),
        "logs": "\n".join(r.getMessage() for r in caplog.records),
        "warnings": "\n".join(str(w.message) for w in seen),
        "redacted csv": (tmp_path / "redacted.csv").read_text(encoding="utf-8-sig"),
        "redacted json": (tmp_path / "redacted.json").read_text(encoding="utf-8"),
        "hxl": (tmp_path / "incidents.hxl.csv").read_text(encoding="utf-8-sig"),
    }
    assert {where: _leaks(text) for where, text in texts.items() if _leaks(text)} == {}
