"""No name or ID number where it should not be (#20): a whole run on a case with names, and the
usual mistakes on it, print and log none of them.

Every command of the pipeline runs in-process on a simulated case (import, audit, link, review,
search sample, estimate, status, evaluation, report, exports), then commands that fail on rows
or sheets holding names,
then the review app is browsed and searched by name. Everything printed (stdout and stderr),
every log record of every logger at DEBUG, every warning, and the audit log admins read are
searched for each name token and ID number of the lists. The report and the exports are files:
they may hold names (only the redacted export is searched).
"""

from __future__ import annotations

import csv
import json
import logging
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from undercount.cli import app

runner = CliRunner()
PASSWORD = "a long enough passphrase"


def _tokens(sim: Path) -> tuple[set[str], set[str]]:
    """Name tokens (Arabic and Latin, 3 letters or more) and ID numbers of every list's rows (not
    its headers, which messages may quote) and of the truth."""
    truth = pd.read_csv(sim / "truth_population.csv", dtype=str)
    frames = [
        pd.read_csv(sim / "hospital.csv", dtype=str, header=None, encoding="cp1256").iloc[2:],
        pd.read_csv(sim / "social.csv", dtype=str),
        pd.read_excel(sim / "survey.xlsx", dtype=str),
    ]
    texts = [*truth["full_name"].dropna()]
    texts += [v for frame in frames for v in frame.to_numpy().ravel() if isinstance(v, str)]
    latin = {t for text in texts for t in re.findall(r"[A-Za-z]+", text) if t[:1].isupper()}
    arabic = {t for text in texts for t in re.findall(r"[\u0600-\u06ff]+", text)}
    tokens = {t for t in latin | arabic if len(t) >= 3} - _NOT_NAMES
    ids = set(truth["id_number"].dropna()) | {v for text in texts for v in re.findall(r"\b\d{9}\b", text)}
    return tokens, ids


# Latin words of the simulated files that are places, sexes, statuses or months, not names.
_NOT_NAMES = {
    "Gaza", "Rafah", "Khan", "Yunis", "Younis", "Deir", "Balah", "North", "Jabalia", "Nuseirat", "Bureij",
    "Maghazi", "Beit", "Lahia", "Hanoun", "Hanun", "City", "Male", "Female", "Killed", "Missing", "Injured",
    "Detained", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
}


def _run(out: list[str], *args: object, code: int | None = 0) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    text = result.output  # stdout and stderr, as the user sees them
    out.append(f"$ {' '.join(map(str, args))}\n{text}")
    if code is not None:
        assert result.exit_code == code, text
    return text


def _leaks(text: str, tokens: set[str], ids: set[str]) -> list[str]:
    words = set(re.findall(r"[\w']+", text))
    lowered = {w.casefold() for w in words}
    found = sorted(t for t in tokens if t in words or t.casefold() in lowered)
    return found + sorted(i for i in ids if i in words)


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> Iterator[list[warnings.WarningMessage]]:
    caplog.set_level(logging.INFO)  # every logger (numba's DEBUG is its compiler's internals)
    caplog.set_level(logging.DEBUG, logger="undercount")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        yield seen


def _pipeline(tmp_path: Path, sim: Path, out: list[str]) -> Path:
    case = tmp_path / "case"
    _run(out, "init", case)
    for name, spec in (("hospital", "hospital.spec.toml"), ("survey", None), ("social", "social.spec.toml")):
        path = sim / (f"{name}.xlsx" if spec is None else f"{name}.csv")
        _run(out, "import", case, path, *(("--spec", sim / spec) if spec else ()))
    _run(out, "import", case, sim / "social.csv", "--spec", sim / "social.spec.toml")  # again: skipped
    _run(out, "import", case, sim / "social.csv", "--name", "again", "--dry-run", "--json")
    _run(out, "audit", case)
    _run(out, "audit", case, "--json")
    _run(out, "link", case)
    queue = json.loads(_run(out, "review", "queue", case, "--json"))
    _run(out, "review", "queue", case)
    if queue["pairs"]:
        pair = queue["pairs"][0]
        _run(out, "review", "decide", case, pair["record_id_l"], pair["record_id_r"], "same")
        _run(out, "review", "recluster", case)
    _run(out, "search-sample", "draw", case, "--size", "60", "--seed", "1")
    _run(out, "search-sample", "export", case, "-o", tmp_path / "sheet.csv")
    _run(out, "search-sample", "status", case)
    _run(out, "status", case)
    _run(out, "evaluate-links", case, "--truth", sim / "truth.csv")
    _run(out, "estimate", case, "--method", "loglinear", "--link-draws", "2", "--imputations", "2")
    _run(out, "status", case, "--json")
    _run(out, "report", case, "-o", tmp_path / "report.html")
    _run(out, "export", case, "register", "-o", tmp_path / "redacted.csv", "--redact")
    _run(out, "export", case, "register", "-o", tmp_path / "register.csv")
    _run(out, "export", case, "clusters", "-o", tmp_path / "clusters.csv", "--json")
    _run(out, "export", case, "estimates", "-o", tmp_path / "estimates.csv")
    return case


