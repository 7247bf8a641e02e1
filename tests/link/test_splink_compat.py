"""Splink behind one module: no other module imports Splink or touches a linker's insides; the
supported version range is the one pyproject states, and the internals it reaches work on the
installed release."""

from __future__ import annotations

import ast
import random
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from undercount.errors import LinkError
from undercount.link import splink_compat
from undercount.link.backends import get_backend
from undercount.link.comparisons import ComparisonSpec, default_comparisons, level_labels
from undercount.link.model import LinkOptions, scored_select, settings_dict
from undercount.link.prepare import prepare_records

from .test_lineage import _records

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "undercount"
COMPAT = PACKAGE / "link" / "splink_compat.py"
# What a Splink Linker offers; reaching it anywhere else means Splink leaks out of the module.
LINKER_PARTS = frozenset({
    "_settings_obj", "_populate_m_u_from_trained_values", "table_management", "save_model_to_json",
    "_comparison_levels_excluding_null", "label_for_charts", "estimate_u_using_random_sampling",
    "estimate_parameters_using_expectation_maximisation", "estimate_m_from_pairwise_labels",
    "estimate_probability_two_random_records_match", "threshold_match_probability",
})


def _modules() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if path != COMPAT:
            yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imports_splink(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        return any(a.name == "splink" or a.name.startswith("splink.") for a in node.names)
    if isinstance(node, ast.ImportFrom):
        module = node.module or ""
        return node.level == 0 and (module == "splink" or module.startswith("splink."))
    return False


def test_only_the_compat_module_imports_splink() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path, tree in _modules() for node in ast.walk(tree) if _imports_splink(node)
    ]
    assert found == [], f"Splink imported outside link/splink_compat.py: {found}"


def test_no_other_module_reaches_into_a_linker() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}"
        for path, tree in _modules() for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in LINKER_PARTS
    ]
    assert found == [], f"Splink's objects used outside link/splink_compat.py: {found}"


def test_the_checks_see_an_import_and_a_linker_call() -> None:  # the two tests above can fail
    tree = ast.parse("def f(x):\n    from splink.internals import em\n    return x._settings_obj\n")
    assert any(_imports_splink(n) for n in ast.walk(tree))
    assert any(isinstance(n, ast.Attribute) and n.attr in LINKER_PARTS for n in ast.walk(tree))


def test_pyproject_states_the_supported_range_and_the_installed_release_is_in_it() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    (low, high) = splink_compat.SUPPORTED
    assert f"splink>={low[0]}.{low[1]},<{high[0]}.{high[1]}" in deps
    version = splink_compat.check_version()
    assert version.startswith(f"{low[0]}.{low[1]}")


@pytest.mark.parametrize("version", ["4.0.7", "5.1.0", "6.0.0", "not a version"])
def test_a_release_outside_the_range_is_a_clear_error(version: str) -> None:
    with pytest.raises(LinkError, match=r"tested with Splink >=5\.0,<5\.1"):
        splink_compat.check_version(version)


def test_the_internals_used_work_on_the_installed_release() -> None:
    prepared = prepare_records(_records([
        ("سامي", "خليل", "يوسف", "عاشور", "male", 20, "arabic"),
        ("سامي", "خليل", "يوسف", "عاشور", "male", 21, "arabic"),
        ("رامي", "خليل", "يوسف", "عاشور", "male", 30, "arabic"),
        ("هاني", "محمود", "احمد", "حسن", "female", 40, "arabic"),
    ]))
    backend = get_backend("duckdb")
    try:
        settings = settings_dict("duckdb", options=LinkOptions(), n_records=len(prepared))
        linker = splink_compat.linker(backend.register(prepared, "uc_compat"), settings)
        labels = level_labels()
        seen: dict[str, list[str]] = {}
        for level in splink_compat.levels(linker):
            seen.setdefault(level.comparison, []).append(level.label)
        assert seen == {name: [lab for g, lab in sorted(levels.items(), reverse=True) if g >= 0]
                        for name, levels in labels.items()}
        untrained = dict(splink_compat.untrained(linker))  # comparison -> its input column
        assert {"given", "father", "grandfather", "family", "sex", "age"} <= set(untrained) <= set(labels)
        assert untrained["sex"] == "sex"
        splink_compat.set_prior(linker, 0.125)
        assert splink_compat.prior(linker) == 0.125
        before = splink_compat.save_model(linker)
        with pytest.raises(Exception):  # noqa: B017 - whatever Splink raises on a block with no pairs
            splink_compat.em_session(linker, "l.unique_id = r.unique_id AND 1 = 0", max_pairs=None)
        assert splink_compat.save_model(linker) == before
        level = next(lv for lv in splink_compat.levels(linker) if lv.comparison == "sex")
        level.set_m(0.375)
        assert next(lv for lv in splink_compat.levels(linker) if lv.comparison == "sex").m == 0.375
        scored = backend.to_pandas(splink_compat.predict(linker, 0.0), "unique_id_l, unique_id_r, match_probability")
        assert len(scored) == 6  # four records, every pair compared
    finally:
        backend.close()


