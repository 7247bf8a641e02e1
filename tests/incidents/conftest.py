"""Fixtures of the incident tests: a simulated case with incidents, and small files written by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from undercount.store import Case

HEADER = "incident id,date,location,governorate,type,weapon,killed,injured,suspected actor,source,source type,url\n"
ROWS = [
    "AW-1,2023-10-17,Jabalia camp,North Gaza,residential,airstrike,15-20,30,Armed forces A,Airwars,casualty recorder,https://a/1",
    "AW-2,2023-10,مخيم النصيرات,,مدرسة إيواء,قصف,12,unknown,,Airwars,recorder,",
    "AW-3,17/10/2023,Khan Yunis,,hospital,shelling,at least 4,,,Al Jazeera,press,https://b/3",
]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


@pytest.fixture
def reports_csv(tmp_path: Path) -> Path:
    """Three incident reports: a range, a month, Arabic cells, a day in d/m/Y, an open-ended count."""
    return write(tmp_path / "airwars.csv", HEADER + "\n".join(ROWS) + "\n")


def snapshot(case: Case) -> tuple[Any, ...]:
    """Row counts of every table an import writes, and the files kept in sources/."""
    tables = ("uc_entity_files", "uc_incident_reports", "uc_displacement", "uc_runs", "uc_audit", "uc_records")
    with case.connect(read_only=True) as con:
        names = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        counts = tuple(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] if t in names else None
                       for t in tables)
    return (*counts, sorted(p.name for p in case.sources_dir.iterdir() if not p.name.startswith(".")))


@pytest.fixture(scope="session")
def sim_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated case with incidents (2,000 people), written once."""
    from undercount.simulate import simulate

    out = tmp_path_factory.mktemp("incidents") / "data"
    simulate(out, preset="small", seed=5, incidents=True)
    return out


@pytest.fixture(scope="session")
def deduped_dir(sim_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A case holding every incident file of the simulated case, deduplicated once."""
    from undercount.incidents import dedupe_incidents, import_incidents

    case = Case.init(tmp_path_factory.mktemp("deduped") / "case")
    manifest = json.loads((sim_dir / "manifest.json").read_text(encoding="utf-8"))
    for name, item in manifest["incidents"]["sources"].items():
        import_incidents(case, sim_dir / item["file"], name=f"incidents_{name}")
    dedupe_incidents(case)
    return case.path
