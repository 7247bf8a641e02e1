"""The corrections to Splink's independence assumption, the dictionary spellings across scripts,
the capped blocks on two name parts, and linking with blocking forced on a small case."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from undercount.link import evaluate_links, link_case
from undercount.link.blocking import KEYS_COLUMN, candidate_pairs_sql, default_blocking_rules, key_families, rare_keys
from undercount.link.comparisons import level_labels
from undercount.link.lineage import (
    LIST_OFFSETS_KEY,
    OFFSETS_KEY,
    LineageRates,
    corrections,
    lineage_offsets,
    lineage_offsets_by_lists,
    m_lookup,
    measure_rates,
)
from undercount.link.model import LinkOptions, compare_all, settings_dict
from undercount.link.prepare import prepare_records
from undercount.names import normalise_name

from .conftest import make_case, persons_of

PARTS = ("given", "father", "grandfather", "family")


def _records(rows: list[tuple[str, str, str, str, str, int, str]]) -> pd.DataFrame:
    """Case-like records from (given, father, grandfather, family, sex, age, script) tuples."""
    frame = pd.DataFrame(rows, columns=[*PARTS, "sex", "age", "script"])
    for part in PARTS:  # parts are stored normalised, as ingest writes them
        frame[part] = frame[part].map(lambda v: "".join(normalise_name(v).split()))
    frame.insert(0, "record_id", range(1, len(frame) + 1))
    frame["source"] = "a"
    frame["name_key"] = None
    frame["id_number"] = None
    frame["id_valid"] = False
    frame["date_of_birth"] = None
    frame["event_date"] = None
    frame["place"] = None
    return frame


def _gamma(part: str, label: str) -> int:
    return next(g for g, lab in level_labels()[part].items() if lab == label)


def test_latin_spellings_map_to_the_arabic_name_they_write() -> None:
    prepared = prepare_records(_records([
        ("محمد", "أحمد", "علي", "النجار", "male", 30, "arabic"),
        ("محمود", "أحمد", "علي", "النجار", "male", 25, "arabic"),
        ("Mohammed", "Ahmed", "Ali", "Al-Najjar", "male", 30, "latin"),
        ("Mahmoud", "Ahmed", "Ali", "Al-Najjar", "male", 25, "latin"),
        ("Muhamnad", "Ahmed", "Ali", "Al-Najjar", "male", 30, "latin"),  # a typing error
    ])).set_index("unique_id")
    # محمد and محمود share a consonant key, but each English spelling finds its own name
    assert prepared.loc[1, "given_key"] == prepared.loc[2, "given_key"]
    assert prepared.loc[3, "given_ar"] == prepared.loc[1, "given_ar"]
    assert prepared.loc[4, "given_ar"] == prepared.loc[2, "given_ar"]
    assert prepared.loc[3, "given_ar"] != prepared.loc[4, "given_ar"]
    assert prepared.loc[5, "given_ar"] == prepared.loc[1, "given_ar"]


def _family_keys(prepared: pd.DataFrame, name: str) -> list[set[str]]:
    family = tuple(f for f in key_families() if f.name == name)
    return [set(k) for k in rare_keys(prepared, family)[0]]


def test_rare_keys_pair_records_sharing_two_parts_in_any_slots_and_cap_blocks() -> None:
    rows = [
        ("سامي", "خليل", "يوسف", "عاشور", "male", 40, "arabic"),
        ("سامي", "يوسف", "رامي", "عاشور", "male", 40, "arabic"),  # sami + ashour, other slots damaged
        ("سامي", "خليل", "يوسف", "عاشور", "male", 41, "arabic"),  # another age: no shared age key
    ]
    prepared = prepare_records(_records(rows))
    keys = _family_keys(prepared, "two name parts in any slots, age, sex")
    assert keys[0] & keys[1]
    assert not keys[2] & (keys[0] | keys[1])
    # without the age, records sharing two names in any order are still compared
    names = _family_keys(prepared, "two name tokens in any order")
    assert _shared(names) == {(0, 1), (0, 2), (1, 2)}  # ages within 3 years: each pair keyed on its own
    crowd = prepare_records(_records([("محمد", "أحمد", "علي", "النجار", "male", 30, "arabic")] * 40))
    family = tuple(f for f in key_families() if f.name == "two name parts in any slots, age, sex")
    capped, report = rare_keys(crowd, tuple(replace(f, cap=30) for f in family))
    assert all(k == [] for k in capped)  # a block of 40 is left to the other rules, and counted
    assert report.dropped["two name parts in any slots, age, sex"] == {"blocks": 6, "records": 40, "pairs": 6 * 780}
    assert crowd.attrs["blocking"]["dropped"]["two name tokens in any order"]["records"] == 40
    assert "a name token, date of birth" in crowd.attrs["blocking"]["skipped"]  # no date of birth in these lists


def _shared(keys: list[set[str]]) -> set[tuple[int, int]]:
    """Row pairs (i < j) that share a key."""
    return {(i, j) for i in range(len(keys)) for j in range(i + 1, len(keys)) if keys[i] & keys[j]}


def test_two_common_tokens_with_the_sex_keep_blocks_one_sex_holds() -> None:
    given = ["سامي", "رامي", "هاني", "فادي", "نادر", "زياد", "وليد", "طارق", "خالد", "ماجد", "باسم", "عادل"]
    family = ["عاشور", "النجار", "الحلو", "شحادة", "حمدان"]
    men = [(g, "محمد", "أحمد", f, "male", 30, "arabic") for g in given for f in family[:2]][:18]  # 18 men
    women = [(g + "ة", "محمد", "أحمد", f, "female", 30, "arabic") for g in given for f in family[2:5]][:34]  # 34 women
    prepared = prepare_records(_records(men + women))
    # 52 records share the tokens of father and grandfather: over the cap of 20 without the sex
    plain = _family_keys(prepared, "two name tokens in any order")
    both = prepared["father_key"].iloc[0] + " " + prepared["grandfather_key"].iloc[0]
    pair = "n2:" + " ".join(sorted(both.split()))
    assert not any(pair in k for k in plain)
    by_sex = _shared(_family_keys(prepared, "two name tokens in any order, sex"))
    assert {(i, j) for i in range(18) for j in range(i + 1, 18)} <= by_sex  # 18 men: within the cap of 20
    assert (18, 22) not in by_sex  # 34 women share only those two tokens: over it
    assert prepared.attrs["blocking"]["dropped"]["two name tokens in any order, sex"]["records"] == 34


def test_the_sex_family_splits_only_dropped_blocks_and_compares_pairs_an_age_does_not_tell_apart() -> None:
    given = ["سامي", "رامي", "هاني", "فادي", "نادر", "زياد", "وليد", "طارق", "خالد", "ماجد", "باسم", "عادل"]
    ages: list[int | None] = [20, 21, 24, 30, 45, 60, None, None, 50, 51, 70, 9]
    families = ["عاشور", "النجار", "شحادة", "حمدان", "المصري", "الشوا", "عياد", "البنا", "الكرد", "السقا", "حجازي", "دياب"]
    men = [(g, "محمد", "أحمد", f, "male", a, "arabic") for g, f, a in zip(given, families, ages)]  # 12 share two tokens
    women = [(g + "ة", "محمد", "أحمد", "الحلو", "female", 30, "arabic") for g in given * 2]  # 24: over the cap
    prepared = prepare_records(_records(men + women))
    report = prepared.attrs["blocking"]
    pairs = _shared([set(k) for k in prepared[KEYS_COLUMN]])
    for i, j in ((0, 1), (1, 2), (0, 2), (8, 9), (6, 7), (6, 10), (7, 11)):  # ages within 5 years, or one missing
        assert (i, j) in pairs
    for i, j in ((0, 4), (3, 10), (5, 11), (1, 3)):  # both ages known, far apart: left to the other rules, counted
        assert (i, j) not in pairs, (ages[i], ages[j])
    assert report["held_back"]["two name tokens in any order, sex"] >= 3
    # a block the plain family kept is not split again: every pair there is compared already
    few = prepare_records(_records(men[:6]))
    assert not any(k.startswith("n2s:") for keys in few[KEYS_COLUMN] for k in keys)


def test_two_common_tokens_meet_by_the_start_of_a_third_when_both_families_drop_their_block() -> None:
    given = ["سامي", "رامي", "هاني", "فادي", "زياد", "وليد", "طارق", "خالد", "ماجد", "باسم", "عادل"]
    crowd = [(g, "محمد", "أحمد", f, "male", 30, "arabic") for g in given for f in ("عاشور", "شحادة")]  # 22 men
    pair = [("سامي", "محمد", "أحمد", "النجار", "male", 30, "arabic"), ("رامي", "محمد", "أحمد", "النجدي", "male", 30, "arabic")]
    prepared = prepare_records(_records(crowd + pair))
    # 24 men share the two tokens: over the caps of the plain and the sex family; the family names differ
    dropped = prepared.attrs["blocking"]["dropped"]
    assert {"two name tokens in any order", "two name tokens in any order, sex"} <= dropped.keys()
    third = [{k for k in keys if k.startswith("n2t:")} for keys in prepared[KEYS_COLUMN]]
    a, b = len(crowd), len(crowd) + 1
    assert third[a] & third[b]  # the same two tokens and a family name starting alike
    assert not third[a] & third[2]  # a man of the crowd named otherwise (رامي عاشور)
    few = prepare_records(_records(pair))  # the plain family keeps the block: nothing to split
    assert not any(k.startswith("n2t:") for keys in few[KEYS_COLUMN] for k in keys)


def test_two_common_tokens_meet_across_scripts_by_a_third_one_letter_off() -> None:
    given = ["سامي", "رامي", "هاني", "فادي", "زياد", "وليد", "طارق", "خالد", "ماجد", "باسم", "عادل"]
    crowd = [(g, "محمد", "أحمد", f, "male", 30, "arabic") for g in given for f in ("عاشور", "شحادة")]  # 22 men
    pair = [
        ("سامي", "محمد", "أحمد", "النجار", "male", None, "arabic"),
        ("Hatem", "Mohammed", "Ahmed", "Bajjar", "male", None, "latin"),  # the family name's first letter off, no age
        ("نادر", "محمد", "أحمد", "البجار", "male", None, "arabic"),
    ]
    prepared = prepare_records(_records(crowd + pair))
    assert "two name tokens in any order" in prepared.attrs["blocking"]["dropped"]
    shared = _shared([set(k) for k in prepared[KEYS_COLUMN]])
    a, b, c = len(crowd), len(crowd) + 1, len(crowd) + 2
    assert (a, b) in shared  # the two common tokens, and family keys one letter apart (not at their start)
    assert (a, c) not in shared  # the same within one script: left to the rules and families for one script
    assert not any((i, b) in shared for i in range(len(crowd)))  # the crowd's family names are further off


def test_two_common_tokens_meet_across_scripts_as_given_and_father_names_in_their_places() -> None:
    given = ["سامي", "رامي", "هاني", "فادي", "زياد", "وليد", "طارق", "خالد", "ماجد", "باسم", "عادل"]
    crowd = [(g, "محمد", "أحمد", f, "male", 30, "arabic") for g in given for f in ("عاشور", "شحادة")]  # 22 men: محمد أحمد
    pair = [
        ("محمد", "أحمد", "سالم", "النجار", "male", None, "arabic"),
        ("Mohammed", "Ahmed", "Khalil", "Darwish", "male", None, "latin"),  # the two in the same places, the rest far, no age
        ("محمد", "أحمد", "يوسف", "الحلو", "male", None, "arabic"),
        ("Ahmed", "Mohammed", "Khalil", "Darwish", "male", None, "latin"),  # the two in other places
        ("Mohammed", "Ahmed", "Khalil", "Darwish", "female", None, "latin"),  # the two in place, the sexes differ
    ]
    prepared = prepare_records(_records(crowd + pair))
    assert "two name tokens in any order" in prepared.attrs["blocking"]["dropped"]
    shared = _shared([{k for k in keys if k.startswith("gf:")} for keys in prepared[KEYS_COLUMN]])
    a, b, c, d, e = range(len(crowd), len(crowd) + 5)
    assert (a, b) in shared and (b, c) in shared
    assert (a, c) not in shared  # one script: left to the rules and families for one script
    assert not any(d in pair_ for pair_ in shared) and not any(e in pair_ for pair_ in shared)
    few = prepare_records(_records(pair[:2]))  # the plain family keeps the block: nothing to split
    assert not any(k.startswith("gf:") for keys in few[KEYS_COLUMN] for k in keys)


def test_one_shared_name_and_another_a_letter_off_meet_across_scripts_when_few_records_hold_them() -> None:
    family = "a name token and another within one letter, across scripts"
    arabic = ("سامي", "ناصر", "محمود", "النجار", "male", None, "arabic")
    english = ("Sami", "Nader", "Hamdan", "Khalaf", "male", None, "latin")  # one name exact, one a letter off, no age
    same_script = ("سامي", "نادر", "حسن", "عاشور", "male", None, "arabic")
    prepared = prepare_records(_records([arabic, english, same_script]))
    shared = _shared([{k for k in keys if k.startswith("n1d:")} for keys in prepared[KEYS_COLUMN]])
    assert (0, 1) in shared
    assert (0, 2) not in shared  # one script: left to the rules and families for one script
    assert family not in prepared.attrs["blocking"]["dropped"]
    woman = ("Samia", "Nader", "Yousef", "Darwish", "female", None, "latin")
    apart = prepare_records(_records([arabic, woman]))
    assert not any(k.startswith("n1d:") for keys in apart[KEYS_COLUMN] for k in keys)  # the sexes differ
    assert apart.attrs["blocking"]["held_back"][family] >= 1  # and the pair is counted
    fourth = ("سامي", "نصر", "إبراهيم", "الحلو", "male", None, "arabic")  # a fourth record holding one of the keys
    crowded = prepare_records(_records([arabic, english, same_script, fourth]))
    assert crowded.attrs["blocking"]["capped"][family]["blocks"] >= 1  # over the cap: left out on purpose, and counted
    assert family not in crowded.attrs["blocking"]["dropped"]


def test_link_tells_blocks_a_cap_dropped_apart_from_a_family_capped_on_purpose() -> None:
    from undercount.cli.link import blocking_lines

    family = "a name token and another within one letter, across scripts"
    given = ["سامي", "رامي", "هاني", "فادي", "زياد", "وليد", "طارق", "خالد", "ماجد", "باسم", "عادل"]
    crowd = [(g, "محمد", "أحمد", f, "male", 30, "arabic") for g in given for f in ("عاشور", "شحادة")]  # 22 men
    report = prepare_records(_records(crowd)).attrs["blocking"]
    assert report["dropped"]["two name tokens in any order"]["records"] == 22  # a cap of 20: dropped
    assert family not in report["dropped"]  # محمد with أحمد a letter off, held by 22: over a cap of 3 by design
    assert report["capped"][family]["cap"] == 3 and report["capped"][family]["blocks"] >= 1
    lines = blocking_lines(report)
    on_purpose = [line for line in lines if f"'{family}'" in line]
    assert sum("capped on purpose" in line for line in on_purpose) == 1 and not any("dropped" in line for line in on_purpose)
    plain = next(line for line in lines if "'two name tokens in any order'" in line)
    assert "dropped 1 block(s)" in plain and "never compared" in plain and "on purpose" not in plain


def test_candidate_pairs_sql_explodes_list_rules() -> None:
    import duckdb

    rule = next(r for r in default_blocking_rules() if r.explode)
    assert rule.equal == (KEYS_COLUMN,)
    table = pd.DataFrame({"unique_id": [1, 2, 3], rule.equal[0]: [["x", "y"], ["y"], ["z"]]})
    con = duckdb.connect()
    con.register("t", table)
    assert con.execute(candidate_pairs_sql(rule, "t")).fetchall() == [(1, 2)]


def test_small_cases_compare_every_pair() -> None:
    options = LinkOptions()
    assert compare_all(1_000, options) and not compare_all(100_000, options)
    rules = settings_dict("duckdb", options=options, n_records=1_000)["blocking_rules_to_generate_predictions"]
    assert rules == [{"blocking_rule": "1=1"}]


def _settings(m: float = 0.5) -> dict[str, object]:
    base = settings_dict("duckdb", options=LinkOptions())
    for comparison in base["comparisons"]:  # type: ignore[attr-defined]
        for level in comparison["comparison_levels"]:
            level["m_probability"] = m
    return base


def test_m_lookup_numbers_levels_like_splink() -> None:
    lookup = m_lookup(_settings(0.25))
    assert set(lookup["given"]) == set(level_labels()["given"]) - {-1}
    assert all(v == 0.25 for v in lookup["given"].values())


def _family_frame(size: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``size`` brothers of one lineage, and one scored pair (records 1 and 2) agreeing exactly
    on father, grandfather and family with naive weights of 5 bits each."""
    given = ["سامي", "رامي", "هاني", "فادي", "نادر", "زياد", "وليد", "طارق"][:size]
    prepared = prepare_records(_records([(g, "خليل", "يوسف", "عاشور", "male", 20 + 7 * i, "arabic") for i, g in enumerate(given)]))
    scored = pd.DataFrame({"unique_id_l": [1], "unique_id_r": [2]})
    for part in PARTS:
        scored[f"gamma_{part}"] = _gamma(part, "exact") if part != "given" else _gamma(part, "different")
        scored[f"mw_{part}"] = 5.0 if part != "given" else -6.0
    scored["gamma_age"] = _gamma("age", "different")
    scored["mw_age"] = -3.0
    return prepared, scored


