"""The query catalogue over a lake: DuckDB over its Parquet files, or Spark SQL translated by sqlglot."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import polars as pl

from ..queries.registry import Query
from .build import LakeParameterError

__all__ = ["QueryRunner", "lake_runner"]

#: Runs one catalogue query with its parameters and returns its rows.
QueryRunner = Callable[[Query, Mapping[str, Any]], pl.DataFrame]


def lake_runner(lake: str | os.PathLike[str], *, engine: str = "local", master: str | None = None,
                spark: Any = None) -> QueryRunner:
    """A function running catalogue queries on `lake` with `engine` (local: DuckDB; spark: Spark SQL)."""
    lake = os.fspath(lake)
    if engine == "local":
        from .local import connect_lake

        con = connect_lake(lake)
        return lambda query, values: query.run(con, values)
    if engine == "spark":
        from .spark import SparkLake, get_spark

        session = SparkLake(spark or get_spark(master=master), lake)
        return session.run
    raise LakeParameterError("engine", f"{engine!r} is not one of local, spark")
