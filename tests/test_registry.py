"""The query registry: headers validated, parameters declared and bound, docs generated."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from s3forensics.errors import QueryError
from s3forensics.queries import FINDING_COLUMNS, QueryRegistry, default_registry
from s3forensics.queries.docs import catalogue_markdown

ROOT = Path(__file__).resolve().parents[1]

GOOD = """-- title: Requests from one address
-- kind: hunt
-- source: s3-access
-- description: Everything one IP did.
-- params:
--   ip: {type: string, default: null, description: "The address"}
-- ---
SELECT $ip AS ip, '$notaparam' AS literal -- $alsonot
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder


def test_builtin_catalogue_is_valid_and_large_enough() -> None:
    registry = default_registry()
    assert len(registry) >= 40
    kinds = {q.kind for q in registry.list()}
    assert kinds == {"detection", "hunt", "summary"}
    for q in registry.list(kind="detection"):
        assert q.severity and q.mitre, q.name
        assert all(t.startswith("T") for t in q.mitre), q.name


def test_every_detection_returns_the_finding_columns() -> None:
    con = duckdb.connect()
    from s3forensics import store
    from s3forensics.views import install_views

    store.ensure_schema(con)
    install_views(con)
    for q in default_registry().list(kind="detection"):
        frame = q.run(con)
        assert list(frame.columns) == list(FINDING_COLUMNS), q.name


def test_user_folder_adds_queries_and_parameters_are_bound(tmp_path: Path) -> None:
    registry = QueryRegistry([write(tmp_path / "mine", "ip_everything.sql", GOOD)])
    q = registry.get("ip_everything")
    assert list(q.params) == ["ip"]  # text in literals and comments is not a parameter
    con = duckdb.connect()
    evil = "1.2.3.4'; DROP TABLE x; --"
    assert q.run(con, {"ip": evil}).row(0) == (evil, "$notaparam")
    with pytest.raises(QueryError, match="unknown parameter.*nope"):
        q.run(con, {"nope": 1})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("$ip AS ip", "$ip AS ip, $other AS o"), "undeclared parameter.*other"),
        (GOOD.replace("SELECT $ip AS ip,", "SELECT"), "unused parameter.*ip"),
        (GOOD.replace("-- kind: hunt", "-- kind: guess"), "kind 'guess'"),
        (GOOD.replace("-- kind: hunt", "-- kind: detection"), "severity"),
        (GOOD.replace("-- ---\n", ""), "no metadata header"),
        (GOOD.replace("type: string, ", ""), "parameter ip needs a type"),
        (GOOD.replace("-- params:", "-- caveats:\n--   - {missing: s3, text: t}\n-- params:"),
         "caveat 'missing' must be one of s3-access, cloudtrail"),
        (GOOD.replace("-- params:", "-- caveats:\n--   - {missing: cloudtrail, text: '{n} seen'}\n-- params:"),
         "caveat text names n; it may name nothing without a stand_in"),
        (GOOD.replace("-- params:", "-- caveats:\n--   - {missing: cloudtrail, text: t, stand_in: nope}\n"
                                    "-- params:"), "caveat stand_in 'nope' is not a query"),
    ],
)
def test_invalid_query_files_are_refused_with_the_file_named(tmp_path: Path, text: str, message: str) -> None:
    folder = write(tmp_path / "bad", "broken.sql", text)
    with pytest.raises(QueryError, match=message) as err:
        QueryRegistry([folder])
    assert "broken.sql" in str(err.value)


def test_unknown_query_names_suggest_close_matches() -> None:
    with pytest.raises(QueryError, match="unknown query 'top_requester'.*did you mean top_requesters"):
        default_registry().get("top_requester")


def test_parameter_types_are_checked() -> None:
    q = default_registry().get("objects_read_in_bulk")
    with pytest.raises(QueryError, match="min_objects"):
        q.bind({"min_objects": "many"})
    bound = q.bind({"start": "2024-05-01T00:00:00Z", "factor": "2.5"})
    assert bound["start"].tzinfo is not None and bound["factor"] == 2.5
    with pytest.raises(QueryError, match="no time zone"):
        q.bind({"start": "2024-05-01T00:00:00"})


def test_docs_queries_md_is_up_to_date() -> None:
    expected = catalogue_markdown()
    actual = (ROOT / "docs" / "queries.md").read_text()
    assert actual == expected, "docs/queries.md is stale: run `s3forensics queries --markdown > docs/queries.md`"
    for q in default_registry().list():
        assert f"### `{q.name}`" in actual
