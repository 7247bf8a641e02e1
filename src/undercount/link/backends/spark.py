"""The Spark engine: Splink's Spark backend on a local (or given) SparkSession.

pyspark is imported only here, and only when ``--engine spark`` is asked for. The default
session is local, small and modest (``local[2]``, two shuffle partitions, 2 GB of driver
memory); pass ``master`` (e.g. ``spark://host:7077``) to use a cluster.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from typing import Any

import pandas as pd

from undercount.errors import LinkError
from undercount.link.blocking import KEYS_COLUMN, capped_columns
from undercount.link.comparisons import NAME_PARTS, NEIGHBOURS

__all__ = ["SparkBackend", "java_available"]


def java_available() -> bool:
    """True when a ``java`` executable is on the PATH (Spark needs it)."""
    return shutil.which("java") is not None


def _extra_type(values: pd.Series, types: Any) -> Any:
    """Spark type of an extra field's column (``f_<name>``): number, date or text."""
    if values.dtype.kind == "f":
        return types.DoubleType()
    sample = values.dropna()
    if len(sample) and isinstance(sample.iloc[0], date):
        return types.DateType()
    return types.StringType()


class SparkBackend:
    """Splink on Spark.

    Args:
        master: Spark master URL (default ``local[2]``).
        driver_memory: ``spark.driver.memory`` (default 2g).
        shuffle_partitions: ``spark.sql.shuffle.partitions`` (default 2).

    Raises:
        LinkError: pyspark or Java is missing.
    """

    name = "spark"
    dialect = "spark"

    def __init__(
        self, *, master: str = "local[2]", driver_memory: str = "2g", shuffle_partitions: int = 2
    ) -> None:
        if not java_available():
            raise LinkError("the Spark engine needs Java (no 'java' on the PATH): use --engine duckdb")
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise LinkError("the Spark engine needs pyspark: pip install 'undercount[spark]'") from exc
        from undercount.link.splink_compat import similarity_jar

        self._tmp = tempfile.mkdtemp(prefix="undercount-spark-")
        self.spark = (
            SparkSession.builder.master(master)
            .appName("undercount-link")
            .config("spark.driver.memory", driver_memory)
            .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
            .config("spark.default.parallelism", str(shuffle_partitions))
            .config("spark.jars", similarity_jar())
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.local.dir", self._tmp)
            .getOrCreate()
        )
        self.spark.sparkContext.setLogLevel("ERROR")
        self.spark.sparkContext.setCheckpointDir(self._tmp + "/checkpoints")
        self._partitions = shuffle_partitions
        self._api: Any = None

    def db_api(self) -> Any:
        """Splink's SparkAPI on this session."""
        if self._api is None:
            from undercount.link.splink_compat import spark_api

            self._api = spark_api(self.spark, self._partitions)
        return self._api

    def register(self, table: pd.DataFrame, name: str) -> Any:
        """Register the linkage table with Splink (as a Spark DataFrame)."""
        from pyspark.sql import types as T

        from undercount.link.prepare import LIST_COLUMNS
        from undercount.names import pivot_columns

        schema = T.StructType(
            [
                T.StructField("unique_id", T.LongType()),
                T.StructField("source", T.StringType()),
                T.StructField("script", T.StringType()),
                *[T.StructField(c, T.StringType()) for c in NAME_PARTS + tuple(f"{p}_key" for p in NAME_PARTS)],
                *[T.StructField(c, T.StringType()) for p in NAME_PARTS for c in pivot_columns(p)],
                T.StructField("name_tokens", T.ArrayType(T.StringType())),
                T.StructField(KEYS_COLUMN, T.ArrayType(T.StringType())),
                *[T.StructField(f"{p}_next", T.ArrayType(T.StringType())) for p in NEIGHBOURS],
                T.StructField("key3", T.StringType()),
                *[T.StructField(c, T.StringType()) for c in capped_columns()],
                T.StructField("key_sorted", T.StringType()),
                T.StructField("id_number", T.StringType()),
                T.StructField("id_valid", T.BooleanType()),
                T.StructField("sex", T.StringType()),
                T.StructField("age", T.LongType()),
                T.StructField("date_of_birth", T.DateType()),
                T.StructField("event_date", T.DateType()),
                T.StructField("place", T.StringType()),
                *[T.StructField(c, _extra_type(table[c], T)) for c in table.columns if c.startswith("f_")],
            ]
        )
        rows = table.astype(object).where(table.notna(), None)
        for column in LIST_COLUMNS:
            rows[column] = table[column]
        columns = [f.name for f in schema.fields]
        records = [
            tuple(int(v) if c in ("unique_id", "age") and v is not None else
                  float(v) if c.startswith("f_") and isinstance(v, float) else v for c, v in zip(columns, r))
            for r in rows[columns].itertuples(index=False, name=None)
        ]
        sdf = self.spark.createDataFrame(records, schema=schema)
        return self.db_api().register(sdf, dataset_display_name=name)

    def to_pandas(self, splink_df: Any, sql_select: str) -> pd.DataFrame:
        """Select from a Splink table into pandas."""
        return self.spark.sql(f"SELECT {sql_select} FROM {splink_df.physical_name}").toPandas()

    def close(self) -> None:
        """Stop the session and remove its scratch folder."""
        try:
            self.spark.stop()
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)

