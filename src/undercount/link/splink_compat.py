"""Splink behind one module: the only code of undercount that imports Splink or touches its objects.

The rest of the package builds Splink's settings as plain dictionaries (``link.comparisons``,
``link.blocking``, ``link.model.settings_dict``) and calls the functions here to train and score.
Four things undercount needs have no public Splink API, so they reach into Splink's internals:
the prior read and set after training, the trained u of some levels rescaled, m floored per
level, and an EM lookup that accepts an m that underflowed to 0.0. Internals change between
minor releases, so the supported range is narrow (:data:`SUPPORTED`, the same as pyproject's
bound; tests/link/test_splink_compat.py checks both, and that no other module imports Splink).
"""

from __future__ import annotations

import functools
import logging
import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from undercount.errors import LinkError

__all__ = [
    "SUPPORTED", "Level", "check_version", "duckdb_api", "em_session", "estimate_prior", "estimate_u", "levels",
    "linker", "m_from_labels", "predict", "prior", "quiet", "refresh_m_u", "save_model", "set_prior", "share_vectors",
    "similarity_jar", "spark_api", "untrained",
]

# Splink releases this module is tested with: lowest included, first excluded (pyproject says the same).
SUPPORTED = (5, 0), (5, 1)

log = logging.getLogger("undercount.link")


def _version_tuple(text: str) -> tuple[int, int]:
    found = re.match(r"(\d+)\.(\d+)", text)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


@functools.cache
def _installed() -> str:
    return metadata.version("splink")


def check_version(version: str | None = None) -> str:
    """The installed Splink version, if undercount supports it.

    Args:
        version: a version to check instead of the installed one (for tests).

    Raises:
        LinkError: Splink is missing or its version is outside :data:`SUPPORTED`.
    """
    if version is None:
        try:
            version = _installed()
        except metadata.PackageNotFoundError as exc:
            raise LinkError("linking needs Splink: pip install 'splink>=5.0,<5.1'") from exc
    low, high = SUPPORTED
    if not low <= _version_tuple(version) < high:
        raise LinkError(
            f"Splink {version} is installed but undercount is tested with Splink >={low[0]}.{low[1]},<{high[0]}.{high[1]} "
            "(it uses some of Splink's internals): pip install 'splink>=5.0,<5.1'"
        )
    return version


def quiet() -> None:
    """Silence Splink's (and Spark's bridge's) progress logging."""
    for name in ("splink", "py4j"):
        logging.getLogger(name).setLevel(logging.ERROR)


def duckdb_api(connection: Any) -> Any:
    """Splink's DuckDB engine on an open DuckDB connection."""
    check_version()
    from splink import DuckDBAPI

    return DuckDBAPI(connection=connection)


def spark_api(spark: Any, partitions: int) -> Any:
    """Splink's Spark engine on a Spark session (lineage broken by persisting)."""
    check_version()
    from splink import SparkAPI

    # Splink's SparkAPI.__init__ carries no annotations.
    return SparkAPI(  # type: ignore[no-untyped-call]
        spark_session=spark, break_lineage_method="persist", num_partitions_on_repartition=partitions
    )


def similarity_jar() -> str:
    """Path of the jar of string-similarity functions Splink ships for Spark."""
    from splink.internals.spark.jar_location import similarity_jar_location

    return str(similarity_jar_location())


def linker(table: Any, settings: dict[str, Any]) -> Any:
    """A Splink Linker on a registered table (see the backends' ``register``) with a settings dict."""
    check_version()
    from splink import Linker

    return Linker(table, settings, log_level=None)


def save_model(model: Any) -> dict[str, Any]:
    """The linker's model (settings with trained m and u) as a plain dictionary."""
    saved: dict[str, Any] = model.misc.save_model_to_json()
    return saved


def predict(model: Any, threshold: float) -> Any:
    """Score every blocked pair at or above ``threshold`` (a SplinkDataFrame; see the backends' ``to_pandas``).

    With the comparison vectors shared (:func:`share_vectors`), the pairs' levels are read from them
    instead of being compared again (then the vectors are dropped: scoring is their last use).
    """
    vectors = _SHARED.pop(model, None)
    if vectors is None:
        return _predict_lean(model, threshold)
    try:
        return _predict_from_vectors(model, vectors, threshold)
    finally:
        vectors.drop_table_from_database_and_remove_from_cache()


