"""CSV a spreadsheet can open safely: attacker-written cells never become formulas.

Object keys, user agents, referers and principals come from log lines an attacker wrote. Excel,
LibreOffice and Google Sheets evaluate a cell that starts with `=`, `+`, `-`, `@`, a tab or a
carriage return, so `=HYPERLINK("http://evil.example/x","X")` as a key would become a live link in
the analyst's spreadsheet. Following OWASP's CSV-injection rule, such text cells get a leading `'`,
which spreadsheets show as text. JSON and Parquet outputs keep the exact values.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

__all__ = ["FORMULA_START", "formula_safe", "write_csv"]

#: The first characters that make a spreadsheet treat a cell as a formula (OWASP).
FORMULA_START = r"^[=+\-@\t\r]"


def _safe_text(column: pl.Expr) -> pl.Expr:
    return pl.when(column.str.contains(FORMULA_START)).then(pl.lit("'") + column).otherwise(column)


def formula_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with every text cell that a spreadsheet would run as a formula made inert.

    Lists are written as one cell of their items joined by newlines (a spreadsheet keeps them in
    one cell), each item made inert the same way.
    """
    exprs: list[pl.Expr] = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.List):
            col = col.list.eval(_safe_text(pl.element().cast(pl.String))).list.join("\n")
        elif isinstance(dtype, pl.Struct):
            col = _safe_text(col.struct.json_encode())
        elif dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
            col = _safe_text(col.cast(pl.String))
        exprs.append(col.alias(name))
    return frame.select(exprs)


def write_csv(frame: pl.DataFrame, path: str | Path | None = None) -> str | None:
    """Write the frame as formula-safe CSV to `path`, or return the text when no path is given."""
    safe = formula_safe(frame)
    if path is None:
        return safe.write_csv()
    safe.write_csv(path)
    return None
