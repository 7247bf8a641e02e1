"""``simulate`` with incidents: victims die in incidents, sources report them, the truth is kept."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from undercount.simulate import simulate


def test_without_incidents_nothing_changes(tmp_path: Path) -> None:
    result = simulate(tmp_path / "plain", preset="small", people=300, seed=2)
    assert not result.incident_files and "incidents" not in result.manifest
    assert not list((tmp_path / "plain").glob("incidents_*")) and "incident_id" not in result.population


def test_the_truth_holds_together(sim_dir: Path) -> None:
    manifest = json.loads((sim_dir / "manifest.json").read_text(encoding="utf-8"))["incidents"]
    incidents = pd.read_csv(sim_dir / "truth_incidents.csv", dtype={"incident_id": str})
    population = pd.read_csv(sim_dir / "truth_population.csv", dtype=str, keep_default_na=False)
    reports = pd.read_csv(sim_dir / "truth_incident_reports.csv")
    assert manifest["incidents"] == len(incidents) and manifest["reported_incidents"] == reports["incident_id"].nunique()
    assert set(reports["incident_id"]) <= set(incidents["incident_id"])
    victims = population[population["incident_id"] != ""]
    assert len(victims) == manifest["victims_in_incidents"] and len(victims) == incidents["victims"].sum()
    dates = incidents.set_index("incident_id")["date"]
    assert (victims["event_date"] == victims["incident_id"].map(dates)).all()
    assert (victims["place"] == victims["incident_id"].map(incidents.set_index("incident_id")["adm1"])).all()
    killed = victims[victims["status"] == "killed"].groupby("incident_id").size()
    assert (killed == incidents.set_index("incident_id")["killed"].reindex(killed.index)).all()
    assert {"residential", "shelter"} <= set(incidents["object_type"])
    for name, item in manifest["sources"].items():
        assert (sim_dir / item["file"]).is_file()
        assert (reports["file"] == f"incidents_{name}").sum() == item["rows"]


def test_the_same_seed_writes_the_same_files(tmp_path: Path) -> None:
    first = simulate(tmp_path / "a", preset="small", people=400, seed=9, incidents=True)
    second = simulate(tmp_path / "b", preset="small", people=400, seed=9, incidents=True)
    names = sorted(p.name for p in first.out_dir.iterdir())
    assert names == sorted(p.name for p in second.out_dir.iterdir()) and "displacement.csv" in names
    for name in names:
        assert (first.out_dir / name).read_bytes() == (second.out_dir / name).read_bytes(), name


def test_victim_lists_name_localities_and_incident_codes(sim_dir: Path) -> None:
    social = pd.read_csv(sim_dir / "social.csv", dtype=str, keep_default_na=False)
    codes = pd.read_csv(sim_dir / "truth_incident_codes.csv", dtype=str)
    used = set(social["incident"]) - {""}
    assert used and used <= set(codes.loc[codes["source"] == "airwars", "code"])
    from undercount.incidents.places import LOCALITIES

    assert social["governorate"].isin(list(LOCALITIES)).any()


def test_a_strike_holds_only_those_it_harmed(sim_dir: Path) -> None:
    """Victims of an incident died by violence; a household's detained members keep their own day."""
    population = pd.read_csv(sim_dir / "truth_population.csv", dtype=str, keep_default_na=False)
    victims = population[population["incident_id"] != ""]
    assert set(victims["status"]) <= {"killed", "injured", "missing"}
    assert set(victims.loc[victims["status"] == "killed", "cause"]) == {"direct_violence"}
    struck_day = victims.groupby("household_id")["event_date"].first()
    apart = population[(population["incident_id"] == "") & population["household_id"].isin(struck_day.index)
                       & ((population["status"] == "detained") | population["cause"].isin(["starvation", "disease"]))]
    assert len(apart) >= 5
    same_day = (apart["event_date"] == apart["household_id"].map(struck_day)).mean()
    assert same_day < 0.2
    ages = (pd.to_datetime(apart["event_date"]) - pd.to_datetime(apart["date_of_birth"])).dt.days / 365.25
    assert ((ages.astype(int) - apart["age"].astype(int)).abs() <= 1).all()


def test_sources_disagree_on_the_weapon(sim_dir: Path) -> None:
    """Some reports name another weapon than the one used, some none (weapon_other, weapon_missing: 10% each here)."""
    truth = pd.read_csv(sim_dir / "truth_incident_reports.csv", dtype={"incident_id": str})
    weapons = pd.read_csv(sim_dir / "truth_incidents.csv", dtype=str).set_index("incident_id")["weapon"]
    reports = pd.read_csv(sim_dir / "incidents_airwars.csv", dtype=str, keep_default_na=False)
    used = truth[truth["file"] == "incidents_airwars"].sort_values("row")["incident_id"].map(weapons).to_numpy()
    named = reports["weapon"].to_numpy()
    missing, other = (named == "").mean(), ((named != "") & (named != used)).mean()
    assert len(named) > 100 and 0.03 < missing < 0.2 and 0.03 < other < 0.2, (missing, other)
