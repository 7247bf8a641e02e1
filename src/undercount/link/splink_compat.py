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
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from undercount.errors import LinkError

__all__ = [
    "SUPPORTED", "Level", "check_version", "duckdb_api", "em_session", "estimate_prior", "estimate_u", "levels",
    "linker", "m_from_labels", "predict", "prior", "quiet", "refresh_m_u", "save_model", "set_prior", "similarity_jar",
    "spark_api", "untrained",
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
    """Score every blocked pair at or above ``threshold`` (a SplinkDataFrame; see the backends' ``to_pandas``)."""
    return model.inference.predict(threshold_match_probability=threshold, warning_mode="never")


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
    """u probabilities from randomly sampled pairs."""
    model.training.estimate_u_using_random_sampling(
        max_pairs=max_pairs, seed=seed, num_chunks=num_chunks, min_count_per_level=min_count_per_level,
    )


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
