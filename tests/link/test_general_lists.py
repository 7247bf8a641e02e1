"""Lists outside the Arabic four-part convention: two-part Latin names, part columns, extra fields."""

from __future__ import annotations

from pathlib import Path

from undercount.ingest import import_list
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