def prior(model: Any) -> float:
    """The linker's probability that two random records match."""
    return float(model._settings_obj._probability_two_random_records_match)


def set_prior(model: Any, value: float) -> None:
    """Set the linker's probability that two random records match."""
    model._settings_obj._probability_two_random_records_match = value


def estimate_prior(model: Any, rules: list[str], recall: float) -> float:
    """Estimate the prior from near-certain rules (SQL) assumed to find ``recall`` of the matches."""
    model.training.estimate_probability_two_random_records_match(rules, recall=recall)
    return prior(model)


def estimate_u(model: Any, *, max_pairs: float, seed: int, num_chunks: int, min_count_per_level: int | None) -> None:
    """u probabilities from randomly sampled pairs.

    With the comparison vectors shared (:func:`share_vectors`), Splink draws its sample and walks
    its chunks as always, but each chunk's counts of levels are read from the vectors instead of
    comparing the chunk's pairs again: the same counts, so the same u.
    """
    vectors = _SHARED.get(model)
    if vectors is None:
        model.training.estimate_u_using_random_sampling(
            max_pairs=max_pairs, seed=seed, num_chunks=num_chunks, min_count_per_level=min_count_per_level,
        )
        return
    import splink.internals.estimate_u as splink_u

    original = splink_u._accumulate_u_counts_from_chunk_and_check_min_count
    counter = _ChunkCounts(vectors, original)
    splink_u._accumulate_u_counts_from_chunk_and_check_min_count = counter
    try:
        model.training.estimate_u_using_random_sampling(
            max_pairs=max_pairs, seed=seed, num_chunks=num_chunks, min_count_per_level=min_count_per_level,
        )
    finally:
        splink_u._accumulate_u_counts_from_chunk_and_check_min_count = original
        counter.close()


# Linker -> its shared comparison vectors (a SplinkDataFrame), from share_vectors until predict.
_SHARED: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_VECTORS = "__undercount_vectors"


def _gammas(settings: Any) -> list[tuple[str, str]]:
    """(CASE statement, gamma column) of each comparison of a model."""
    return [(c._case_statement, c._gamma_column_name) for c in settings.comparisons]


def share_vectors(model: Any) -> bool:
    """Compare every pair once, for both the u sample and the scoring (DuckDB, a case that compares all pairs).

    A small case compares every pair (the single blocking rule ``1=1``), and Splink's sample of random
    pairs for u is then a subset of the pairs it scores: comparing each pair's names (Jaro-Winkler,
    Levenshtein: most of the cost) once, into a table of levels (the comparison vectors), and reading
    the levels from it in :func:`estimate_u` and :func:`predict` gives the same u, the same weights and
    the same scored pairs as comparing them twice. The levels themselves are computed once per pair of
    distinct values, not per pair of records (:func:`_vectors_by_values`). The vectors live until :func:`predict`.

    Returns:
        Whether the vectors are shared (False, and nothing done, for other engines, link types or blocking).
    """
    from splink.internals.blocking import compute_blocked_pairs_from_concat_with_tf
    from splink.internals.pipeline import CTEPipeline
    from splink.internals.vertically_concatenate import enqueue_df_concat_with_tf

    settings = model._settings_obj
    rules = settings._blocking_rules_to_generate_predictions
    info = settings.column_info_settings
    if (model._sql_dialect_str != "duckdb" or settings._link_type != "dedupe_only" or len(rules) != 1
            or rules[0].blocking_rule_sql.strip() != "1=1" or info.source_dataset_input_column is not None
            or len(info.unique_id_input_columns) != 1 or not all(_else_last(c) for c in settings.comparisons)):
        return False
    db_api = model._db_api
    pipeline = CTEPipeline()
    enqueue_df_concat_with_tf(model, pipeline)
    blocked = compute_blocked_pairs_from_concat_with_tf(
        pipeline=pipeline, db_api=db_api, splink_df_dict=model._input_tables_dict, blocking_rules=rules,
        link_type=settings._link_type, source_dataset_input_column=None,
        unique_id_input_column=info.unique_id_input_column, df_concat_with_tf_table_name="__splink__df_concat_with_tf",
        left_chunk=(1, 1), right_chunk=(1, 1),
    )
    try:
        # the pairs in memory (ids, match key) and the engine's copy dropped: the levels are added in memory
        pairs = db_api._con.sql(f"SELECT join_key_l, join_key_r, match_key FROM {blocked.physical_name}").to_arrow_table()
    finally:
        blocked.drop_table_from_database_and_remove_from_cache()
    pipeline = CTEPipeline()
    enqueue_df_concat_with_tf(model, pipeline)
    uid = info.unique_id_input_column.name
    pipeline.enqueue_sql(f"SELECT *, row_number() OVER (ORDER BY {uid}) - 1 AS __undercount_pos FROM __splink__df_concat_with_tf",
                         "__undercount_vector_records")
    records = db_api.sql_pipeline_to_splink_dataframe(pipeline)
    try:
        _SHARED[model] = _vectors_by_values(model, pairs, records, uid)
    finally:
        records.drop_table_from_database_and_remove_from_cache()
    return True


