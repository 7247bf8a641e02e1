"""``undercount demo``: simulate, import, link, estimate and report, end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from undercount.cli import app
from undercount.store import Case


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """One demo run (about 60 s of CPU: estimation of 6 strata), shared by the tests below."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    return out, CliRunner().invoke(app, ["demo", "--out", str(out), "--seed", "2", "--link-draws", "2", "--json"])


@pytest.mark.slow  # the demo_run fixture: about 60 s of CPU, several minutes on a busy machine
def test_demo_runs_end_to_end(demo_run: tuple[Path, Any], tmp_path: Path) -> None:
    out, result = demo_run
    assert result.exit_code == 0, result.output
    headline = json.loads(result.output[result.output.index("{"):])
    report = Path(headline["report"])
    assert report == out / "report.html" and report.stat().st_size > 100_000
    assert headline["true_total"] == 2000 and headline["population"] == "killed"
    assert 1700 < headline["true_n"] < 2000  # the true number killed
    assert 1000 < headline["documented"] <= 2100
    assert headline["lower"] <= headline["estimate"] <= (headline["upper"] or float("inf"))
    assert headline["estimate"] >= headline["documented"] * 0.95
    assert headline["pairwise_f1"] > 0.8
    assert set(headline["seconds"]) >= {"Importing lists", "Linking records", "Estimating (2 linkage draws)",
                                       "Writing the report"}
    assert set(headline["cpu_seconds"]) == set(headline["seconds"])
    assert headline["cpu_seconds"]["Linking records"] > 0 and headline["cpu_seconds"]["Estimating (2 linkage draws)"] > 0
    html = report.read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)
    assert html.count("data:image/svg+xml;base64,") >= 7
    case = Case.open(out / "case")
    assert sorted(case.sources()["name"]) == sorted(
        p.stem for p in (out / "data").iterdir() if p.suffix in (".csv", ".xlsx")
        and not p.stem.startswith(("truth", "incidents_", "displacement")))
    assert headline["incidents"] > 100 and headline["incident_pairwise_f1"] > 0.9
    assert headline["incident_assignment_accuracy"] > 0.85 and headline["displacement_rows"] > 50
    assert '<section id="incidents">' in html and '<section id="displacement">' in html
    assert "The ten deadliest incidents" in html
    assert case.current_run("estimate") is not None
    _report_persons_follow_the_register(case)
    _redacted_register_export(case, tmp_path / "register.csv")