def _mistakes(tmp_path: Path, sim: Path, case: Path, out: list[str]) -> None:
    rows = list(csv.reader((sim / "social.csv").open(encoding="utf-8")))
    headerless = tmp_path / "headerless.csv"
    with headerless.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows[1:6])
    _run(out, "import", case, headerless, code=1)
    _run(out, "import", case, headerless, "--dry-run", code=None)
    bad = tmp_path / "bad_cells.csv"
    with bad.open("w", newline="", encoding="utf-8") as handle:
        name = rows[1][0]
        csv.writer(handle).writerows([rows[0], [name, name, name, name, name], [name, "x" * 70_000, "", "", ""]])
    _run(out, "import", case, bad, code=1)
    _run(out, "import", case, bad, "--json", code=1)
    sheet = pd.read_csv(tmp_path / "sheet.csv", dtype=str, encoding="utf-8-sig")
    sheet["answer"] = sheet["names"].str.split("|").str[-1].str.strip()  # names where answers belong
    sheet["found_record_id"] = sheet["names"].str.split().str[0]
    sheet.to_csv(tmp_path / "sheet_bad.csv", index=False)
    _run(out, "search-sample", "import", case, tmp_path / "sheet_bad.csv", code=1)
    _run(out, "review", "decide", case, "999999", "999998", "same", code=None)
    _run(out, "export", case, "register", "-o", tmp_path / "no" / "such" / "folder.csv", code=None)


def _browse(case_dir: Path, tokens: set[str], out: list[str]) -> None:
    from fastapi.testclient import TestClient

    from undercount.store import Case
    from undercount.web import add_user, create_app

    case = Case.open(case_dir)
    add_user(case, "ada", "admin", PASSWORD, written_by="tester")
    client = TestClient(create_app(case_dir), base_url="http://127.0.0.1", follow_redirects=False)
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    name = sorted(t for t in tokens if t.isascii())[0]
    # a name typed as the user name, then the right login
    client.post("/login", data={"username": name, "password": "wrong", "csrf_token": token.group(1)})
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    response = client.post("/login", data={"username": "ada", "password": PASSWORD, "csrf_token": token.group(1)})
    assert response.status_code == 303
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    for query in (name, sorted(t for t in tokens if not t.isascii())[0]):
        assert client.post("/register", data={"q": query, "csrf_token": token.group(1)}).status_code == 200
    for path in ("/register", "/review", "/review/decisions", "/admin/audit", "/admin/users"):
        assert client.get(path).status_code == 200, path
    out.append("(app browsed)")


@pytest.mark.slow
def test_no_name_or_id_in_output_logs_warnings_or_audit(
    tmp_path: Path, captured: list[warnings.WarningMessage], caplog: pytest.LogCaptureFixture
) -> None:
    out: list[str] = []
    sim = tmp_path / "sim"
    _run(out, "simulate", sim, "--people", "200", "--lists", "3", "--seed", "4")
    tokens, ids = _tokens(sim)
    assert len(tokens) > 100 and len(ids) > 50  # the check has something to find
    case = _pipeline(tmp_path, sim, out)
    _mistakes(tmp_path, sim, case, out)
    _browse(case, tokens, out)

    from undercount.store import Case

    reader = Case.open(case)
    audit = reader.query("SELECT * FROM uc_audit").to_csv(index=False)
    runs = reader.query("SELECT kind, params, summary, inputs FROM uc_runs").to_csv(index=False)
    logs = "\n".join(
        f"{r.name} {r.levelname} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records
    )
    said = "\n".join(str(w.message) for w in captured)
    redacted = (tmp_path / "redacted.csv").read_text(encoding="utf-8-sig")
    (tmp_path / "transcript.txt").write_text("\n".join(out) + "\n--- logs\n" + logs, encoding="utf-8")  # to read on failure
    assert _leaks("Said Hamdan 917859050", {"Said", "Hamdan"}, {"917859050"})  # the search finds what it seeks
    for what, text in (("output", "\n".join(out)), ("logs", logs), ("warnings", said), ("audit log", audit),
                       ("stored runs", runs), ("redacted export", redacted)):
        leaks = _leaks(text, tokens, ids)
        assert leaks == [], f"names or IDs in the {what}: {leaks}"
