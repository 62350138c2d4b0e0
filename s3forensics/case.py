"""A case: a folder holding evidence copies and a DuckDB database; what notebooks and the CLI call."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from . import store
from .enrich.macros import install_macros
from .errors import CaseError, ParameterError
from .evidence_files import (
    TMP_DIR,
    remove_stale_temp_files,
)
from .ingest import IngestSummary, _walk, collect_files, ingest_objects
from .views import install_views

if TYPE_CHECKING:
    from .acquire import AcquireResult
    from .findings import Finding
    from .integrity import IntegrityReport
    from .manifest import VerifyReport
    from .pivots import EntityKind, Profile
    from .report import RunReport

__all__ = ["Case", "IngestSummary", "collect_files"]

DB_NAME = "case.duckdb"
# Case folders may hold these besides the database; anything else means "not a case folder".
_CASE_ENTRIES = {DB_NAME, DB_NAME + ".wal", "evidence", "context", "manifest.jsonl", "reports",
                 "findings", TMP_DIR}

class Case:
    """A case folder: `case.duckdb` plus `evidence/` copies of every object loaded."""

    def __init__(self, root: Path, con: duckdb.DuckDBPyConnection, *,
                 read_only: bool = False) -> None:
        self.root = root
        self.con = con
        #: Opened read-only: any number of such openings share the case; nothing can be loaded.
        self.read_only = read_only

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, create: bool = True,
             read_only: bool = False) -> Case:
        """Open the case at `path`, creating the folder and database when `create` is true."""
        root = Path(path)
        db = root / DB_NAME
        if not db.exists():
            if not create or read_only:
                raise CaseError(f"{root}: not a case folder (no {DB_NAME}); ingest something first")
            if root.exists() and not root.is_dir():
                raise CaseError(f"{root}: exists and is not a folder")
            stray = sorted(e.name for e in root.iterdir() if e.name not in _CASE_ENTRIES) \
                if root.exists() else []
            if stray:
                raise CaseError(
                    f"{root}: folder is not empty and holds no {DB_NAME} (found {', '.join(stray[:3])}); "
                    "choose a new or empty folder for the case"
                )
            root.mkdir(parents=True, exist_ok=True)
        con = store.connect(db, read_only=read_only)
        if read_only:
            # A case an older version wrote lacks the macros today's queries call, and a
            # read-only open cannot add them to it: this connection gets its own.
            install_macros(con, temp=True)
        else:
            store.ensure_schema(con)
            # One transaction: each of the views' hundreds of statements committed alone cost
            # a WAL sync each, 0.9-1.5 s of every open for writing here (issue 15); 0.1-0.2 s now.
            con.execute("BEGIN TRANSACTION")
            try:
                install_views(con)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            # Only one writer holds a case: what is in tmp/ now is left from an interrupted run.
            remove_stale_temp_files(root)
        return cls(root, con, read_only=read_only)

    @property
    def evidence_dir(self) -> Path:
        """Folder holding the byte-for-byte copies of every evidence object."""
        return self.root / "evidence"

    def close(self) -> None:
        """Close the database connection."""
        self.con.close()

    def __enter__(self) -> Case:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sql(self, query: str, params: Mapping[str, Any] | None = None) -> pl.DataFrame:
        """Run SQL against the case with `$name` parameters bound by DuckDB; return a polars frame."""
        return store.fetch_frame(self.con, query, params)

    def tables(self) -> dict[str, int]:
        """Row count of each case table."""
        return {t: self.con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                for t in store.TABLE_SCHEMAS}

    # -- what a case can do: each verb fronts the module that does the work -----------------------

    def query(self, name: str, /, **params: Any) -> pl.DataFrame:
        """Run a named query of the catalogue with its parameters bound by DuckDB."""
        from .queries import default_registry

        return default_registry().get(name).run(self.con, params)

    def findings(self, *, start: datetime | str | None = None, end: datetime | str | None = None,
                 save: bool = False) -> list[Finding]:
        """Run every detection over [start, end); with `save`, write them under findings/."""
        from .findings import run_findings, save_findings

        found = run_findings(self.con, start=start, end=end)
        if save:
            save_findings(self.root, found, parameters={"start": start, "end": end})
        return found

    def profile(self, kind: EntityKind, value: str, **options: Any) -> Profile:
        """Everything one IP, principal, access key or bucket did, across both sources."""
        from .pivots import profile

        return profile(self.con, kind, value, **options)

    def enrich(self, **options: Any) -> dict[str, Any]:
        """Classify the case's addresses, user agents and principals from local data."""
        from .enrich import refresh_enrichment

        self._check_writable()
        return refresh_enrichment(self.con, **options)

    def acquire(self, **options: Any) -> AcquireResult:
        """Fetch a UTC window's log objects from S3 into the case (read-only on AWS) and load them."""
        from .acquire import acquire

        return acquire(self, **options)

    def verify(self) -> VerifyReport:
        """Re-hash every evidence copy against the case's records."""
        from .manifest import verify_case

        return verify_case(self.root, con=self.con)

    def verify_trail(self, **options: Any) -> IntegrityReport:
        """Prove (or not) the case's CloudTrail files with the signed digest chain, offline."""
        from .integrity import verify_trail

        return verify_trail(self, **options)

    def report(self, **options: Any) -> RunReport:
        """Run the guided notebooks on this case into reports/ (needs the notebooks extra)."""
        from .report import run_notebooks

        # The notebooks run in kernels of their own, which open the case themselves: this
        # process lets go of it meanwhile, so that its lock does not shut them out.
        self.con.close()
        try:
            return run_notebooks(self.root, **options)
        finally:
            self.con = store.connect(self.root / DB_NAME, read_only=self.read_only)

    # -- ingest ---------------------------------------------------------------------------------

    def ingest(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        kind: str = "auto",
        sources: Mapping[str | os.PathLike[str], Mapping[str, Any]] | None = None,
        progress: bool = True,
        follow_links: bool = True,
    ) -> IngestSummary:
        """Copy, parse and load log objects from files and folders; safe to repeat.

        Symbolic links inside the folders are followed and recorded (`evidence.link_target`);
        with `follow_links=False` they are skipped and listed in the summary.
        """
        if kind not in ("auto", "s3-access", "cloudtrail"):
            raise ParameterError("kind", f"{kind!r} is unknown: use s3-access, cloudtrail or auto")
        self._check_writable()
        files, skipped_links = _walk(paths, follow_links=follow_links)
        src = {os.path.abspath(k): v for k, v in (sources or {}).items()}
        summary = ingest_objects(self, 
            [(path, root, src.get(os.path.abspath(path), {}), link) for path, root, link in files],
            kind=kind, progress=progress)
        summary.skipped[:0] = skipped_links
        return summary

    def _check_writable(self) -> None:
        if self.read_only:
            raise CaseError(f"{self.root}: the case is open read-only here; open it for writing "
                            "to load evidence")

