"""Parsers: log bytes in, typed polars frames (rows + rejects) out."""

from __future__ import annotations

from .common import REJECT_SCHEMA, ParseResult, decompress, read_object

__all__ = ["REJECT_SCHEMA", "ParseResult", "decompress", "read_object"]
