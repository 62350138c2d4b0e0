"""The query catalogue: `.sql` files with metadata headers, loaded by name."""

from __future__ import annotations

from .registry import FINDING_COLUMNS, Param, Query, QueryRegistry, default_registry

__all__ = ["FINDING_COLUMNS", "Param", "Query", "QueryRegistry", "default_registry"]
