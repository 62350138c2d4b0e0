"""Render the query catalogue as Markdown (docs/queries.md is generated from this)."""

from __future__ import annotations

from .registry import KINDS, QueryRegistry, default_registry

__all__ = ["catalogue_markdown"]

_ATTACK = "https://attack.mitre.org/techniques/"


def _attack_link(tid: str) -> str:
    return f"[{tid}]({_ATTACK}{tid.replace('.', '/')}/)"


def catalogue_markdown(registry: QueryRegistry | None = None) -> str:
    """The whole catalogue, grouped by kind, with parameters and ATT&CK ids."""
    registry = registry or default_registry()
    out = [
        "# Query catalogue",
        "",
        "Generated from the headers of `s3forensics/queries/**/*.sql` by "
        "`s3forensics queries --markdown > docs/queries.md`; a test fails when this file is out of date.",
        "",
        "Run one with `s3forensics query NAME --case DIR [-p name value]...`, or from Python with "
        "`default_registry().get(NAME).run(case.con, {...})`. Detections run together with "
        "`s3forensics findings --case DIR`.",
        "",
    ]
    for kind in KINDS:
        queries = registry.list(kind=kind)
        out += [f"## {kind.capitalize()}s ({len(queries)})", ""]
        for q in queries:
            badge = f" — severity **{q.severity}**" if kind == "detection" else ""
            out += [f"### `{q.name}`", "", f"**{q.title}** ({q.source}){badge}", ""]
            if q.mitre:
                out += ["ATT&CK: " + ", ".join(_attack_link(t) for t in q.mitre), ""]
            out += [q.description, ""]
            if q.params:
                out += ["| parameter | type | default | meaning |", "|---|---|---|---|"]
                for p in q.params.values():
                    default = "null" if p.default is None else f"`{p.default}`"
                    out.append(f"| `{p.name}` | {p.type} | {default} | {p.description} |")
                out.append("")
            out += [f"Source: `{q.path.relative_to(q.path.parents[1]).as_posix()}`", ""]
    return "\n".join(out).rstrip() + "\n"
