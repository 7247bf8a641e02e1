"""Header recognition, spec mapping and value mapping."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from undercount.errors import ConfigError, InputError
from undercount.ingest.columns import describe_headers, map_columns, map_values, recognise_header
from undercount.ingest.spec import load_spec, spec_from_dict


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("الاسم", "full_name"), ("الاسم الرباعي", "full_name"), ("الاسم الكامل", "full_name"),
        ("اسم الشهيد", "full_name"), ("Name", "full_name"), ("FULL_NAME", "full_name"),
        ("name_ar", "full_name"), ("en_name", "full_name_en"), ("English Name", "full_name_en"),
        ("رقم الهوية", "id_number"), ("الهوية", "id_number"), ("ID", "id_number"),
        ("id_number", "id_number"), ("National ID", "id_number"), ("العمر", "age"), ("Age", "age"),
        ("الجنس", "sex"), ("Gender", "sex"), ("sex", "sex"), ("تاريخ الميلاد", "date_of_birth"),
        ("DOB", "date_of_birth"), ("date-of-birth", "date_of_birth"), ("تاريخ الوفاة", "event_date"),
        ("تاريخ الاستشهاد", "event_date"), ("date_of_death", "event_date"), ("event date", "event_date"),
        ("death_date", "event_date"), ("المكان", "place"), ("المحافظة", "place"), ("Governorate", "place"),
        ("location", "place"), ("الحالة", "status"), ("Status", "status"), ("سبب الوفاة", "cause"),
        ("cause", "cause"), ("تاريخ التبليغ", "reported_date"), ("reported_date", "reported_date"),
        ("source_date", "reported_date"), ("الاسم الأول", "given"), ("اسم الأب", "father"),
        ("اسم الجد", "grandfather"), ("اسم العائلة", "family"), ("first_name", "given"),
        ("father_name", "father"), ("grandfather_name", "grandfather"), ("family_name", "family"),
        ("Last Name", "family"), ("  الإسم  ", "full_name"), ("comment", None), ("index", None),
    ],
)
def test_recognise_header(header: str, field: str | None) -> None:
    assert recognise_header(header) == field


def test_arabic_name_preferred_over_english() -> None:
    cols = map_columns(["id", "en_name", "name", "age"], None, "f.csv")
    assert cols.get("full_name") == "name" and cols.get("full_name_en") == "en_name"
    only_en = map_columns(["id", "english name"], None, "f.csv")
    assert only_en.get("full_name") == "english name"


def test_parts_without_full_name_are_enough() -> None:
    cols = map_columns(["first_name", "father_name", "family_name"], None, "f.csv")
    assert cols.get("given") == "first_name" and cols.get("full_name") is None


def test_no_name_or_id_column_lists_headers() -> None:
    with pytest.raises(InputError) as info:
        map_columns(["age", "sex", "notes"], None, "f.csv")
    assert str(info.value) == (
        "file f.csv: no name or ID column among the headers found: age, sex, notes "
        "(map one with a spec: [columns] full_name = \"...\" or id_number = \"...\")"
    )


def test_spec_maps_columns_and_names_absent_ones(tmp_path: Path) -> None:
    path = tmp_path / "spec.toml"
    path.write_text('[columns]\nfull_name = "Nom"\nid_number = "Numéro"\n', encoding="utf-8")
    spec = load_spec(path)
    cols = map_columns(["Nom", "numéro", "age"], spec, "f.csv")
    assert cols.fields == {"full_name": "Nom", "id_number": "numéro", "age": "age"}
    with pytest.raises(ConfigError) as info:
        map_columns(["Nom", "age"], spec, "f.csv")
    assert str(info.value) == (
        "spec spec.toml: column(s) not in file f.csv: id_number = 'Numéro' (headers found: Nom, age)"
    )


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"columns": {"nickname": "x"}}, "not a canonical field"),
        ({"values": {"sex": {"X": "other"}}}, "must be one of male, female"),
        ({"list": {"default_status": "dead"}}, "default_status must be one of"),
        ({"list": {"colour": 1}}, "unknown [list] key(s) colour"),
        ({"dates": {"on_error": "skip"}}, "on_error must be one of error, null"),
        ({"list": {"period_start": "2024-01-01", "period_end": "2023-01-01"}}, "is after period_end"),
        ({"extra": {}}, "unknown section(s) extra"),
        ({"dates": {"formats": ["%d/%m/%Y", "%Q"]}}, "[dates] formats: '%Q' is not a strptime format"),
        ({"dates": {"formats": ["dd/mm/yyyy"]}}, "[dates] formats: 'dd/mm/yyyy' is not a strptime format"),
        ({"dates": 3}, "[dates] must be a table"),
        ({"list": "moh"}, "[list] must be a table"),
        ({"columns": ["name"]}, "[columns] must be a table"),
        ({"values": 1}, "[values] must be a table"),
        ({"list": {"name": 5}}, "[list] name must be text"),
        ({"list": {"sheet": 2}}, "[list] sheet must be text"),
        ({"list": {"header_row": True}}, "[list] header_row must be a positive integer"),
    ],
)
def test_bad_specs(doc: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        spec_from_dict(doc)
    assert message in str(info.value)


def test_spec_not_toml(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[columns\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="spec bad.toml: not valid TOML"):
        load_spec(path)
    with pytest.raises(ConfigError, match="spec absent.toml: cannot read it"):
        load_spec(tmp_path / "absent.toml")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["ذكر", "أنثى", "انثى", "M", "F", "male", "Female", "m", "f", "ذ", "أ", "?", None],
         ["male", "female", "female", "male", "female", "male", "female", "male", "female", "male",
          "female", None, None]),
    ],
)
def test_sex_values(values: list[str | None], expected: list[str | None]) -> None:
    out = map_values(pd.Series(values, dtype="str"), "sex")
    assert [None if pd.isna(v) else v for v in out] == expected


def test_status_cause_and_spec_values() -> None:
    status = map_values(pd.Series(["شهيد", "Injured", "مفقود", "معتقل", "killed", "xyz"], dtype="str"), "status")
    assert status.tolist()[:5] == ["killed", "injured", "missing", "detained", "killed"] and pd.isna(status[5])
    cause = map_values(pd.Series(["قصف", "سوء تغذية", "مرض", "Airstrike", "unknown"], dtype="str"), "cause")
    assert cause.tolist() == ["direct_violence", "starvation", "disease", "direct_violence", "unknown"]
    sex = map_values(pd.Series(["ث", "ذكر"], dtype="str"), "sex", {"ث": "female"})
    assert sex.tolist() == ["female", "male"]


def test_headerless_file_does_not_echo_its_first_row() -> None:
    first_row = ["نادية عمر حسن البنا", "401234590", "61"]
    with pytest.raises(InputError) as info:
        map_columns(first_row, None, "f.csv")
    assert "نادية" not in str(info.value) and "401234590" not in str(info.value)
    assert ("column 1: Arabic text of 4 words, column 2: a number of 9 digits, column 3: a number of 2 digits "
            "(not shown" in str(info.value))


def test_cells_decide_which_name_column_is_arabic() -> None:
    cells = pd.DataFrame({"name": ["Samer Khalil", "Layla Samer", ""], "name_ar": ["سامر خليل", "ليلى سامر", ""],
                          "id": ["1", "2", "3"]}, dtype="str")
    cols = map_columns(list(cells.columns), None, "f.csv").prefer_arabic_name(cells)
    assert cols.get("full_name") == "name_ar" and cols.get("full_name_en") == "name"
    swapped = cells.rename(columns={"name": "en_name", "name_ar": "name"})
    cols = map_columns(list(swapped.columns), None, "f.csv").prefer_arabic_name(swapped)
    assert cols.get("full_name") == "name" and cols.get("full_name_en") == "en_name"


def test_status_and_cause_phrases_inside_longer_cells() -> None:
    cause = map_values(pd.Series(["غارة جوية على المنزل", "killed in an airstrike", "shot and starvation", "قصف"],
                                 dtype="str"), "cause")
    assert cause.tolist()[:2] == ["direct_violence", "direct_violence"] and pd.isna(cause[2])
    status = map_values(pd.Series(["شهيد - مستشفى الشفاء", "reported missing"], dtype="str"), "status")
    assert status.tolist() == ["killed", "missing"]
    sex = map_values(pd.Series(["male nurse"], dtype="str"), "sex")
    assert pd.isna(sex[0])


@pytest.mark.parametrize(
    ("headers", "shown"),
    [
        (["name", "age", "date of death"], True),
        (["الاسم الرباعي", "رقم الهوية", "تاريخ الوفاة"], True),
        (["Nom complet", "Numéro", "Sexe"], True),
        (["Unnamed: 0", "col_2", "Remarks"], True),
        (["Sami", "Odeh"], False),  # unknown words could be a name
        (["Sami Khalil Odeh Nasser", "Khan Younis"], False),  # a headerless list of names
        (["سامي خليل عودة النجار", "غزة", "ذكر"], False),
        (["Sami Khalil", "34", "M"], False),  # an age: the row is data
        (["Zzcanary Qqname", "Gaza", "male"], False),
        (["A. Odeh", "401234567", "07/10/2023"], False),
    ],
)
def test_headers_that_look_like_a_person_are_not_repeated(headers: list[str], shown: bool) -> None:
    text = describe_headers(headers)
    assert (headers[0] in text) is shown
    if not shown:
        assert text.startswith("column 1: ") and "not shown" in text
        assert not any(h in text for h in headers if len(h) > 2 and not h.isalpha() or " " in h or h.istitle())


def test_hidden_headers_are_described_by_position_and_kind() -> None:
    text = describe_headers(["Sami Odeh", "401234567", "07/10/2023", "name"])
    assert text == ("column 1: Latin text of 2 words, column 2: a number of 9 digits, column 3: a date, name "
                    "(not shown: they could be data, as in a file without a header row)")
