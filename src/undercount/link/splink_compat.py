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
        return model.inference.predict(threshold_match_probability=threshold, warning_mode="never")
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
    the same scored pairs as comparing them twice. The vectors live until :func:`predict`.

    Returns:
        Whether the vectors are shared (False, and nothing done, for other engines, link types or blocking).
    """
    from splink.internals.blocking import compute_blocked_pairs_from_concat_with_tf
    from splink.internals.comparison_vector_values import compute_comparison_vector_values_from_id_pairs_sqls
    from splink.internals.pipeline import CTEPipeline
    from splink.internals.vertically_concatenate import enqueue_df_concat_with_tf

    settings = model._settings_obj
    rules = settings._blocking_rules_to_generate_predictions
    info = settings.column_info_settings
    if (model._sql_dialect_str != "duckdb" or settings._link_type != "dedupe_only" or len(rules) != 1
            or rules[0].blocking_rule_sql.strip() != "1=1" or info.source_dataset_input_column is not None
            or len(info.unique_id_input_columns) != 1):
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
        pipeline = CTEPipeline([blocked])
        enqueue_df_concat_with_tf(model, pipeline)
        pipeline.enqueue_list_of_sqls(compute_comparison_vector_values_from_id_pairs_sqls(
            [*settings._columns_to_select_for_blocking, "b.join_key_l", "b.join_key_r"],
            ["join_key_l", "join_key_r", *(case for case, _ in _gammas(settings)), "match_key"],
            input_tablename_l="__splink__df_concat_with_tf", input_tablename_r="__splink__df_concat_with_tf",
            source_dataset_input_column=None, unique_id_input_column=info.unique_id_input_column,
            link_type=settings._link_type, sql_dialect_str="duckdb",
        ))
        # one byte a level (a comparison has a handful), read back as the CASE's own INTEGER
        levels = ", ".join(f"CAST({gamma} AS TINYINT) AS {gamma}" for _, gamma in _gammas(settings))
        pipeline.enqueue_sql(f"SELECT join_key_l, join_key_r, match_key, {levels} FROM __splink__df_comparison_vectors",
                             _VECTORS)
        _SHARED[model] = db_api.sql_pipeline_to_splink_dataframe(pipeline)
    finally:
        blocked.drop_table_from_database_and_remove_from_cache()
    return True


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
        chunk = _chunk_assignment_sql([uid], kw["rhs_chunk_num"], kw["rhs_num_chunks"], "r", db_api.sql_dialect)
        gamma = comparison._gamma_column_name
        rows = db_api._con.execute(f"SELECT {gamma}, count(*) FROM {table} AS r WHERE 1=1 {chunk} GROUP BY 1").fetchall()
        accumulator, least = kw["counts_accumulator"], kw["min_count_per_level"]
        accumulator.update_from_chunk_counts([{"comparison_vector_value": int(g), "u_count": float(n)} for g, n in rows])
        return least is not None and bool(accumulator.all_levels_meet_min_u_count(least))

    def close(self) -> None:
        if self.sampled is not None:
            self.sampled.drop_table_from_database_and_remove_from_cache()
            self.sampled = None
            self._sample_name = None


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


def _patch_em() -> None:
    import splink.internals.expectation_maximisation as em

    # Splink internals: the name is imported, not re-exported, and its signature is wider than ours.
    em.m_u_records_to_lookup_dict = _clamped_lookup  # type: ignore[attr-defined,assignment]


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