# A group's distinct tuples may grow by this factor when another column set joins it (merging groups
# saves a pass over the pairs; growing the tuples would cost more comparisons than it saves).
_MERGE_GROWTH = 1.05
_NO_LEVEL = 255  # a group's answer when none of its conditions holds (the comparison's ELSE, unless another group holds)


@dataclass
class _Group:
    """Conditions of one comparison that read the same columns: each pair's first true condition among them
    depends only on its two records' values of those columns, so it is computed once per pair of distinct values."""

    columns: dict[str, Any]  # quoted column name -> Splink's InputColumn
    conditions: list[tuple[int, str]]  # (the level's position in its comparison, its SQL condition)


def _else_last(comparison: Any) -> bool:
    levels = comparison.comparison_levels
    return bool(levels) and bool(levels[-1]._is_else_level) and not any(lv._is_else_level for lv in levels[:-1])


def _groups(comparison: Any, distinct: Any) -> list[_Group]:
    """The comparison's conditions grouped by the columns they read, groups merged while their distinct tuples barely grow."""
    groups: dict[frozenset[str], _Group] = {}
    for position, level in enumerate(comparison.comparison_levels[:-1]):
        columns = {c.name: c for c in level._input_columns_used_by_sql_condition}
        group = groups.setdefault(frozenset(columns), _Group(columns, []))
        group.conditions.append((position, level.sql_condition))
    merged = list(groups.values())
    joined = True
    while joined:
        joined = False
        for a in range(len(merged)):
            for b in range(a + 1, len(merged)):
                both = {**merged[a].columns, **merged[b].columns}
                if distinct(both) <= _MERGE_GROWTH * max(distinct(merged[a].columns), distinct(merged[b].columns)):
                    merged[a] = _Group(both, sorted(merged[a].conditions + merged[b].conditions))
                    del merged[b]
                    joined = True
                    break
            if joined:
                break
    return merged


