"""The Spark engine gives the same model and clusters as DuckDB (needs Java; marked spark)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from undercount.link import link_case

from .conftest import make_case

pytestmark = pytest.mark.spark


@pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java")
def test_spark_and_duckdb_give_the_same_clusters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pyspark")
    # The JVMs of this short run (Spark's launcher and driver) compile with C1 only and collect with
    # the serial collector: the JIT's C2 tier costs a short run more than it gives back (docs/testing.md,
    # session 13: the test's processor seconds about 77 -> 51). Users' long runs keep the JVM's defaults.
    monkeypatch.setenv("JDK_JAVA_OPTIONS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
    case = make_case(tmp_path, lists=("moh", "press"))
    duck = link_case(case, engine="duckdb")
    duck_clusters = case.clusters()[["record_id", "person_id"]]
    spark = link_case(case, engine="spark")
    spark_clusters = case.clusters()[["record_id", "person_id"]]
    assert spark.engine == "spark" and spark.records == duck.records
    assert spark_clusters.equals(duck_clusters)
    models = case.query("SELECT engine, settings FROM uc_link_models ORDER BY engine")
    m_duck, m_spark = (json.loads(s)["splink"]["comparisons"] for s in models["settings"])
    given_duck = [lv.get("m_probability") for lv in m_duck[0]["comparison_levels"]]
    given_spark = [lv.get("m_probability") for lv in m_spark[0]["comparison_levels"]]
    assert given_duck == pytest.approx(given_spark, abs=0.02)
