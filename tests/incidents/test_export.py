"""Exports of incidents and displacement: every format, HXL that libhxl validates, redaction, safe files."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pandas as pd
import pytest

from undercount.displacement import import_displacement
from undercount.errors import ConfigError
from undercount.incidents.export import export_entities
from undercount.store import Case

# Rules our HXL must keep, in libhxl's schema language, beside its built-in schema.
SCHEMA = [
    {"#valid_tag": "#date", "#valid_severity": "error", "#valid_datatype": "date"},
    {"#valid_tag": "#affected", "#valid_severity": "error", "#valid_datatype": "number", "#valid_value+min": "0"},
    {"#valid_tag": "#geo+lat", "#valid_severity": "error", "#valid_value+min": "-90", "#valid_value+max": "90"},
    {"#valid_tag": "#event+id", "#valid_severity": "error", "#valid_required": "true", "#valid_unique": "true"},
    {"#valid_tag": "#meta+grade", "#valid_severity": "error",
     "#valid_value+list": "confirmed|fair|weak|contested|discounted"},
    {"#valid_tag": "#loc+type", "#valid_severity": "error", "#valid_value+list":
     "health_facility|school|place_of_worship|shelter|water_sanitation|aid_distribution|residential|other"},
]


@pytest.fixture
def case(deduped_dir: Path, sim_dir: Path, tmp_path: Path) -> Case:
    shutil.copytree(deduped_dir, tmp_path / "case")
    case = Case.open(tmp_path / "case")
    import_displacement(case, sim_dir / "displacement.csv")
    return case


def _validate(path: Path, schema: object = None) -> dict[str, int]:
    import hxl

    report = hxl.validate(hxl.data(str(path), hxl.InputOptions(allow_local=True)), schema)
    return dict(report["stats"])


@pytest.mark.parametrize("what", ["incidents", "displacement"])
def test_hxl_exports_validate_with_libhxl(case: Case, tmp_path: Path, what: str) -> None:
    path = tmp_path / f"{what}.csv"
    result = export_entities(case, what, fmt="hxl", path=path)
    header, tags = path.read_text(encoding="utf-8").splitlines()[:2]
    assert len(header.split(",")) == len(tags.split(",")) and all(t.startswith("#") for t in tags.split(","))
    stats = _validate(path)
    assert stats["error"] == 0 and stats["warning"] == 0, stats
    if what == "incidents":
        assert {"#event+id", "#loc+name", "#date", "#affected+killed+min", "#affected+killed+max"} <= set(tags.split(","))
        schema = tmp_path / "schema.json"
        schema.write_text(json.dumps(SCHEMA), encoding="utf-8")
        import hxl

        strict = hxl.validate(hxl.data(str(path), hxl.InputOptions(allow_local=True)),
                              hxl.data(str(schema), hxl.InputOptions(allow_local=True)))
        assert strict["is_valid"], strict["issues"]
    else:
        assert "#affected+idps" in tags.split(",")
    assert result.rows == len(pd.read_csv(path, skiprows=[1]))


def test_every_format_holds_the_same_rows(case: Case, tmp_path: Path) -> None:
    tables = {}
    for fmt in ("csv", "xlsx", "json", "hxl"):
        path = tmp_path / f"i.{fmt if fmt != 'hxl' else 'hxl.csv'}"
        export_entities(case, "incidents", fmt=fmt, path=path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        if fmt == "xlsx":
            tables[fmt] = pd.read_excel(path, dtype=str)
        elif fmt == "json":
            tables[fmt] = pd.DataFrame(json.loads(path.read_text(encoding="utf-8")))
        else:
            tables[fmt] = pd.read_csv(path, skiprows=[1] if fmt == "hxl" else None, dtype=str)
    ids = {fmt: table["incident_id"].tolist() for fmt, table in tables.items()}
    assert ids["csv"] == ids["xlsx"] == ids["json"] == ids["hxl"] and len(ids["csv"]) > 50
    assert tables["csv"]["coverage"].str.fullmatch(r"\d+ named of .+ reported").all()


def test_redaction_drops_families_and_person_ids(case: Case, tmp_path: Path) -> None:
    full = export_entities(case, "incidents", path=tmp_path / "full.csv")
    redacted = export_entities(case, "incidents", redact=True, path=tmp_path / "red.csv")
    assert {"families", "person_ids"} <= set(full.columns)
    assert not {"families", "person_ids"} & set(redacted.columns) and redacted.redacted
    text = (tmp_path / "red.csv").read_text(encoding="utf-8")
    assert "عائلة" not in text and " family" not in text
    details = case.audit_log().query("action == 'export'")["detail"].map(json.loads)
    assert [d["redacted"] for d in details][:2] == [True, False]


def test_hxl_leaves_families_out_unless_personal_data_is_asked_for(case: Case, tmp_path: Path) -> None:
    """HXL is for sharing: as the register's HXL drops names, the incidents' drops families and person ids."""
    shared = export_entities(case, "incidents", fmt="hxl", path=tmp_path / "shared.csv")
    personal = export_entities(case, "incidents", fmt="hxl", personal_data=True, path=tmp_path / "personal.csv")
    assert shared.redacted and not {"families", "person_ids"} & set(shared.columns)
    assert not personal.redacted and {"families", "person_ids"} <= set(personal.columns)
    assert "#group+family" in (tmp_path / "personal.csv").read_text(encoding="utf-8").splitlines()[1]
    with pytest.raises(ConfigError, match="not both"):
        export_entities(case, "incidents", fmt="hxl", redact=True, personal_data=True, path=tmp_path / "refused.csv")
    with pytest.raises(ConfigError, match="ask for personal data"):
        export_entities(case, "incidents", fmt="hxl", redact=False, path=tmp_path / "refused.csv")
    assert not (tmp_path / "refused.csv").exists()


def test_formulas_are_made_inert(empty_case: Case, tmp_path: Path) -> None:
    from undercount.incidents import dedupe_incidents, import_incidents

    data = tmp_path / "f.csv"
    data.write_text("date,place,killed,source\n2023-10-01,Gaza,3,=HYPERLINK(\"http://x\")\n", encoding="utf-8")
    import_incidents(empty_case, data)
    dedupe_incidents(empty_case)
    export_entities(empty_case, "incidents", fmt="csv", path=tmp_path / "out.csv")
    row = pd.read_csv(tmp_path / "out.csv", dtype=str).iloc[0]
    assert row["sources"].startswith("'=")