def test_a_familys_shared_names_count_once_and_never_add() -> None:
    prepared, scored = _family_frame(4)
    bits = corrections(prepared, scored, _settings(0.5), LineageRates())
    n, c = 4.0, 4.0  # four records share the three keys
    joint = 3 * np.log2(0.5) - np.log2(c / n)
    assert bits["lineage"][0] == pytest.approx(min(joint - 15.0, 0.0))
    assert bits["lineage"][0] < 0


def test_within_family_rates_tell_siblings_apart() -> None:
    prepared, _ = _family_frame(8)
    rates = measure_rates(prepared)
    # brothers far apart in age never share a given name: the rate is at its floor
    assert rates.given_rate["exact"] == pytest.approx(0.002)
    assert rates.pairs["ages_apart"] >= 20
    assert rates.cross_share is None  # no near-certain matches to measure it on


def test_blocking_alone_still_links_the_named_persons(tmp_path: Path) -> None:
    case = make_case(tmp_path)
    link_case(case, options=LinkOptions(compare_all_below=0))
    truth = tmp_path / "lists" / "truth.csv"
    frame = persons_of(case, truth)
    for person in ("cross", "dropped"):
        assert frame.loc[frame["true_person"] == person, "person_id"].nunique() == 1
    sibs = [set(frame.loc[frame["true_person"] == f"sib-{i}", "person_id"]) for i in range(3)]
    assert len(set.union(*sibs)) == 3
    assert evaluate_links(case, truth).pairwise_f1 >= 0.97


