"""The lake's own SQL scripts: the statements `lake pull` runs, held as data like the catalogue.

A script is a `.sql` file here with the catalogue's metadata header (title, description, typed
`params`), then one or more statements. `load_script` reads it by name and checks that the
statements use exactly the declared parameters; `Script.run` executes the statements in order,
each with the values of the parameters it names bound by DuckDB (never formatted into the SQL).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import QueryError
from ...queries.registry import Param, declared_params, read_header, used_params

if TYPE_CHECKING:
    import duckdb

__all__ = ["SCRIPT_DIR", "Script", "load_script"]

SCRIPT_DIR = Path(__file__).parent


@dataclass(frozen=True)
class Script:
    """A named sequence of SQL statements with declared, typed parameters."""

    name: str
    title: str
    description: str
    params: Mapping[str, Param]
    sql: str
    path: Path

    def bind(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with `values`, each coerced to its declared type; unknown names fail."""
        unknown = sorted(set(values) - set(self.params))
        if unknown:
            raise QueryError(f"script {self.name}: unknown parameter(s) {', '.join(unknown)}")
        return {name: p.coerce(values.get(name, p.default)) for name, p in self.params.items()}

    def run(self, con: duckdb.DuckDBPyConnection, values: Mapping[str, Any]) -> None:
        """Execute the statements in order on `con`, each bound to the parameters it uses."""
        bound = self.bind(values)
        # DuckDB splits the script (literals and comments understood) and says which parameters
        # each statement names; a statement is prepared with exactly those.
        for statement in con.extract_statements(self.sql):
            con.execute(statement, {k: bound[k] for k in statement.named_parameters})


@cache
def load_script(name: str, *, folder: Path = SCRIPT_DIR) -> Script:
    """The script `<name>.sql` of `folder` (this one), its header checked against the statements."""
    path = folder / f"{name}.sql"
    if not path.is_file():
        raise QueryError(f"{path}: no such lake script")
    meta, sql = read_header(path)
    params = declared_params(path, meta)
    used = used_params(sql)
    if used != set(params):
        raise QueryError(f"{path}: uses undeclared parameter(s) "
                         f"{', '.join(sorted(used - set(params))) or 'none'}; declares unused "
                         f"{', '.join(sorted(set(params) - used)) or 'none'}")
    for key in ("title", "description"):
        if not isinstance(meta.get(key), str) or not meta[key].strip():
            raise QueryError(f"{path}: header needs '{key}'")
    return Script(name=name, title=meta["title"].strip(), description=" ".join(meta["description"].split()),
                  params=params, sql=sql, path=path)