def _vectors_by_values(model: Any, pairs: Any, records: Any, uid: str) -> Any:
    """The comparison vectors of the blocked ``pairs`` (Arrow: join_key_l, join_key_r, match_key), each level
    condition evaluated once per pair of distinct values.

    A pair's level is its comparison's first true condition (a CASE). The conditions that read the same columns
    (a name part, its Arabic form, its key and the script; the columns Splink parses from each condition's SQL with
    sqlglot, ``_l``/``_r`` suffixes removed, not a list anyone declares) are one group: the group's first true condition is a
    function of the two records' values of those columns alone, so it is evaluated by DuckDB, with Splink's own
    SQL, on one pair of records for each pair of distinct values that occurs (a name part has a few hundred
    distinct values: a few hundred thousand pairs of values instead of millions of pairs of records), and looked up
    for every pair; the comparison's level is the first condition true in any group, else its ELSE. The levels
    are those of Splink's CASE, pair for pair (tests/link/test_splink_compat.py).
    """
    import numpy as np
    import pyarrow as pa

    con = model._db_api._con
    table = records.physical_name
    counts: dict[frozenset[str], int] = {}

    def distinct(columns: dict[str, Any]) -> int:
        key = frozenset(columns)
        if key not in counts:
            counts[key] = int(con.execute(f"SELECT count(*) FROM (SELECT DISTINCT {', '.join(columns)} FROM {table})").fetchone()[0])
        return counts[key]

    comparisons = [(c, _groups(c, distinct)) for c in model._settings_obj.comparisons]
    ranks = [f"(dense_rank() OVER (ORDER BY {', '.join(g.columns)}) - 1)::INTEGER AS g{i}"
             for i, g in enumerate(g for _, gs in comparisons for g in gs)]
    codes = con.execute(f"SELECT {uid} AS uid, {', '.join(ranks)} FROM {table} ORDER BY {uid}").fetchnumpy()
    ids = np.asarray(codes.pop("uid"))
    left = np.searchsorted(ids, pairs.column("join_key_l").to_numpy()).astype(np.int32)
    right = np.searchsorted(ids, pairs.column("join_key_r").to_numpy()).astype(np.int32)
    columns = {name: pairs.column(name) for name in pairs.column_names}
    number = iter(range(len(ranks)))
    for comparison, groups in comparisons:
        first = np.full(len(left), _NO_LEVEL, dtype=np.uint8)
        for group in groups:
            code = np.asarray(codes[f"g{next(number)}"], dtype=np.int32)
            first = np.minimum(first, _group_first(con, table, group, code, left, right))
        lut = np.full(_NO_LEVEL + 1, comparison.comparison_levels[-1].comparison_vector_value, dtype=np.int8)
        for position, level in enumerate(comparison.comparison_levels[:-1]):
            lut[position] = level.comparison_vector_value
        columns[comparison._gamma_column_name] = pa.array(lut[first])
    name = "__undercount_vectors_arrow"
    con.register(name, pa.table(columns))
    try:
        from splink.internals.pipeline import CTEPipeline

        pipeline = CTEPipeline()
        pipeline.enqueue_sql(f"SELECT * FROM {name}", _VECTORS)
        return model._db_api.sql_pipeline_to_splink_dataframe(pipeline)
    finally:
        con.unregister(name)