def test_an_unusual_romanisation_is_learnt_from_records_anchored_on_three_names() -> None:
    # "Oualidou" (a francophone spelling of وليد the dictionary never gives) is the grandfather of
    # two English records whose other three names, sex and age pin one Arabic record each.
    rows = [
        ("سامي", "خليل", "وليد", "عاشور", "male", 30, "arabic"),
        ("رامي", "يوسف", "وليد", "حمدان", "male", 41, "arabic"),
        ("هاني", "عادل", "خالد", "منصور", "male", 25, "arabic"),
        ("Sami", "Khalil", "Oualidou", "Ashour", "male", 30, "latin"),
        ("Rami", "Yousef", "Oualidou", "Hamdan", "male", 41, "latin"),
        ("Hani", "Adel", "Oualidou", "Mansour", "male", 25, "latin"),  # a different grandfather: outvoted
    ]
    prepared = prepare_records(_records(rows)).set_index("unique_id")
    assert prepared.loc[4, "grandfather_ar"] == prepared.loc[1, "grandfather"]
    assert prepared.loc[4, "grandfather_key"] == prepared.loc[1, "grandfather_key"]
    single = prepare_records(_records(rows[:4])).set_index("unique_id")  # one pairing is not enough
    assert pd.isna(single.loc[4, "grandfather_ar"])


