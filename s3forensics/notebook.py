"""Helpers the guided notebooks call: open the case, show frames and charts, keep cells short."""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

import polars as pl

from .case import Case
from .display import Table
from .errors import CaseBusyError
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
              load_samples: bool = True, read_only_if_busy: bool = False) -> Case:
    """Open the notebook's case; the demo case is created from the bundled samples when missing.

    Notebooks after the first open read-only, so several can be open in JupyterLab at once.
    With `read_only_if_busy`, a case another process holds is opened read-only (saying so)
    instead of failing: for a notebook that writes only what it can also leave for later.
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
    try:
        return Case.open(root, create=not read_only, read_only=read_only)
    except CaseBusyError as exc:
        if read_only or not read_only_if_busy:
            raise
        print(f"note: the case is open in another process ({exc.holder}); it is opened read-only "
              "here, so nothing is loaded or stored in it by this notebook")
        return Case.open(root, create=False, read_only=True)


def show(frame: pl.DataFrame, *, limit: int = 30) -> Table:
    """The first `limit` rows of a frame as a readable table (plain, escaped, wrapped, UTC times),
    saying how many were left out."""
    return Table(frame, limit=limit)


def check_trail_integrity(case: Case, *, public_key: str = "", object_metadata: str = "") -> str:
    """Validate the case's CloudTrail digests offline and return the text report, verdict last.

    Keys and digest signatures come from the case (captured at acquisition, or kept by ingest
    from the folders it loaded) plus the files given.
    """
    from .integrity import IntegrityReport, verify_trail

    held = case.sql("SELECT count(*) FILTER (WHERE kind = 'cloudtrail') AS logs, "
                    "count(*) FILTER (WHERE kind = 'cloudtrail-digest') AS digests FROM evidence")
    logs, digests = int(held["logs"][0]), int(held["digests"][0])
    if not logs and not digests:  # digests alone still prove their own chain: validate them
        return IntegrityReport.not_validated(log_files=logs, digest_files=digests)
    # A case open read-only here is checked all the same; the result is shown, not stored.
    report = verify_trail(case, public_keys=[public_key] if public_key else [],
                          object_metadata=object_metadata or None, save=not case.read_only)
    text = report.render(limit=3)
    if case.read_only:
        text += "\n(the case is open read-only here: this result is not stored in the case)"
    return text
