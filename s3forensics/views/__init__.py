"""Derived views every case gets: normalised actors, correlation of both sources, timeline."""

from __future__ import annotations

from pathlib import Path

import duckdb

__all__ = ["VIEW_FILES", "install_views"]

# `<name>.spark.sql` files are another engine's version of a view (s3forensics/lake/translate.py).
VIEW_FILES = sorted(p for p in Path(__file__).parent.glob("*.sql")
                    if not p.name.endswith((".spark.sql", ".athena.sql")))


def install_views(con: duckdb.DuckDBPyConnection) -> None:
    """Create or replace the derived views (in file order: later views use earlier ones)."""
    for path in VIEW_FILES:
        con.execute(path.read_text(encoding="utf-8"))