def test_lineage_offsets_take_the_pairs_own_records_out_of_the_name_count() -> None:
    # ten families of three brothers, each brother on two lists: six records per lineage
    keys = pd.DataFrame([(f"f{k}", f"g{k}", f"l{k}") for k in range(10) for _ in range(6)],
                        columns=["father_key", "grandfather_key", "family_key"])
    exact = {part: _gamma(part, "exact") for part in PARTS}
    scored = pd.DataFrame({f"gamma_{p}": [exact[p]] * 30 for p in ("father", "grandfather", "family")})
    scored["gamma_given"] = exact["given"]
    scored["match_probability"] = 1.0  # each brother's two records
    offsets = lineage_offsets(keys, scored)
    # c = 6: the weight assumed 10 * 36 / 2 pairs of different people sharing the names; there
    # are 10 * 15 - 30 (the brothers' own pairs)
    assert offsets["father+grandfather+family"] == pytest.approx(np.log2(180 / 120), abs=1e-3)
    assert "father+family" not in offsets  # no pair shares exactly two of the names
    prepared, family = _family_frame(4)
    before = corrections(prepared, family, _settings(0.5), LineageRates())["lineage"][0]
    after = corrections(prepared, family, {**_settings(0.5), OFFSETS_KEY: {"father+grandfather+family": 1.5}},
                        LineageRates())["lineage"][0]
    assert after == pytest.approx(min(before + 1.5, 0.0))