# a name part with term frequencies, one that also matches other slots, and two plain ones (a cheap model)
_SOME = tuple(c for c in default_comparisons() if c.name in {"given", "father", "sex", "age"})


def _many_records(n: int) -> pd.DataFrame:
    """``n`` records drawn from small pools of names, ages and sexes (many near-duplicates, both scripts)."""
    rng = random.Random(5)
    arabic = ["محمد", "محمود", "أحمد", "علي", "خليل", "يوسف", "سامي", "رامي", "حسن", "عاشور", "النجار"]
    latin = ["Mohammed", "Mahmoud", "Ahmed", "Ali", "Khalil", "Yousef", "Sami", "Rami", "Hassan", "Ashour"]
    rows = []
    for _ in range(n):
        script = rng.choice(["arabic", "latin"])
        pool = arabic if script == "arabic" else latin
        rows.append((*(rng.choice(pool) for _ in range(4)), rng.choice(["male", "female"]), rng.randint(1, 80), script))
    return _records(rows)


def _u_and_scores(
    prepared: pd.DataFrame, *, share: bool, comparisons: tuple[ComparisonSpec, ...] = _SOME,
) -> tuple[list[tuple[str, str, object]], pd.DataFrame]:
    backend = get_backend("duckdb")
    try:
        settings = settings_dict("duckdb", options=LinkOptions(), n_records=len(prepared), comparisons=comparisons)
        linker = splink_compat.linker(backend.register(prepared, "uc_compat"), settings)
        if share:
            assert splink_compat.share_vectors(linker)
        splink_compat.set_prior(linker, 0.01)
        # a sample of a third of the pairs, in chunks that stop at 10 pairs a level (the probe, then chunks)
        splink_compat.estimate_u(linker, max_pairs=len(prepared) ** 2 / 6, seed=3, num_chunks=4, min_count_per_level=10)
        u = [(lv.comparison, lv.label, lv._level.u_probability) for lv in splink_compat.levels(linker)]
        scored = backend.to_pandas(splink_compat.predict(linker, 1e-6), scored_select(comparisons))
        return u, scored.sort_values(["unique_id_l", "unique_id_r"], ignore_index=True)
    finally:
        backend.close()


def test_shared_comparison_vectors_give_splinks_own_u_and_scores() -> None:
    prepared = prepare_records(_many_records(150))
    u_own, scored_own = _u_and_scores(prepared, share=False)
    u_shared, scored_shared = _u_and_scores(prepared, share=True)
    assert u_shared == u_own  # the same counts: the same u, to the last bit
    assert any(isinstance(p, float) for _, _, p in u_own)
    assert len(scored_own) > 100
    pd.testing.assert_frame_equal(scored_shared, scored_own, check_exact=True)


