"""The evidence manifest (`<case>/manifest.jsonl`), and verifying a case's evidence files."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Self

import duckdb

from .errors import CaseError
from .evidence_files import EvidenceSpan, locate_evidence, sha256_file, sha256_span

__all__ = [
    "MANIFEST_KEYS",
    "MANIFEST_NAME",
    "ManifestRead",
    "ManifestWriter",
    "VerifyReport",
    "read_manifest",
    "sha256_file",
    "verify_case",
]

MANIFEST_NAME = "manifest.jsonl"
#: Every manifest line is one JSON object with exactly these keys, in this order.
MANIFEST_KEYS: tuple[str, ...] = (
    "bucket",
    "key",
    "version_id",
    "etag",
    "size",
    "last_modified",
    "storage_class",
    "encryption",
    "metadata",
    "sha256",
    "acquired_at",
    "acquired_by",
    "tool_version",
    "endpoint",
    "case_path",
    # Keys added after the first release go last; earlier manifests lack them.
    "stored_as",
    "identical_to",
)


class ManifestWriter:
    """Appends manifest lines; each line is one write so an interruption cannot tear it."""

    def __init__(self, case_root: str | os.PathLike[str]) -> None:
        self.path = Path(case_root) / MANIFEST_NAME
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        size = os.fstat(self._fd).st_size
        if size:
            # A line torn by a crash must not swallow the next record: start on a fresh line.
            with open(self.path, "rb") as fh:
                fh.seek(size - 1)
                if fh.read(1) != b"\n":
                    os.write(self._fd, b"\n")

    def write(self, entry: Mapping[str, Any]) -> None:
        """Append one record; it must have exactly MANIFEST_KEYS."""
        if tuple(entry) != MANIFEST_KEYS:
            missing = sorted(set(MANIFEST_KEYS) - set(entry))
            extra = sorted(set(entry) - set(MANIFEST_KEYS))
            raise ValueError(f"manifest record keys differ: missing {missing}, extra {extra}")
        line = json.dumps(dict(entry), ensure_ascii=False, separators=(",", ":")) + "\n"
        os.write(self._fd, line.encode())

    def close(self) -> None:
        """Flush the records to disk and close the file."""
        if self._fd >= 0:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class ManifestRead:
    """The manifest's records, and the lines that could not be read (with line numbers)."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read_manifest(case_root: str | os.PathLike[str]) -> ManifestRead:
    """Read `<case>/manifest.jsonl` (empty when absent); malformed lines become problems."""
    path = Path(case_root) / MANIFEST_NAME
    result = ManifestRead()
    if not path.exists():
        return result
    with path.open("rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                entry = json.loads(raw)
            except json.JSONDecodeError as exc:
                result.problems.append(f"{MANIFEST_NAME} line {line_no}: not JSON ({exc.msg})")
                continue
            except UnicodeDecodeError:
                result.problems.append(f"{MANIFEST_NAME} line {line_no}: not UTF-8 text")
                continue
            if not isinstance(entry, dict) or not {"case_path", "sha256"} <= set(entry):
                result.problems.append(
                    f"{MANIFEST_NAME} line {line_no}: not a manifest record (no case_path/sha256)"
                )
                continue
            result.entries.append(entry)
    return result


@dataclass
class VerifyReport:
    """What re-hashing a case's evidence found; `ok` is true only when nothing is wrong."""

    case_root: Path
    checked: int = 0
    #: case paths whose bytes no longer hash to the recorded SHA-256
    changed: list[str] = field(default_factory=list)
    #: case paths recorded but absent
    missing: list[str] = field(default_factory=list)
    #: files under evidence/ recorded nowhere
    unexpected: list[str] = field(default_factory=list)
    #: recorded files that are symbolic links or lie outside the case folder, with where they lead
    linked: list[str] = field(default_factory=list)
    #: records that cannot be checked (unreadable lines, conflicting hashes, paths outside the case)
    problems: list[str] = field(default_factory=list)
    #: objects whose rows `lake pull` brought in: their bytes stay with the lake, not the case
    pulled: int = 0

    @property
    def ok(self) -> bool:
        """True when every recorded file is present and intact and nothing else is there."""
        return not (self.changed or self.missing or self.unexpected or self.linked
                    or self.problems)

    def __str__(self) -> str:
        intact = self.checked - len(self.changed) - len(self.missing)
        lines = [f"{self.case_root}: {self.checked:,} evidence files recorded, {intact:,} intact"]
        if self.pulled:
            lines.append(f"{self.pulled:,} objects pulled from a lake: the case holds their rows, "
                         "not their bytes (lake_provenance names the lake files; verify the "
                         "originals where the lake was built)")
        for label, items in (
            ("changed (bytes differ from the recorded SHA-256)", self.changed),
            ("missing (recorded, not on disk)", self.missing),
            ("unexpected (under evidence/, recorded nowhere)", self.unexpected),
            ("not a file of the case (a symbolic link, or outside the case folder)", self.linked),
            ("problem", self.problems),
        ):
            lines += [f"{label}: {item}{_note(item)}" for item in items]
        lines.append(
            "OK: evidence intact" if self.ok else "FAILED: evidence does not match its records"
        )
        return "\n".join(lines)


def _note(item: str) -> str:
    if item.endswith(".partial"):
        return " (an interrupted download: run the same acquisition again)"
    if item.startswith("evidence/@packs/") and item.endswith(".tar"):
        return (" (a pack no loaded object points into: left by an ingest interrupted before "
                "its first load committed; its bytes are not evidence of the case)")
    return ""


def _recorded(con: duckdb.DuckDBPyConnection) -> tuple[list[tuple[str, str]], int]:
    # Objects `lake pull` brought in have rows but no copy in this case (stored_as 'lake').
    columns = {r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'evidence'").fetchall()}
    if "stored_as" not in columns:  # a case made before stored_as
        return con.execute("SELECT case_path, sha256 FROM evidence").fetchall(), 0
    held = con.execute("SELECT case_path, sha256 FROM evidence "
                       "WHERE stored_as IS DISTINCT FROM 'lake'").fetchall()
    pulled = con.execute("SELECT count(*) FROM evidence WHERE stored_as = 'lake'").fetchall()[0][0]
    return held, int(pulled)


def _evidence_table(
    case_root: Path, con: duckdb.DuckDBPyConnection | None
) -> tuple[list[tuple[str, str]], int]:
    if con is None:
        db = case_root / "case.duckdb"
        if not db.exists():
            return [], 0
        try:
            with duckdb.connect(str(db), read_only=True) as own:
                return _recorded(own)
        except duckdb.Error as exc:
            raise CaseError(f"{db}: cannot read the evidence table ({exc})") from exc
    return _recorded(con)


def verify_case(
    case_root: str | os.PathLike[str],
    *,
    con: duckdb.DuckDBPyConnection | None = None,
    workers: int = 4,
) -> VerifyReport:
    """Re-hash every evidence file the evidence table and manifest record; report what differs."""
    root = Path(case_root)
    if not root.is_dir():
        raise CaseError(f"{root}: no such case folder")
    report = VerifyReport(root)
    manifest = read_manifest(root)
    report.problems += manifest.problems
    recorded: dict[str, set[str]] = {}
    rows, report.pulled = _evidence_table(root, con)
    for case_path, sha in rows:
        recorded.setdefault(case_path, set()).add(sha)
    for entry in manifest.entries:
        recorded.setdefault(str(entry["case_path"]), set()).add(str(entry["sha256"]))

    evidence = root / "evidence"
    real_root = os.path.realpath(root)
    to_hash: list[tuple[str, EvidenceSpan, str]] = []
    held_files: set[str] = set()  # packs holding recorded members are expected files too
    for case_path, shas in sorted(recorded.items()):
        parts = PurePosixPath(case_path).parts
        if not parts or parts[0] != "evidence" or ".." in parts:
            report.problems.append(f"{case_path}: recorded path is not under evidence/")
            continue
        if len(shas) > 1:
            report.problems.append(
                f"{case_path}: recorded with {len(shas)} different SHA-256 values "
                f"({', '.join(sorted(shas))})"
            )
            continue
        report.checked += 1
        # A copy of its own, or a member of a pack (evidence_files): the file holding the bytes.
        try:
            span = locate_evidence(root, case_path)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                report.missing.append(case_path)
            else:
                report.problems.append(f"{case_path}: cannot be read ({exc.strerror or exc})")
            continue
        held = Path(span.file).relative_to(root).as_posix()
        held_files.add(held)
        # A copy swapped for a link (to the same bytes, say) or a folder linked out of the case
        # would hash as intact: the bytes checked must be the case's own.
        real = os.path.realpath(span.file)
        if real != os.path.join(real_root, *PurePosixPath(held).parts):
            where = "outside the case folder" if not real.startswith(real_root + os.sep) else \
                "elsewhere in the case"
            kind = ("a symbolic link" if os.path.islink(span.file)
                    else "reached through a symbolic link")
            report.linked.append(f"{case_path} ({kind} to {real}, {where})")
        to_hash.append((case_path, span, next(iter(shas))))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        actual = pool.map(lambda item: sha256_span(item[1]), to_hash)
        for (case_path, _, expected), got in zip(to_hash, actual):
            if got != expected:
                report.changed.append(case_path)

    if evidence.is_dir():
        for path in sorted(evidence.rglob("*")):
            if path.is_file():
                case_path = path.relative_to(root).as_posix()
                if case_path not in recorded and case_path not in held_files:
                    report.unexpected.append(case_path)
    return report
