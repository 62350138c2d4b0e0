"""Named investigative queries: `.sql` files with a metadata header, loaded, validated, run bound."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from ..errors import QueryError, TimeRangeError
from ..timerange import parse_utc

__all__ = [
    "Caveat",
    "Param",
    "Query",
    "QueryRegistry",
    "FINDING_COLUMNS",
    "default_registry",
]

BUILTIN_DIR = Path(__file__).parent
KINDS = ("detection", "hunt", "summary")
SEVERITIES = ("critical", "high", "medium", "low", "info")
SOURCES = ("s3-access", "cloudtrail", "both")
PARAM_TYPES = ("timestamp", "integer", "float", "string", "string[]", "boolean")
#: Columns every detection returns, so findings stack and display alike. The entity columns
#: (principal, source_ip, access_key_id, bucket, object_key) hold one value (VARCHAR) or, in a row
#: that sums up several requests, a sorted list of distinct values (VARCHAR[], from
#: `list_sort(list_distinct(list(x)))`, which Spark also reads): never text joined with ', ',
#: which object keys and user agents contain.
FINDING_COLUMNS = ("first_seen", "last_seen", "principal", "source_ip", "access_key_id",
                   "bucket", "object_key", "events", "detail")
_HEADER_END = "---"
# Stratus Red Team technique ids look like aws.<tactic>.<technique>.
_STRATUS_ID = re.compile(r"^aws\.[a-z-]+\.[a-z0-9-]+$")
#: `<name>.spark.sql` beside `<name>.sql`: the same query for another engine, not a query itself.
DIALECT_VARIANTS = (".spark.sql", ".athena.sql")
_PARAM_REF = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
# String literals and comments are blanked before looking for $params, so text inside them
# is never mistaken for a parameter.
_LITERALS = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", re.S)


@dataclass(frozen=True)
class Param:
    """A declared, typed query parameter."""

    name: str
    type: str
    default: Any
    description: str

    def coerce(self, value: Any) -> Any:
        """Convert a CLI string or Python value to this parameter's type."""
        if value is None:
            return None
        try:
            if self.type == "timestamp":
                return parse_utc(value, name=self.name)
            if self.type == "integer":
                return int(value)
            if self.type == "float":
                return float(value)
            if self.type == "boolean":
                if isinstance(value, str):
                    if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                        raise ValueError(value)
                    return value.lower() in ("true", "1", "yes")
                return bool(value)
            if self.type == "string[]":
                if isinstance(value, str):
                    return [v.strip() for v in value.split(",") if v.strip()]
                return [str(v) for v in value]
            return str(value)
        except (TypeError, ValueError, TimeRangeError) as exc:
            raise QueryError(f"parameter {self.name}: {value!r} is not a valid {self.type} ({exc})") from exc


@dataclass(frozen=True)
class Caveat:
    """What a reader of a query's result must be told when the case lacks one log source.

    Declared in the header (`caveats:`), so the notebooks' sentences need no knowledge of
    particular queries: `text` is said when the case holds records but none of `missing`; with
    `stand_in`, only when that query (over another source: a label column, then a count column)
    returns rows, `text` then naming `{requests}` (the total count) and `{listing}` (the labels
    with their counts).
    """

    missing: str
    text: str
    stand_in: str | None = None


