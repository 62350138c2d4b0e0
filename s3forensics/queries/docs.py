"""Render the query catalogue as Markdown (docs/queries.md is generated from this)."""

from __future__ import annotations

from .registry import KINDS, SEVERITIES, QueryRegistry, default_registry

__all__ = ["catalogue_markdown", "detections_markdown"]

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
            for c in q.caveats:
                shown = f" (shown when `{c.stand_in}` finds some)" if c.stand_in else ""
                out += [f"When the case holds no {c.missing} records{shown}: {c.text}", ""]
            if q.params:
                out += ["| parameter | type | default | meaning |", "|---|---|---|---|"]
                for p in q.params.values():
                    default = "null" if p.default is None else f"`{p.default}`"
                    out.append(f"| `{p.name}` | {p.type} | {default} | {p.description} |")
                out.append("")
            out += [f"Source: `{q.path.relative_to(q.path.parents[1]).as_posix()}`", ""]
    return "\n".join(out).rstrip() + "\n"


_STRATUS = "https://stratus-red-team.cloud/attack-techniques/AWS/"


def _stratus_link(sid: str) -> str:
    return f"[{sid}]({_STRATUS}{sid}/)"


def detections_markdown(registry: QueryRegistry | None = None) -> str:
    """Every detection: what it finds, the techniques it covers, its parameters and benign look-alikes."""
    registry = registry or default_registry()
    detections = sorted(registry.list(kind="detection"),
                        key=lambda q: (SEVERITIES.index(q.severity or "info"), q.name))
    out = [
        "# Detections",
        "",
        "Generated from the headers of the detection queries (`kind: detection`) by "
        "`python -m s3forensics.queries.docs detections > docs/detections.md`; a test fails when this "
        "file is out of date. Each detection is proven in the test suite on a scenario where it fires "
        "and on the bundled samples where it must stay quiet unless the breach holds its attack.",
        "",
        "Run them all with `s3forensics findings --case DIR`; export the result with "
        "`s3forensics export --case DIR --format attack-layer|csv|jsonl|parquet`.",
        "",
        "| detection | severity | ATT&CK | Stratus Red Team |",
        "|---|---|---|---|",
    ]
    for q in detections:
        out.append(f"| [`{q.name}`](#{q.name}) | {q.severity} | {', '.join(q.mitre)} | "
                   f"{', '.join(q.stratus) or '-'} |")
    out.append("")
    for q in detections:
        out += [f"## `{q.name}`", "", f"**{q.title}** — severity **{q.severity}**, reads {q.source}", "",
                q.description, "",
                "ATT&CK: " + ", ".join(_attack_link(t) for t in q.mitre), ""]
        if q.stratus:
            out += ["Stratus Red Team: " + ", ".join(_stratus_link(s) for s in q.stratus), ""]
        if q.params:
            out += ["| parameter | type | default | meaning |", "|---|---|---|---|"]
            for p in q.params.values():
                default = "null" if p.default is None else f"`{p.default}`"
                out.append(f"| `{p.name}` | {p.type} | {default} | {p.description} |")
            out.append("")
        out += ["Known benign look-alikes:", ""]
        out += [f"- {b}" for b in q.benign] or ["- none recorded"]
        out += ["", f"Source: `{q.path.relative_to(q.path.parents[1]).as_posix()}`", ""]
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":  # python -m s3forensics.queries.docs [queries|detections]
    import sys

    which = sys.argv[1] if len(sys.argv) > 1 else "queries"
    if which not in ("queries", "detections"):
        sys.exit("usage: python -m s3forensics.queries.docs [queries|detections]")
    sys.stdout.write(detections_markdown() if which == "detections" else catalogue_markdown())
