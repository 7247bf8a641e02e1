"""Comparison levels have stable ids and role flags; the model's logic asks for roles and ids,
never for the labels reviewers read (which may be reworded or translated)."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd

from undercount.link.comparisons import LevelRole, default_comparisons, field_comparison, level_gammas, level_ids
from undercount.link.model import M_FLOOR, NAME_M_FLOOR, SHIFT_M_FLOOR, floor_of, women_share

LINK = Path(__file__).resolve().parents[2] / "src" / "undercount" / "link"


def test_ids_and_labels_are_unique_within_each_comparison() -> None:
    for spec in (*default_comparisons(), field_comparison("postcode", "f_postcode", "numeric", (1, 5))):
        ids, labels = [lv.id for lv in spec.levels], [lv.label for lv in spec.levels]
        assert len(set(ids)) == len(ids), spec.name
        assert len(set(labels)) == len(labels), spec.name


def test_the_ids_are_stable() -> None:  # stored results and code key on them: change one on purpose only
    ids = {name: [i for g, i in sorted(levels.items(), reverse=True)] for name, levels in level_ids().items()}
    assert ids["family"] == ["exact", "spelled", "sound", "respelled", "close", "similar", "near_spelling", "moved_up", "next_slot",
                             "elsewhere", "women", "unknown_spelling", "different", "missing"]
    assert ids["given"] == ["exact", "spelled", "sound", "respelled", "close", "similar", "near_spelling", "initial", "unknown_spelling",
                            "different", "missing"]
    assert ids["age"] == ["same", "within_2", "within_5", "different", "missing"]
    assert ids["id_number"] == ["same_valid", "same_invalid", "different", "missing"]
    assert ids["event_date"] == ["same_day", "within_3", "within_14", "different", "missing"]


def test_roles_mark_what_the_logic_needs() -> None:
    def ids_with(part: str, role: LevelRole) -> set[str]:
        return {level_ids()[part][g] for g in level_gammas(part, role=role)}

    assert ids_with("given", LevelRole.CROSS_SCRIPT) == {"spelled", "sound", "near_spelling", "unknown_spelling"}
    assert ids_with("father", LevelRole.AGREES) == {"exact", "spelled", "sound", "respelled"}
    assert ids_with("family", LevelRole.SLOT) == {"moved_up", "next_slot", "elsewhere"}
    assert ids_with("family", LevelRole.DIFFERENT) == {"women", "different"}
    assert level_gammas("age", ids=("same", "within_2")) == [3, 2]
    assert level_gammas("no such comparison", role=LevelRole.AGREES) == []


def test_floors_follow_the_roles() -> None:
    assert floor_of("family", {"label_for_charts": "found in another name slot"}) == SHIFT_M_FLOOR
    assert floor_of("family", {"label_for_charts": "different, both women"}) == NAME_M_FLOOR
    assert floor_of("given", {"label_for_charts": "different", "sql_condition": "ELSE"}) == NAME_M_FLOOR
    assert floor_of("age", {"label_for_charts": "different", "sql_condition": "ELSE"}) == M_FLOOR
    assert floor_of("postcode", {"label_for_charts": "different"}) == M_FLOOR


def test_the_women_level_s_floor_is_a_share_of_the_matches_of_two_women() -> None:
    # its u counts pairs of two women among all pairs of different people, so its m (a floor of
    # 0.01 of the matches of two women) is a share of all matches too: 0.01 x the women's share
    table = pd.DataFrame({"sex": ["female", "male", "male", "female", None, "male", "male", "male"]})
    assert women_share(table) == 0.25
    assert floor_of("family", {"label_for_charts": "different, both women"}, women=women_share(table)) == NAME_M_FLOOR * 0.25
    assert floor_of("family", {"label_for_charts": "different", "sql_condition": "ELSE"}, women=0.25) == NAME_M_FLOOR
    assert floor_of("family", {"label_for_charts": "found in another name slot"}, women=0.25) == SHIFT_M_FLOOR
    assert women_share(pd.DataFrame({"sex": [None, "male"]})) == women_share(None) == 1.0  # no women: as before


def test_no_link_module_but_comparisons_names_a_level_label_constant() -> None:
    found = []
    for path in sorted(LINK.rglob("*.py")):
        if path.name == "comparisons.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "undercount.link.comparisons":
                found += [f"{path.name}: {a.name}" for a in node.names if a.name.endswith(("_LABEL", "_LABELS"))]
    assert found == [], f"logic keyed on display labels: {found}"