@dataclass(frozen=True)
class Query:
    """One named query: metadata from the header plus the SQL body."""

    name: str
    title: str
    kind: str
    source: str
    description: str
    sql: str
    path: Path
    severity: str | None = None
    mitre: tuple[str, ...] = ()
    params: Mapping[str, Param] = field(default_factory=dict)
    columns: tuple[str, ...] = ()
    #: Stratus Red Team techniques the query detects (ids such as aws.impact.s3-ransomware-batch-deletion).
    stratus: tuple[str, ...] = ()
    #: Known benign activity that looks like what the query reports, and how it is kept apart.
    benign: tuple[str, ...] = ()
    #: What to tell a reader when the case lacks a log source (see `Caveat`).
    caveats: tuple[Caveat, ...] = ()

    def bind(self, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults overlaid with `values`, type-checked; unknown names are an error."""
        values = dict(values or {})
        unknown = sorted(set(values) - set(self.params))
        if unknown:
            known = ", ".join(self.params) or "none"
            raise QueryError(f"query {self.name}: unknown parameter(s) {', '.join(unknown)} (it takes: {known})")
        return {name: p.coerce(values.get(name, p.default)) for name, p in self.params.items()}

    def run(self, con: duckdb.DuckDBPyConnection, params: Mapping[str, Any] | None = None) -> pl.DataFrame:
        """Execute against a case connection with parameters bound by DuckDB."""
        bound = self.bind(params)
        try:
            from ..store import fetch_frame  # the case's storage: loaded when a query runs

            return fetch_frame(con, self.sql, bound)
        except duckdb.Error as exc:
            raise QueryError(f"query {self.name} ({self.path.name}) failed: {exc}") from exc


def read_header(path: Path) -> tuple[dict[str, Any], str]:
    """A `.sql` file's metadata header (YAML in `-- ` lines ended by `-- ---`) and its SQL body."""
    text = path.read_text(encoding="utf-8")
    header: list[str] = []
    body_start = None
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("--"):
            break
        content = line[2:]
        if content.strip() == _HEADER_END:
            body_start = i + 1
            break
        header.append(content[1:] if content.startswith(" ") else content)
    if body_start is None:
        raise QueryError(f"{path}: no metadata header (lines starting '-- ' ended by '-- ---')")
    import yaml  # read when a query is loaded, not when the CLI starts

    try:
        meta = yaml.safe_load("\n".join(header)) or {}
    except yaml.YAMLError as exc:
        raise QueryError(f"{path}: metadata header is not valid YAML ({exc})") from exc
    if not isinstance(meta, dict):
        raise QueryError(f"{path}: metadata header must be a YAML mapping")
    return meta, "\n".join(lines[body_start:]).strip().rstrip(";")


def declared_params(path: Path, meta: Mapping[str, Any]) -> dict[str, Param]:
    """The typed parameters a header declares (`params:`), each with a type and a description."""
    params: dict[str, Param] = {}
    for pname, spec in (meta.get("params") or {}).items():
        if not isinstance(spec, dict) or spec.get("type") not in PARAM_TYPES:
            raise QueryError(f"{path}: parameter {pname} needs a type ({', '.join(PARAM_TYPES)})")
        if not spec.get("description"):
            raise QueryError(f"{path}: parameter {pname} needs a description")
        params[pname] = Param(pname, spec["type"], spec.get("default"), spec["description"])
    return params


def used_params(sql: str) -> set[str]:
    """The `$name` parameters SQL text uses (string literals and comments aside)."""
    return set(_PARAM_REF.findall(_LITERALS.sub("''", sql)))


def _parse_file(path: Path) -> Query:
    meta, sql = read_header(path)
    name = path.stem

    def need(key: str, choices: Iterable[str] | None = None) -> str:
        value = meta.get(key)
        if not isinstance(value, str) or not value.strip():
            raise QueryError(f"{path}: header needs '{key}'")
        if choices is not None and value not in choices:
            raise QueryError(f"{path}: {key} {value!r} is not one of {', '.join(choices)}")
        return value.strip()

    kind = need("kind", KINDS)
    severity = need("severity", SEVERITIES) if kind == "detection" else meta.get("severity")
    params = declared_params(path, meta)
    used = used_params(sql)
    if used - set(params):
        raise QueryError(f"{path}: uses undeclared parameter(s) {', '.join(sorted(used - set(params)))}")
    if set(params) - used:
        raise QueryError(f"{path}: declares unused parameter(s) {', '.join(sorted(set(params) - used))}")
    mitre = meta.get("mitre") or []
    if kind == "detection" and not mitre:
        raise QueryError(f"{path}: a detection needs MITRE ATT&CK ids ('mitre')")
    stratus = _text_list(path, meta, "stratus")
    bad = [s for s in stratus if not _STRATUS_ID.match(s)]
    if bad:
        raise QueryError(f"{path}: stratus id(s) {', '.join(bad)} are not like aws.<tactic>.<technique>")
    return Query(
        name=name,
        title=need("title"),
        kind=kind,
        source=need("source", SOURCES),
        description=" ".join(need("description").split()),
        sql=sql,
        path=path,
        severity=severity,
        mitre=tuple(str(m) for m in mitre),
        params=params,
        columns=tuple(meta.get("columns") or ()),
        stratus=stratus,
        benign=tuple(" ".join(b.split()) for b in _text_list(path, meta, "benign")),
        caveats=_caveats(path, meta),
    )


_LOG_SOURCES = tuple(s for s in SOURCES if s != "both")
_CAVEAT_FIELDS = {"missing", "text", "stand_in"}
_STAND_IN_FIELDS = {"requests", "listing"}


def _caveats(path: Path, meta: Mapping[str, Any]) -> tuple[Caveat, ...]:
    """The optional `caveats:` list of the header: {missing, text, stand_in}."""
    import string

    value = meta.get("caveats")
    if value is None:
        return ()
    if not isinstance(value, list):
        raise QueryError(f"{path}: caveats must be a list of {{missing, text, stand_in}}")
    out = []
    for item in value:
        if not isinstance(item, dict) or set(item) - _CAVEAT_FIELDS:
            raise QueryError(f"{path}: a caveat takes only {', '.join(sorted(_CAVEAT_FIELDS))}")
        missing, text, stand_in = item.get("missing"), item.get("text"), item.get("stand_in")
        if missing not in _LOG_SOURCES:
            raise QueryError(f"{path}: caveat 'missing' must be one of {', '.join(_LOG_SOURCES)}")
        if not isinstance(text, str) or not text.strip():
            raise QueryError(f"{path}: a caveat needs a 'text'")
        fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
        allowed = _STAND_IN_FIELDS if stand_in else set()
        if fields - allowed:
            raise QueryError(f"{path}: caveat text names {', '.join(sorted(fields - allowed))}; "
                             f"it may name {', '.join(sorted(allowed)) or 'nothing'}"
                             + ("" if stand_in else " without a stand_in"))
        if stand_in is not None and (not isinstance(stand_in, str) or not stand_in.strip()):
            raise QueryError(f"{path}: caveat 'stand_in' must name a query")
        out.append(Caveat(missing=missing, text=" ".join(text.split()), stand_in=stand_in))
    return tuple(out)


def _text_list(path: Path, meta: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """An optional header list of non-empty strings."""
    value = meta.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise QueryError(f"{path}: {key} must be a list of non-empty texts")
    return tuple(v.strip() for v in value)


class QueryRegistry:
    """All queries by name: the built-in catalogue plus any user folders."""

    def __init__(self, folders: Iterable[str | Path] = ()) -> None:
        self._queries: dict[str, Query] = {}
        for folder in (BUILTIN_DIR, *map(Path, folders)):
            if not Path(folder).is_dir():
                raise QueryError(f"{folder}: query folder not found")
            for path in sorted(Path(folder).rglob("*.sql")):
                if path.name.endswith(DIALECT_VARIANTS):
                    continue  # another engine's hand-written version of a query (lake/translate.py)
                query = _parse_file(path)
                if query.name in self._queries and folder == BUILTIN_DIR:
                    raise QueryError(f"{path}: duplicate query name {query.name}")
                self._queries[query.name] = query  # a user's query may replace a built-in one
        for query in self._queries.values():
            for caveat in query.caveats:
                if caveat.stand_in is not None and caveat.stand_in not in self._queries:
                    raise QueryError(f"{query.path}: caveat stand_in {caveat.stand_in!r} is not a query")

    def __contains__(self, name: str) -> bool:
        return name in self._queries

    def __len__(self) -> int:
        return len(self._queries)

    def get(self, name: str) -> Query:
        """The query called `name`; an unknown name suggests close matches."""
        try:
            return self._queries[name]
        except KeyError:
            import difflib

            close = difflib.get_close_matches(name, self._queries, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else "; `s3forensics queries` lists them"
            raise QueryError(f"unknown query {name!r}{hint}") from None

    def list(self, *, kind: str | None = None, source: str | None = None) -> list[Query]:
        """Queries filtered by kind and/or source (a source filter includes 'both')."""
        return [
            q for q in sorted(self._queries.values(), key=lambda q: (KINDS.index(q.kind), q.name))
            if (kind is None or q.kind == kind)
            and (source is None or q.source in (source, "both"))
        ]

    def frame(self, *, kind: str | None = None, source: str | None = None) -> pl.DataFrame:
        """The catalogue as a frame (name, kind, source, severity, mitre, title, params)."""
        rows = [
            {"name": q.name, "kind": q.kind, "source": q.source, "severity": q.severity or "",
             "mitre": ",".join(q.mitre), "title": q.title, "params": ",".join(q.params)}
            for q in self.list(kind=kind, source=source)
        ]
        return pl.DataFrame(rows, schema=["name", "kind", "source", "severity", "mitre", "title", "params"])


_DEFAULT: QueryRegistry | None = None


def default_registry() -> QueryRegistry:
    """The built-in catalogue, loaded once."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = QueryRegistry()
    return _DEFAULT