def test_lineage_offsets_are_fitted_per_pair_of_lists() -> None:
    # ten families of three brothers: each brother once on list a and once on list b; list c
    # holds ten unrelated records with another family's names
    rows = [(f"f{k}", f"g{k}", f"l{k}", src) for k in range(10) for src in ("a", "b") for _ in range(3)]
    rows += [("fx", "gx", "lx", "c")] * 10
    keys = pd.DataFrame(rows, columns=["father_key", "grandfather_key", "family_key", "source"])
    keys.insert(0, "unique_id", range(1, len(keys) + 1))
    exact = {part: _gamma(part, "exact") for part in PARTS}
    # each brother's two records (a, b) are a scored match; c's records are each other's strangers
    ids_a = [1 + 6 * k + j for k in range(10) for j in range(3)]
    scored = pd.DataFrame({"unique_id_l": ids_a + list(range(61, 70)), "unique_id_r": [i + 3 for i in ids_a] + list(range(62, 71))})
    for part in ("father", "grandfather", "family"):
        scored[f"gamma_{part}"] = exact[part]
    scored["match_probability"] = [1.0] * 30 + [0.0] * 9
    offsets = lineage_offsets_by_lists(keys, scored)
    # a x b: c / N (c = 6 of N = 70 records) implies (n_b sum(c_a c) + n_a sum(c_b c)) / 2N =
    # (30 * 180 + 30 * 180) / 140 pairs of different people sharing the names; there are 90 - 30
    assert offsets["a x b"]["father+grandfather+family"] == pytest.approx(np.log2((2 * 30 * 180 / 140) / 60), abs=1e-3)
    assert "a x c" not in offsets and "c x c" not in offsets  # too few pairs of that pattern to fit
    prepared, family = _family_frame(4)
    before = corrections(prepared, family, _settings(0.5), LineageRates())["lineage"][0]
    settings = {**_settings(0.5), OFFSETS_KEY: {"father+grandfather+family": 0.5},
                LIST_OFFSETS_KEY: {"a x a": {"father+grandfather+family": 1.5}}}
    assert corrections(prepared, family, settings, LineageRates())["lineage"][0] == pytest.approx(min(before + 1.5, 0.0))
    settings[LIST_OFFSETS_KEY] = {"a x b": {"father+grandfather+family": 1.5}}  # another pair of lists: the pooled one
    assert corrections(prepared, family, settings, LineageRates())["lineage"][0] == pytest.approx(min(before + 0.5, 0.0))


def test_a_guessed_spelling_yields_to_the_tokens_own_key_when_the_case_holds_that_name() -> None:
    from undercount.link.prepare import _alternative_keys, _part_keys, _set_part_keys

    df = pd.DataFrame({"script": ["arabic", "arabic", "latin", "latin"]})
    for part in PARTS:
        df[part] = ["سمير", "حامد", "hamid", "zzqx"] if part == "given" else None
        df[f"{part}_ar"] = [None, None, "سمير", "سمير"] if part == "given" else None
    own = _part_keys(pd.Series(["حامد"]))[0]
    guessed = _part_keys(pd.Series(["سمير"]))[0]
    _set_part_keys(df, trusted={"samir"})
    # 'hamid' was guessed to write سمير, but its own letters give the key of حامد, a name of the case
    assert df["given_key"].tolist()[2:] == [own, guessed]  # 'zzqx' has no key of the case: the guess stays
    assert _alternative_keys(df) == [[], [], [guessed], []]  # blocking still pairs on the guess
    _set_part_keys(df, trusted={"samir", "hamid"})
    assert df["given_key"].tolist()[2] == guessed  # a spelling of the dictionary is no guess


