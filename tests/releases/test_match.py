"""Matching two releases from scored pairs, without a linkage model: one to one, duplicates,
reassigned IDs, the changed fields and their classes."""

from __future__ import annotations

import pandas as pd

from undercount.releases.match import _id_typo, classify_pairs, match_releases


def _recs() -> tuple[pd.DataFrame, pd.Series]:
    rows = [  # record_id, side, full_name, name_norm, id, status, age
        (1, "from", "احمد علي", "احمد علي", "111111118", "killed", 30),
        (2, "from", "احمد عل", "احمد عل", "111111118", "killed", 30),     # a copy of 1, mistyped
        (3, "from", "سارة محمد", "ساره محمد", "222222226", "missing", 20),
        (4, "from", "خالد عمر", "خالد عمر", "333333334", "killed", 50),   # removed; its ID goes to 9
        (5, "from", "منى حسن", "مني حسن", "444444442", "killed", 40),
        (6, "to", "احمد علي", "احمد علي", "111111118", "killed", 30),
        (7, "to", "ساره محمد", "ساره محمد", "222222226", "killed", 20),   # respelt and moved to killed
        (8, "to", "منى حسن", "مني حسن", "555555557", "killed", 41),      # new ID (and age)
        (9, "to", "يوسف سالم", "يوسف سالم", "333333334", "killed", 9),
        (10, "to", "ليلى سعيد", "ليلي سعيد", None, "killed", 5),         # added
    ]
    recs = pd.DataFrame(rows, columns=["record_id", "side", "full_name", "name_norm", "id_number", "status", "age"])
    recs["id_valid"] = recs["id_number"].notna()
    side = recs.set_index("record_id")["side"]
    return recs.drop(columns="side").set_index("record_id"), side


def test_every_record_gets_one_class_and_the_copy_is_the_duplicate() -> None:
    recs, side = _recs()
    pairs = pd.DataFrame([  # the copy scores a little higher than the original: weight noise
        (1, 6, 30.0, 1.0), (2, 6, 31.0, 1.0), (1, 2, 25.0, 1.0), (3, 7, 28.0, 1.0), (5, 8, 18.0, 0.99),
    ], columns=["record_id_l", "record_id_r", "match_weight", "probability"])
    rows = classify_pairs(match_releases(recs, side, pairs, threshold=0.5).frame, recs)
    cls = {(None if pd.isna(a) else int(a), None if pd.isna(b) else int(b)): c
           for a, b, c in zip(rows["record_from"], rows["record_to"], rows["class"])}
    assert cls == {(1, 6): "unchanged", (2, None): "duplicate_resolved", (3, 7): "status_moved",
                   (5, 8): "reappeared_new_id", (4, 9): "id_reassigned", (None, 10): "added"}
    moved = rows[rows["class"] == "status_moved"].iloc[0]
    assert set(moved["fields"]) == {"name", "status"} and bool(moved["spelling_only"])


def test_an_id_typo_is_a_correction_not_a_new_id() -> None:
    assert _id_typo("123456789", "123456780")       # one digit
    assert _id_typo("123456789", "123456798")       # two neighbours swapped
    assert _id_typo("012345678", "12345678")        # zero padding
    assert not _id_typo("123456789", "987654321")
    assert not _id_typo("123456789", "123456700")   # two digits apart
