"""Helpers the guided notebooks call: open the case, show frames and charts, keep cells short."""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

import polars as pl

from .case import Case
from .display import Table
from .sample_data import bundled_samples, checkout_root

__all__ = ["CASE_ENV", "DEFAULT_CASE", "resolve_case_dir", "open_case", "notebook_dir", "show",
           "check_trail_integrity"]

#: `s3forensics lab --case DIR` sets this so every notebook opens that case.
CASE_ENV = "S3FORENSICS_CASE"
DEFAULT_CASE = Path("cases") / "demo"


def notebook_dir() -> Path:
    """Folder of the guided notebooks, shipped inside the package."""
    return Path(str(files(__package__) / "notebooks"))


def default_case_dir() -> Path:
    """The demo case: `cases/demo` in the source checkout, else under the working directory."""
    return (checkout_root() or Path.cwd()) / DEFAULT_CASE


def resolve_case_dir(case_dir: str | os.PathLike[str] | None = None) -> Path:
    """The case to use: the parameter, else $S3FORENSICS_CASE, else the bundled demo case."""
    if case_dir:
        return Path(case_dir).expanduser()
    if os.environ.get(CASE_ENV):
        return Path(os.environ[CASE_ENV]).expanduser()
    return default_case_dir()


def open_case(case_dir: str | os.PathLike[str] | None = None, *, read_only: bool = False,
              load_samples: bool = True) -> Case:
    """Open the notebook's case; the demo case is created from the bundled samples when missing.

    Notebooks after the first open read-only, so several can be open in JupyterLab at once.
    """
    from .charts import use_offline_rendering  # altair: only what draws charts pays for it

    use_offline_rendering()
    pl.Config.set_tbl_rows(30)
    pl.Config.set_fmt_str_lengths(80)
    root = resolve_case_dir(case_dir)
    is_demo = root.resolve() == default_case_dir().resolve()
    if not (root / "case.duckdb").exists() and load_samples and is_demo:
        samples = bundled_samples(generate=True)
        if samples is not None:
            with Case.open(root) as case:
                case.ingest([samples], progress=False)
    return Case.open(root, create=not read_only, read_only=read_only)


def show(frame: pl.DataFrame, *, limit: int = 30) -> Table:
    """The first `limit` rows of a frame as a readable table (plain, escaped, wrapped, UTC times),
    saying how many were left out."""
    return Table(frame, limit=limit)


def check_trail_integrity(case: Case, *, public_key: str = "", object_metadata: str = "") -> str:
    """Validate the case's CloudTrail digests offline and return the text report, verdict last.

    Keys and digest signatures come from the case (captured at acquisition, or kept by ingest
    from the folders it loaded) plus the files given.
    """
    from .integrity import verify_trail

    held = case.sql("SELECT count(*) AS n FROM evidence WHERE kind IN ('cloudtrail', 'cloudtrail-digest')")
    if not held["n"][0]:
        return "The case holds no CloudTrail files: there is nothing to validate."
    report = verify_trail(case, public_keys=[public_key] if public_key else [],
                          object_metadata=object_metadata or None)
    return report.render(limit=3)