def test_one_shared_name_found_in_another_slot_counts_once() -> None:
    from undercount.link.slots import slot_support

    left = np.array([["a", "b", "x", "c"], ["a", "b", "c", "d"], ["a", "b", "b", "d"], ["a", "b", "c", "d"]], dtype=object)
    right = np.array([["a", "b", "c", "d"], ["a", "c", "b", "d"], ["a", "b", "c", "d"], ["a", "x", "b", "d"]], dtype=object)
    slot = np.array([[True, False, True], [True, True, False], [True, False, False], [True, True, False]])  # grandfather, father, family
    # 1: the grandfather and family levels both fire on one name (c): the grandfather's goes;
    # 2: father and grandfather swapped, two names: both stay; 3: the grandfather's name (b) is
    # the one the agreeing father already counts: it goes; 4: one name (b) for the father and the
    # grandfather: the grandfather's goes
    assert slot_support(left, right, slot).tolist() == [[True, False, False], [False, False, False],
                                                        [True, False, False], [True, False, False]]


Levels = dict[str, tuple[str, str] | list[tuple[str, str]]]  # column -> (part, level label), or one per pair


def _slot_bits(rows: list[tuple[str, str, str, str, str, int, str]], levels: Levels, *, exact_u: float = 0.5
               ) -> dict[str, np.ndarray]:
    """The lineage corrections of the pairs (1, 2) and (3, 4) of the four records ``rows``: every part
    exact, same age, but ``levels`` (column -> gamma); u 0.99 for 'different', ``exact_u`` for 'exact',
    0.5 elsewhere."""
    prepared = prepare_records(_records(rows))
    scored = pd.DataFrame({"unique_id_l": [1, 3], "unique_id_r": [2, 4]})
    for part in PARTS:
        scored[f"gamma_{part}"] = _gamma(part, "exact")
        scored[f"mw_{part}"] = 4.0
    scored["gamma_age"] = _gamma("age", "same age")
    scored["mw_age"] = 2.0
    for column, level in levels.items():  # (part, level label), or one per pair
        scored[column] = [_gamma(*x) for x in level] if isinstance(level, list) else _gamma(*level)
    settings = _settings(0.5)
    for comparison in settings["comparisons"]:  # type: ignore[attr-defined]
        for level in comparison["comparison_levels"]:
            label = level.get("label_for_charts")
            level["u_probability"] = 0.99 if label == "different" else exact_u if label == "exact" else 0.5
    return corrections(prepared, scored, settings, LineageRates())


DIFFERENT = float(np.log2(0.5 / 0.99) - 4.0)  # a part's 'exact' bits (4) withdrawn for its 'different' level