def _group_first(con: Any, table: str, group: _Group, code: Any, left: Any, right: Any) -> Any:
    """Each pair's first true condition of the group (its position in the comparison; 255 if none): evaluated on
    one pair of records per pair of distinct values that occurs, then looked up for every pair."""
    import numpy as np
    import pyarrow as pa

    k = int(code.max()) + 1 if len(code) else 1
    wide = code.astype(np.int64) if k * k >= 2**31 else code  # a pair of values' number fits 32 bits in a case that compares all pairs
    index = wide[left] * wide.dtype.type(k) + wide[right]
    if k * k <= max(4 * len(index), 1 << 22):
        seen = np.zeros(k * k, dtype=bool)
        seen[index] = True
        combos = np.flatnonzero(seen)
        inverse = None
    else:
        combos, inverse = np.unique(index, return_inverse=True)
    representative = np.empty(k, dtype=np.int64)
    representative[code] = np.arange(len(code))
    name = "__undercount_value_pairs"
    con.register(name, pa.table({"i": np.arange(len(combos), dtype=np.int64), "pl": representative[combos // k],
                                 "pr": representative[combos % k]}))
    try:
        selects = ", ".join(s for c in group.columns.values() for s in (c.l_name_as_l, c.r_name_as_r))
        whens = " ".join(f"WHEN {condition} THEN {position}" for position, condition in group.conditions)
        found = con.execute(
            f"SELECT i, CASE {whens} ELSE {_NO_LEVEL} END AS p FROM (SELECT v.i, {selects} FROM {name} AS v "
            f"JOIN {table} AS l ON l.__undercount_pos = v.pl JOIN {table} AS r ON r.__undercount_pos = v.pr)"
        ).fetchnumpy()
    finally:
        con.unregister(name)
    first = np.empty(len(combos), dtype=np.uint8)
    first[np.asarray(found["i"])] = np.asarray(found["p"])
    if inverse is not None:
        return first[inverse]
    lookup = np.full(k * k, _NO_LEVEL, dtype=np.uint8)
    lookup[combos] = first
    return lookup[index]


def _predict_lean(model: Any, threshold: float) -> Any:
    """Splink's predict (one chunk) without the compared values or the blocking columns carried along.

    The scored pairs are read by their ids, levels and weights (link.model.scored_select), so the
    records' values, the capped block keys and the rare-key lists of both records are neither joined
    to the blocked pairs nor kept in the output (Splink's training mode: its levels, weights and
    term-frequency columns, computed by the same SQL expressions). The settings keep
    ``retain_matching_columns`` as they were (the saved model is unchanged).
    """
    from splink.internals.comparison_vector_values import compute_comparison_vector_values_from_id_pairs_sqls
    from splink.internals.dialects import SplinkDialect
    from splink.internals.pipeline import CTEPipeline
    from splink.internals.predict import predict_from_comparison_vectors_sqls
    from splink.internals.vertically_concatenate import enqueue_df_concat_with_tf

    settings = model._settings_obj
    retained = settings._retain_matching_columns
    settings._retain_matching_columns = False  # no blocking column among the columns to retain
    try:
        blocked, cached = model.inference._get_or_compute_blocked_pairs_for_predict_chunk(left_chunk=(1, 1), right_chunk=(1, 1))
        try:
            info = settings.column_info_settings
            pipeline = CTEPipeline([blocked])
            enqueue_df_concat_with_tf(model, pipeline)
            pipeline.enqueue_list_of_sqls(compute_comparison_vector_values_from_id_pairs_sqls(
                settings._columns_to_select_for_blocking, settings._columns_to_select_for_comparison_vector_values,
                input_tablename_l="__splink__df_concat_with_tf", input_tablename_r="__splink__df_concat_with_tf",
                source_dataset_input_column=info.source_dataset_input_column, unique_id_input_column=info.unique_id_input_column,
                link_type=settings._link_type, sql_dialect_str=model._sql_dialect_str,
            ))
            pipeline.enqueue_list_of_sqls(predict_from_comparison_vectors_sqls(
                unique_id_input_columns=info.unique_id_input_columns, core_model_settings=settings.core_model_settings,
                sql_dialect=SplinkDialect.from_string(model._sql_dialect_str), threshold_match_probability=threshold,
                retain_matching_columns=False, retain_intermediate_calculation_columns=settings._retain_intermediate_calculation_columns,
                training_mode=True, additional_columns_to_retain=settings._additional_columns_to_retain,
            ))
            return model._db_api.sql_pipeline_to_splink_dataframe(pipeline)
        finally:
            if not cached:
                blocked.drop_table_from_database_and_remove_from_cache()
    finally:
        settings._retain_matching_columns = retained


def _predict_from_vectors(model: Any, vectors: Any, threshold: float) -> Any:
    """Splink's predict (one chunk, no source pruning) with each pair's levels read from ``vectors``.

    The scored pairs are read by their ids, levels and weights (link.model.scored_select), so the
    compared values themselves are not carried along (Splink's own training mode): a pair is joined
    to nothing but its records' term frequencies; the weights are Splink's, term for term.
    """
    from splink.internals.comparison_vector_values import compute_comparison_vector_values_from_id_pairs_sqls
    from splink.internals.dialects import SplinkDialect
    from splink.internals.pipeline import CTEPipeline
    from splink.internals.predict import predict_from_comparison_vectors_sqls
    from splink.internals.settings import Settings
    from splink.internals.vertically_concatenate import enqueue_df_concat_with_tf

    settings = model._settings_obj
    uids = settings.column_info_settings.unique_id_input_columns
    gammas = _gammas(settings)
    replaced = dict(gammas)
    columns = Settings.columns_to_select_for_comparison_vector_values(
        unique_id_input_columns=uids, comparisons=settings.comparisons, retain_matching_columns=False,
        additional_columns_to_retain=settings._additional_columns_to_retain,
    )
    pipeline = CTEPipeline([vectors])
    pipeline.enqueue_sql(f"SELECT * FROM {_VECTORS}", "__splink__blocked_id_pairs")
    enqueue_df_concat_with_tf(model, pipeline)
    pipeline.enqueue_list_of_sqls(compute_comparison_vector_values_from_id_pairs_sqls(
        [*settings._columns_to_select_for_blocking, *(f"CAST(b.{g} AS INTEGER) AS {g}" for _, g in gammas)],
        [replaced.get(column, column) for column in columns],
        input_tablename_l="__splink__df_concat_with_tf", input_tablename_r="__splink__df_concat_with_tf",
        source_dataset_input_column=None, unique_id_input_column=settings.column_info_settings.unique_id_input_column,
        link_type=settings._link_type, sql_dialect_str="duckdb",
    ))
    pipeline.enqueue_list_of_sqls(predict_from_comparison_vectors_sqls(
        unique_id_input_columns=uids, core_model_settings=settings.core_model_settings,
        sql_dialect=SplinkDialect.from_string("duckdb"), threshold_match_probability=threshold,
        retain_matching_columns=False, retain_intermediate_calculation_columns=True, training_mode=True,
        additional_columns_to_retain=settings._additional_columns_to_retain,
    ))
    return model._db_api.sql_pipeline_to_splink_dataframe(pipeline)


class _ChunkCounts:
    """Splink's u chunk step (``_accumulate_u_counts_from_chunk_and_check_min_count``) with the counts read from
    the shared vectors: the chunk's pairs are those of the sample (both records in it) whose right record falls
    in the chunk (Splink's own chunk condition), and the rest (accumulate, stop at the minimum count) is Splink's.
    """

    def __init__(self, vectors: Any, original: Any) -> None:
        self.vectors = vectors
        self.original = original
        self.sampled: Any = None
        self._sample_name: str | None = None
        # (number of chunks) -> (gamma column, chunk) -> the chunk's (level, count) rows, every chunk counted at once
        self._counts: dict[int, dict[tuple[str, int], list[tuple[int, int]]]] = {}

    def _pairs(self, db_api: Any, df_sample: Any, uid: Any) -> str:
        """The vectors of the pairs within the sample, the right record's id under its own name (made once)."""
        if self._sample_name != df_sample.physical_name:
            self.close()
            from splink.internals.pipeline import CTEPipeline

            name = uid.name
            pipeline = CTEPipeline([self.vectors, df_sample])
            pipeline.enqueue_sql(
                f"SELECT v.join_key_r AS {name}, v.* EXCLUDE (join_key_l, join_key_r, match_key) FROM {_VECTORS} AS v "
                f"WHERE v.join_key_l IN (SELECT {name} FROM __splink__df_concat_sample) "
                f"AND v.join_key_r IN (SELECT {name} FROM __splink__df_concat_sample)",
                "__undercount_sample_vectors",
            )
            self.sampled = db_api.sql_pipeline_to_splink_dataframe(pipeline)
            self._sample_name = df_sample.physical_name
        return str(self.sampled.physical_name)

    def __call__(self, **kw: Any) -> bool:
        from splink.internals.chunking import _chunk_assignment_sql

        db_api, comparison, uid = kw["db_api"], kw["comparison"], kw["unique_id_input_column"]
        if (kw.get("split_sqls") or kw["link_type"] != "dedupe_only" or kw["source_dataset_input_column"] is not None
                or kw["df_sample"].templated_name != "__splink__df_concat_sample"):
            return bool(self.original(**kw))
        table = self._pairs(db_api, kw["df_sample"], uid)
        gamma, chunks = comparison._gamma_column_name, kw["rhs_num_chunks"]
        counts = self._chunk_counts(db_api, table, _chunk_assignment_sql([uid], 1, chunks, "r", db_api.sql_dialect), chunks)
        if counts is not None:
            rows = counts.get((gamma, kw["rhs_chunk_num"]), [])
        else:
            chunk = _chunk_assignment_sql([uid], kw["rhs_chunk_num"], chunks, "r", db_api.sql_dialect)
            rows = db_api._con.execute(f"SELECT {gamma}, count(*) FROM {table} AS r WHERE 1=1 {chunk} GROUP BY 1").fetchall()
        accumulator, least = kw["counts_accumulator"], kw["min_count_per_level"]
        accumulator.update_from_chunk_counts([{"comparison_vector_value": int(g), "u_count": float(n)} for g, n in rows])
        return least is not None and bool(accumulator.all_levels_meet_min_u_count(least))

    def _chunk_counts(self, db_api: Any, table: str, first: str, chunks: int) -> dict[tuple[str, int], list[tuple[int, int]]] | None:
        """Every comparison's counts of levels in every chunk, one scan of the sample's vectors for all of them
        (Splink asks one comparison and one chunk at a time); None if Splink's chunk condition (``first``, the
        condition of chunk 1) is not the ``AND <chunk expression> = 1`` this reads."""
        if chunks not in self._counts:
            if first == "":
                expression = "1"
            elif first.startswith(" AND ") and first.endswith(" = 1"):
                expression = first[len(" AND "):-len(" = 1")]
            else:
                return None
            gammas = [c for c in db_api._con.sql(f"SELECT * FROM {table} LIMIT 0").columns if c.startswith("gamma_")]
            found = db_api._con.execute(
                f"SELECT __chunk, {', '.join(f'GROUPING({g})' for g in gammas)}, {', '.join(gammas)}, count(*) "
                f"FROM (SELECT {expression} AS __chunk, {', '.join(gammas)} FROM {table} AS r) "
                f"GROUP BY GROUPING SETS ({', '.join(f'(__chunk, {g})' for g in gammas)})"
            ).fetchall()
            counts: dict[tuple[str, int], list[tuple[int, int]]] = {}
            for row in found:
                grouped = row[1:1 + len(gammas)].index(0)  # GROUPING() is 0 for the set's own column
                counts.setdefault((gammas[grouped], int(row[0])), []).append((row[1 + len(gammas) + grouped], row[-1]))
            self._counts[chunks] = counts
        return self._counts[chunks]

    def close(self) -> None:
        if self.sampled is not None:
            self.sampled.drop_table_from_database_and_remove_from_cache()
            self.sampled = None
            self._sample_name = None
        self._counts = {}


def _clamped_lookup(records: list[dict[str, Any]]) -> dict[str, dict[int, Any]]:
    """Splink's EM lookup, with probabilities that underflowed to 0.0 raised to a tiny value.

    Splink 5 refuses an m probability of exactly 0.0, which EM produces when no likely match
    falls in a level (common in small cases); the level is then merely very unlikely.
    """
    from splink.internals.m_u_records_to_parameters import m_u_records_to_lookup_dict

    fixed = [
        {**r, **{k: 1e-9 for k in ("m_probability", "u_probability") if r.get(k) == 0.0}} for r in records
    ]
    return m_u_records_to_lookup_dict(fixed)


def _exact_parts(condition: str, dialect: str) -> list[Any]:
    import sqlglot
    from splink.internals.comparison_level import _get_and_subclauses
    from sqlglot.optimizer.normalize import normalize
    from sqlglot.optimizer.simplify import simplify

    parts: list[Any] = _get_and_subclauses(simplify(normalize(sqlglot.parse_one(condition.lower(), read=dialect))))
    return parts


@functools.cache
def _is_exact(condition: str, dialect: str) -> bool:
    """Splink's ``ComparisonLevel._is_exact_match`` (an AND of ``col_l = col_r``), which parses and simplifies
    the SQL with sqlglot at every call (each EM session asks it of every level): once per condition."""
    from splink.internals.comparison_level import _is_exact_match

    return condition.strip().upper() != "ELSE" and all(
        _is_exact_match(e) for e in _exact_parts(condition, dialect)  # type: ignore[no-untyped-call]
    )


@functools.cache
def _exact_columns(condition: str, dialect: str) -> tuple[str, ...]:
    """Splink's ``ComparisonLevel._exact_match_colnames``, once per condition."""
    from splink.internals.comparison_level import _exact_match_colname

    if not _is_exact(condition, dialect):
        raise ValueError("sql_cond not an exact match so can't get exact match column name")
    return tuple(_exact_match_colname(e) for e in _exact_parts(condition, dialect))  # type: ignore[no-untyped-call]


def _level_is_exact_match(level: Any) -> bool:
    return _is_exact(level.sql_condition, level.sqlglot_dialect)


def _level_exact_match_colnames(level: Any) -> list[str]:
    return list(_exact_columns(level.sql_condition, level.sqlglot_dialect))


# Splink's own properties, kept when they are replaced (tests compare the two)
_SPLINK_EXACT: dict[str, Any] = {}


def _patch_em() -> None:
    import splink.internals.expectation_maximisation as em
    from splink.internals.comparison_level import ComparisonLevel

    # Splink internals: the name is imported, not re-exported, and its signature is wider than ours.
    em.m_u_records_to_lookup_dict = _clamped_lookup  # type: ignore[attr-defined,assignment]
    # the same answers, each condition parsed once (the properties are Splink's, read by every EM session)
    _SPLINK_EXACT.setdefault("is", ComparisonLevel.__dict__["_is_exact_match"])
    _SPLINK_EXACT.setdefault("columns", ComparisonLevel.__dict__["_exact_match_colnames"])
    ComparisonLevel._is_exact_match = property(_level_is_exact_match)  # type: ignore[method-assign,assignment]
    ComparisonLevel._exact_match_colnames = property(_level_exact_match_colnames)  # type: ignore[method-assign,assignment]


def em_session(model: Any, blocking_rule: str, *, max_pairs: float | None) -> None:
    """One session of expectation-maximisation of m on the pairs of one blocking rule (SQL).

    Raises:
        Exception: whatever Splink or the engine raised (too few pairs in a small case, engine
            errors); the linker's settings are then restored, as Splink trims them first.
    """
    saved = model._settings_obj.core_model_settings.copy()
    _patch_em()
    try:
        model.training.estimate_parameters_using_expectation_maximisation(
            blocking_rule, estimate_without_term_frequencies=True, max_pairs=max_pairs,
        )
    except Exception:
        model._settings_obj.core_model_settings = saved
        raise


def m_from_labels(model: Any, table: Any, name: str) -> None:
    """Estimate m from pairs people decided are one person (unique_id_l, unique_id_r)."""
    model.table_management.register_table(table, name, overwrite=True)
    model.training.estimate_m_from_pairwise_labels(name)


@dataclass(frozen=True)
class Level:
    """One comparison level of a linker's model (the null level left out).

    Attributes:
        comparison: the comparison's output column name (e.g. 'given', 'age').
        label: the level's label (``label_for_charts``).
        is_else: whether it is the comparison's ELSE level.
    """

    comparison: str
    label: str
    is_else: bool
    _level: Any

    @property
    def m(self) -> float | None:
        """The level's m probability (None or not a float when not trained)."""
        m = self._level.m_probability
        return m if isinstance(m, float) else None

    def set_m(self, value: float) -> None:
        """Set the level's m probability (in the linker's model)."""
        self._level.m_probability = value

    def scale_trained_u(self, factor: float, cap: float) -> None:
        """Divide every trained u estimate of the level by ``factor``, capped at ``cap``
        (call :func:`refresh_m_u` afterwards)."""
        for record in self._level._trained_u_probabilities:
            if isinstance(record["probability"], float):
                record["probability"] = min(record["probability"] / factor, cap)


def levels(model: Any) -> Iterator[Level]:
    """Every non-null comparison level of the linker's model, comparison by comparison."""
    for comparison in model._settings_obj.comparisons:
        for level in comparison._comparison_levels_excluding_null:
            yield Level(comparison.output_column_name, level.label_for_charts, bool(level._is_else_level), level)


def refresh_m_u(model: Any) -> None:
    """Recompute m and u from the trained estimates (after :meth:`Level.scale_trained_u`)."""
    model._populate_m_u_from_trained_values()


def untrained(model: Any) -> list[tuple[str, str | None]]:
    """Comparisons whose m no EM session has estimated (and not all fixed): (comparison, input column)."""
    out = []
    for comparison in model._settings_obj.comparisons:
        found = comparison._comparison_levels_excluding_null
        if any(lv._has_estimated_m_values for lv in found) or all(lv._fix_m_probability for lv in found):
            continue
        column = next((c for c in comparison._input_columns_used_by_case_statement), None)
        out.append((comparison.output_column_name, column.input_name if column is not None else None))
    return out