@pytest.mark.slow
@pytest.mark.browser
def test_a_browser_finds_the_incidents_and_displacement_of_the_demo_report(demo_run: tuple[Path, Any],
                                                                            browser: Any) -> None:
    """The demo's own report, in Chromium: both sections listed, drawn and filled from the demo's case."""
    out, result = demo_run
    assert result.exit_code == 0, result.output
    page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
    page.goto((out / "report.html").as_uri())
    toc = page.locator("nav.toc a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert "#incidents" in toc and "#displacement" in toc
    for name, heading in (("incidents", "Incidents"), ("displacement", "Displacement")):
        section = page.locator(f"section#{name}")
        assert section.is_visible() and section.locator("h2").inner_text().startswith(heading)
        assert section.locator("p.missing").count() == 0  # not the 'nothing imported' text
        image = section.locator("figure img").first
        assert image.evaluate("img => img.complete && img.naturalWidth > 100 && img.naturalHeight > 50")
    incidents = page.locator("section#incidents")
    deadliest = incidents.locator("table").nth(2).locator("tbody tr")
    assert deadliest.count() == 10
    assert all(re.search(r"\d+ named of [\d\-a-z ]+ reported", row) for row in deadliest.all_inner_texts())
    assert re.search(r"[1-9][\d,]* named victims of the register are linked", incidents.inner_text())
    assert page.locator("section#displacement table tbody tr").count() >= 1
    page.context.close()


def _redacted_register_export(case: Case, path: Path) -> None:
    """The real register exports as HXL without names or IDs."""
    from undercount.report import export

    result = export(case, "register", fmt="hxl", redact=True, path=path)
    header, tags = path.read_text(encoding="utf-8").splitlines()[:2]
    assert "full_name" not in header and "id_number" not in header and "statuses" in header
    assert tags.split(",")[header.split(",").index("statuses")] == "#status+history"
    assert result.rows == case.clusters()["person_id"].nunique()


def _report_persons_follow_the_register(case: Case) -> None:
    """The report computes persons in SQL by the register's rule: both must agree on every field."""
    from undercount.link import build_register
    from undercount.report.data import read_persons

    persons = read_persons(case).set_index("person_id")
    register = build_register(case).set_index("person_id").loc[persons.index]
    for field in ("sex", "place", "status", "n_records"):
        assert persons[field].fillna("-").astype(str).tolist() == register[field].fillna("-").astype(str).tolist()
    assert (persons["age"].astype("Float64").fillna(-1) == register["age"].astype("Float64").fillna(-1)).all()
    never = pd.Timestamp("1900-01-01")
    assert (persons["event_date"].fillna(never) == pd.to_datetime(register["event_date"]).fillna(never)).all()
    assert persons["sources"].map(sorted).tolist() == register["sources"].map(sorted).tolist()


def test_demo_prints_path_and_headline(tmp_path: Path, monkeypatch) -> None:
    from undercount import demo

    calls = {}

    def fake_run_demo(out_dir, **kwargs):  # the pipeline itself is tested above
        calls.update(kwargs, out=out_dir)
        return demo.DemoResult(out_dir=Path(out_dir), case_dir=Path(out_dir) / "case",
                               report=Path(out_dir) / "report.html", data_dir=Path(out_dir) / "data", true_n=2000,
                               documented=1561, estimate=1885.2, lower=1800.6, upper=None, f1=0.9046,
                               precision=0.85, recall=0.97, population="killed", true_total=2100)

    monkeypatch.setattr(demo, "run_demo", fake_run_demo)
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert calls["seed"] == 5 and calls["preset"] == "small" and calls["link_draws"] is None
    assert f"Report: {(tmp_path / 'report.html').resolve()}" in result.output
    assert "Documented, killed (distinct persons on the lists): 1,561" in result.output
    assert "Estimated total, killed: 1,885 (95% interval 1,801 to no finite upper limit)" in result.output
    assert "pairwise F1 0.905" in result.output
    assert ("True number, killed (known because the case is simulated): 2,000 (of 2,100 simulated victims of "
            "every status)") in result.output
    # It ends with the next three commands: open the report, add a reviewer, serve.
    tail = result.output.rstrip().splitlines()[-4:]
    assert tail[0] == "Next:" and tail[1].strip().startswith(f"xdg-open {(tmp_path / 'report.html').resolve()}")
    assert tail[2].strip().startswith(f"undercount user add {tmp_path / 'case'} YOUR_NAME --role reviewer")
    assert tail[3].strip().startswith(f"undercount serve {tmp_path / 'case'}")


def test_demo_never_replaces_a_case_it_did_not_make(tmp_path: Path) -> None:
    """`--out` pointing at a folder whose `case/` is a real case (with review work) must not delete it."""
    from undercount.demo import _fresh_case
    from undercount.errors import StoreError

    real = Case.init(tmp_path / "case")
    with real.transaction() as con:
        con.execute("INSERT INTO uc_users VALUES ('amal', 'admin', 'x', now(), 'root')")
    with pytest.raises(StoreError, match="was not made by 'undercount demo'"):
        _fresh_case(real.path, demo_files=set())
    assert Case.open(tmp_path / "case").query("SELECT count(*) AS n FROM uc_users")["n"][0] == 1
    made = _fresh_case(tmp_path / "again", demo_files=set())  # a demo case is replaced next time
    assert _fresh_case(made.path, demo_files=set()).path == made.path
    # A demo case from before the marker: no users or decisions, only the simulator's files.
    legacy = Case.init(tmp_path / "legacy")
    assert _fresh_case(legacy.path, demo_files={"hospital.csv"}).path == legacy.path