@pytest.mark.parametrize(("rows", "levels", "expected"), [
    pytest.param(
        [("سامي", "خليل", "نادر", "عاشور", "male", 20, "arabic"), ("سامي", "خليل", "عاشور", "حمدان", "male", 20, "arabic"),
         ("رامي", "يوسف", "طارق", "زياد", "male", 30, "arabic"), ("رامي", "طارق", "يوسف", "حمدان", "male", 30, "arabic")],
        {"gamma_grandfather": ("grandfather", "found in the next slot"),
         "gamma_family": [("family", "found in another name slot"), ("family", "different")],
         "gamma_father": [("father", "exact"), ("father", "found in the next slot")]},
        # pair 1: one name (عاشور) fires grandfather and family: the grandfather weighs as different;
        # pair 2: father and grandfather swapped (two names), the family names differ: nothing withdrawn
        {("grandfather", 0): DIFFERENT, ("family", 0): 0.0, ("grandfather", 1): 0.0, ("father", 1): 0.0},
        id="the unsupported slot part is weighed as different"),
    pytest.param(
        [("سامي", "خليل", "سامي", "عاشور", "male", 20, "arabic"), ("سامي", "خليل", "نادر", "حمدان", "male", 20, "arabic"),
         ("رامي", "يوسف", "رامي", "زياد", "male", 30, "arabic"), ("رامي", "يوسف", "طارق", "زياد", "male", 30, "arabic")],
        # each first record's grandfather is its own given name, which the other record's given name holds
        {"gamma_grandfather": ("grandfather", "found in another name slot"),
         "gamma_family": [("family", "different"), ("family", "exact")]},
        # pair 1, relatives (the family names differ): the reused name is no evidence of its own;
        # pair 2, the family name agrees (a grandfather damaged in one list): left as it is
        {("grandfather", 0): DIFFERENT, ("grandfather", 1): 0.0},
        id="a single slot part reusing an agreeing name is withdrawn only when the family disagrees"),
    pytest.param(
        [("سامي", "خليل", "نادر", "عاشور", "male", 20, "arabic"), ("سامي", "خليل", "عاشور", "حمدان", "male", 20, "arabic"),
         ("رامي", "يوسف", "طارق", "زياد", "male", 30, "arabic"), ("رامي", "يوسف", "زياد", "حمدان", "male", 30, "arabic")],
        # each first record's family name is the second's grandfather, both hold a grandfather
        {"gamma_family": ("family", "found in the next slot"),
         "gamma_grandfather": [("grandfather", "found in the next slot"), ("grandfather", "different")]},
        # pair 1: the one name fires grandfather and family: the family weighs as different and the
        # grandfather keeps the name; pair 2: the family's next slot alone weighs as different too
        {("family", 0): DIFFERENT, ("grandfather", 0): 0.0, ("family", 1): DIFFERENT, ("grandfather", 1): 0.0},
        id="a family name in the other's grandfather slot weighs as different"),
    pytest.param(
        [("سامي", "خليل", "نادر", "عاشور", "male", 20, "arabic"), ("خليل", "يوسف", "طارق", "عاشور", "male", 45, "arabic"),
         ("رامي", "يوسف", "طارق", "زياد", "male", 30, "arabic"), ("طارق", "سامي", "نادر", "زياد", "male", 60, "arabic")],
        # pair 1: the first record's father is the second's given name (a father and his son); pair 2:
        # the first record's grandfather is the second's given name (a grandson and his grandfather)
        {"gamma_given": ("given", "different"),
         "gamma_father": [("father", "found in another name slot"), ("father", "different")],
         "gamma_grandfather": [("grandfather", "different"), ("grandfather", "found in another name slot")]},
        {("father", 0): DIFFERENT, ("grandfather", 1): DIFFERENT},
        id="a father or grandfather that is the other's given name weighs as different"),
])
def test_slot_parts_without_support_of_their_own(
        rows: list[tuple[str, str, str, str, str, int, str]], levels: Levels,
        expected: dict[tuple[str, int], float]) -> None:
    bits = _slot_bits(rows, levels)
    for (part, pair), value in expected.items():
        assert bits[part][pair] == pytest.approx(value), (part, pair)


@pytest.mark.parametrize(("second", "levels"), [
    pytest.param(("سامي", "نادر", "خليل", "حمدان", "male", 20, "arabic"), {"gamma_family": [("family", "exact"), ("family", "different")]},
                 id="the family names differ: cousins can share that much"),
    pytest.param(("سامي", "نادر", "خليل", "عاشور", "male", 80, "arabic"), {"gamma_age": [("age", "same age"), ("age", "different")]},
                 id="the ages differ: a grandfather and the grandson named after him"),
])
def test_father_and_grandfather_swapped_weigh_as_agreeing_when_given_family_and_age_agree(
        second: tuple[str, str, str, str, str, int, str], levels: Levels) -> None:
    rows = [("رامي", "يوسف", "طارق", "زياد", "male", 30, "arabic"), ("رامي", "طارق", "يوسف", "زياد", "male", 30, "arabic"),
            ("سامي", "خليل", "نادر", "عاشور", "male", 20, "arabic"), second]
    swapped: Levels = {"gamma_father": ("father", "found in the next slot"), "gamma_grandfather": ("grandfather", "found in the next slot")}
    bits = _slot_bits(rows, {**swapped, **levels}, exact_u=0.01)
    agree = float(np.log2(0.5 / 0.01) - 4.0)  # from the slot level's 4 bits to the 'exact' level's
    for part in ("father", "grandfather"):
        assert bits[part][0] == pytest.approx(agree), part  # one set of four names, two in each other's slot
        assert bits[part][1] == 0.0, part


def test_a_given_name_in_two_english_tokens_realigns_the_parts_after_it() -> None:
    from undercount.link.slots import compound_corrections

    prepared = pd.DataFrame({
        "unique_id": [1, 2, 3, 4, 5, 6],
        "script": ["latin", "arabic", "arabic", "latin", "latin", "arabic"],
        "given_key": ["bd", "bdlrhmn", "bdlrhmn", "bd", "b", "bdlrhmn"],
        "father_key": ["lrhmn", "mhmd", "mhmd", "lrhmn", "dlrhmn", "mhmd"],
        "grandfather_key": ["mhmd", "hmd", "hmd", "hmd", "mhmd", "hmd"],
    })
    # (1, 2): the English pieces make the Arabic given name and its grandfather slot holds the Arabic
    # father; (3, 4): the pieces, but the grandfather slot holds another name; (5, 6): a one-letter piece
    scored = pd.DataFrame({"unique_id_l": [1, 3, 5], "unique_id_r": [2, 4, 6], "mw_given": -5.0, "mw_father": -4.0,
                           "mw_grandfather": -1.0, "gamma_given": _gamma("given", "different"),
                           "gamma_grandfather": _gamma("grandfather", "found in the next slot")})
    settings = _settings(0.5)
    for comparison in settings["comparisons"]:  # type: ignore[attr-defined]
        for level in comparison["comparison_levels"]:
            level["u_probability"] = 0.05 if level.get("label_for_charts") == "same sound across scripts" else 0.5
    current = {p: np.zeros(3) for p in ("given", "father", "grandfather")}
    current["given"][0] = 1.0  # a correction made before counts in the part's weight
    bits = compound_corrections(prepared, scored, settings, current)
    sound = float(np.log2(0.5 / 0.05))
    assert bits["given"].tolist() == pytest.approx([sound + 5.0 - 1.0, 0.0, 0.0])
    assert bits["father"].tolist() == pytest.approx([sound + 4.0, 0.0, 0.0])
    assert bits["grandfather"].tolist() == pytest.approx([1.0, 0.0, 0.0])  # no longer held: weighs nothing


