"""A case lake: the case tables as hive-partitioned Parquet, built and queried by DuckDB or Spark.

Nothing here is imported by `s3forensics --help`; pyspark, sqlglot and boto3 load only inside
the functions that need them.
"""

from __future__ import annotations

__all__: list[str] = []