def test_levels_by_distinct_values_are_splinks_case_for_every_comparison() -> None:
    """Every default comparison, with missing names, ids, dates and places: each pair's levels (read
    once per pair of distinct values, condition group by condition group) are those of Splink's CASE."""
    records = _many_records(160)
    rng = random.Random(11)
    records["age"] = records["age"].astype("Int64")
    for i in range(len(records)):
        if rng.random() < 0.1:
            records.loc[i, "age"] = pd.NA
        for column in ("given", "father", "grandfather", "family", "sex"):
            if rng.random() < 0.08:
                records.loc[i, column] = None
        if rng.random() < 0.5:
            records.loc[i, ["id_number", "id_valid"]] = [str(rng.randint(400000000, 400000020)), rng.random() < 0.7]
        if rng.random() < 0.6:
            records.loc[i, "event_date"] = pd.Timestamp("2024-01-01") + pd.Timedelta(days=rng.randint(0, 30))
        if rng.random() < 0.4:
            records.loc[i, "date_of_birth"] = pd.Timestamp("1990-01-01") + pd.Timedelta(days=400 * rng.randint(0, 5))
        if rng.random() < 0.7:
            records.loc[i, "place"] = rng.choice(["Gaza", "Rafah", "Khan Younis"])
    prepared = prepare_records(records)
    every = default_comparisons()
    u_own, scored_own = _u_and_scores(prepared, share=False, comparisons=every)
    u_shared, scored_shared = _u_and_scores(prepared, share=True, comparisons=every)
    assert u_shared == u_own
    gammas = [c for c in scored_own.columns if c.startswith("gamma_")]
    assert len(gammas) == len(every) and all(scored_own[g].nunique() >= 2 for g in gammas)
    assert (scored_own[gammas] == -1).any().all()  # each comparison meets a missing value
    pd.testing.assert_frame_equal(scored_shared, scored_own, check_exact=True)


def test_vectors_are_shared_only_when_every_pair_is_compared() -> None:
    prepared = prepare_records(_many_records(12))
    backend = get_backend("duckdb")
    try:
        settings = settings_dict("duckdb", options=LinkOptions(compare_all_below=0), n_records=len(prepared), comparisons=_SOME)
        linker = splink_compat.linker(backend.register(prepared, "uc_compat"), settings)
        assert splink_compat.share_vectors(linker) is False  # blocked: the u sample is not among the scored pairs
    finally:
        backend.close()


def test_exact_match_levels_parsed_once_answer_as_splink_does() -> None:
    """Each EM session asks every level whether it is an exact match (and on which columns): the answers,
    computed once per condition, are those of Splink's own properties."""
    prepared = prepare_records(_many_records(12))
    backend = get_backend("duckdb")
    try:
        settings = settings_dict("duckdb", options=LinkOptions(), n_records=len(prepared), comparisons=default_comparisons())
        linker = splink_compat.linker(backend.register(prepared, "uc_compat"), settings)
        splink_compat._patch_em()
        own_is, own_columns = splink_compat._SPLINK_EXACT["is"], splink_compat._SPLINK_EXACT["columns"]
        answers = []
        for level in (lv._level for lv in splink_compat.levels(linker)):
            exact = own_is.fget(level)
            assert level._is_exact_match == exact
            if exact:
                assert level._exact_match_colnames == own_columns.fget(level)
            answers.append(exact)
        assert any(answers) and not all(answers)
    finally:
        backend.close()


def test_blocked_scoring_keeps_splinks_scores_without_the_blocking_columns() -> None:
    """A blocked case's scores are Splink's own predict's, to the last bit, but neither the records'
    values nor the block keys and rare-key lists of both records are carried into the output."""
    prepared = prepare_records(_many_records(160))
    every = default_comparisons()
    backend = get_backend("duckdb")
    try:
        settings = settings_dict("duckdb", options=LinkOptions(compare_all_below=0), n_records=len(prepared), comparisons=every)
        linker = splink_compat.linker(backend.register(prepared, "uc_compat"), settings)
        splink_compat.set_prior(linker, 0.01)
        own = linker.inference.predict(threshold_match_probability=1e-6, warning_mode="never")
        lean = splink_compat.predict(linker, 1e-6)
        columns = [d[0] for d in backend.con.execute(f"SELECT * FROM {lean.physical_name} LIMIT 0").description]
        own_columns = [d[0] for d in backend.con.execute(f"SELECT * FROM {own.physical_name} LIMIT 0").description]
        key = ["unique_id_l", "unique_id_r"]
        frames = [backend.to_pandas(t, scored_select(every)).sort_values(key, ignore_index=True) for t in (lean, own)]
    finally:
        backend.close()
    assert any(c.startswith("block_") for c in own_columns) and "given_l" in own_columns
    assert not any(c.startswith("block_") or c.endswith(("_l", "_r")) and not c.startswith(("unique_id", "tf_")) for c in columns)
    assert len(frames[0]) > 100
    pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=True)
    assert splink_compat.save_model(linker)["retain_matching_columns"] is True  # the saved model is as it was