def test_key_counts_count_the_records_sharing_the_keys() -> None:
    # Integer codes give each record the size of its group of name keys, as a pandas groupby on
    # the strings would (0 where a key is missing).
    from undercount.link.lookups import key_counts as _key_counts

    rng = np.random.default_rng(2)
    values = np.array(["x", "y", "z", None], dtype=object)
    keys = pd.DataFrame({c: values[rng.integers(0, 4, 400)] for c in ("father_key", "family_key")})
    cols = ["father_key", "family_key"]
    sizes = keys.groupby(cols, dropna=True).size().rename("c").reset_index()
    expected = keys.merge(sizes, on=cols, how="left")["c"].fillna(0).to_numpy(dtype=int)
    assert _key_counts(keys, cols).tolist() == expected.tolist()


def test_name_rules_without_an_age_leave_pairs_of_far_apart_ages_to_the_others_and_count_them() -> None:
    # Four records share their first three names: ages 20, 25, 60 and none. The rule on the first
    # three name keys compares the pairs an age does not tell apart (20-25, and the one without an
    # age with each); 20-60 and 25-60 are left to the other rules and counted.
    import duckdb

    rows = [("سامي", "خليل", "يوسف", "عاشور", "male", age, "arabic") for age in (20, 25, 60, None)]
    prepared = prepare_records(_records(rows))
    rule = next(r for r in default_blocking_rules() if r.name == "first three name keys")
    con = duckdb.connect()
    con.register("t", prepared.drop(columns=[c for c in prepared.columns if c != KEYS_COLUMN and prepared[c].dtype == object
                                             and prepared[c].map(lambda v: isinstance(v, list)).any()]))
    ids = list(prepared["unique_id"])
    pairs = {(ids.index(a), ids.index(b)) for a, b in con.execute(candidate_pairs_sql(rule, "t")).fetchall()}
    assert pairs == {(0, 1), (0, 3), (1, 3), (2, 3)}
    assert prepared.attrs["blocking"]["held_back"]["first three name keys"] == 2


def test_a_two_part_name_is_read_as_the_given_and_the_father_name() -> None:
    from undercount.link.slots import short_name_corrections

    prepared = pd.DataFrame({
        "unique_id": [1, 2, 3, 4, 5, 6, 7, 8],
        "script": ["latin", "arabic", "arabic", "arabic", "latin", "arabic", "arabic", "arabic"],
        "source": ["b", "a", "a", "b", "b", "a", "a", "b"],
        "given_key": ["hmd", "hmd", "hmd", "hmd", "hmd", "hmd", "hmd", "hmd"],
        "father_key": [None, "khll", None, "khll", None, "khll", None, "khll"],
        "grandfather_key": [None, "mhmd", None, "mhmd", "slm", "mhmd", None, "mhmd"],
        "family_key": ["khll", "njr", "khll", "njr", "khll", "njr", "mhmd", "njr"],
    })
    # (1, 2): two names across scripts, the second the other's father; (3, 4): the same in one
    # script; (5, 6): three names, not a short form; (7, 8): the second name is the other's
    # grandfather; (3, 9): the short form within one list, which writes its own records alike
    prepared.loc[len(prepared)] = [9, "arabic", "a", "hmd", "khll", "mhmd", "njr"]
    scored = pd.DataFrame({"unique_id_l": [1, 3, 5, 7, 3], "unique_id_r": [2, 4, 6, 8, 9], "mw_father": 0.0, "mw_family": 1.0,
                           "gamma_given": _gamma("given", "exact"),
                           "gamma_family": _gamma("family", "found in another name slot")})
    settings = _settings(0.5)
    for comparison in settings["comparisons"]:  # type: ignore[attr-defined]
        for level in comparison["comparison_levels"]:
            label = level.get("label_for_charts")
            level["u_probability"] = 0.01 if label == "exact" else 0.02 if label == "same name across scripts" else 0.5
    current = {p: np.zeros(5) for p in ("father", "family")}
    current["family"][1] = -0.5  # a correction made before counts in the part's weight
    bits = short_name_corrections(prepared, scored, settings, current)
    across, exact = float(np.log2(0.5 / 0.02)), float(np.log2(0.5 / 0.01))
    assert bits["father"].tolist() == pytest.approx([across, exact, 0.0, 0.0, 0.0])
    assert bits["family"].tolist() == pytest.approx([-1.0, -0.5, 0.0, 0.0, 0.0])  # the short record holds no family name
