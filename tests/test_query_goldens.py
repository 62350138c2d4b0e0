"""Every query in the catalogue, run on the bundled sample case, compared with its golden result.

The goldens live in tests/golden/queries/<name>.csv. After a deliberate change to a query or to
the samples, review the diff of:  python -m tests.test_query_goldens  (rewrites the goldens).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from s3forensics.queries import default_registry

GOLDEN = Path(__file__).parent / "golden" / "queries"
ANSWERS = Path(__file__).resolve().parents[1] / "data" / "samples" / "answers.json"


def golden_params(answers: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Parameters for queries that need an entity: the breach's own, from the answer key."""
    stolen = answers["stolen_objects"][0]
    return {
        "principal_activity": {"principal": answers["attacker"]["principals"][0]},
        "buckets_touched_by_principal": {"principal": answers["attacker"]["principals"][0]},
        "ip_activity": {"ip": answers["exposure"]["change"]["source_ip"]},
        "access_key_activity": {"access_key_id": answers["attacker"]["access_keys"][0]},
        "object_history": {"bucket": stolen["bucket"], "object_key": stolen["key"]},
        "incident_impact": {"source_ips": answers["attacker"]["ips"]},
        "activity_of_addresses_over_time": {"source_ips": answers["attacker"]["ips"]},
    }


def render(frame: pl.DataFrame) -> str:
    """A stable text form: CSV with UTC ISO timestamps and lists as JSON."""
    out = frame.with_columns(
        [pl.col(c).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ")
         for c, t in frame.schema.items() if isinstance(t, pl.Datetime)]
        + [pl.col(c).map_elements(lambda v: json.dumps(list(v)), return_dtype=pl.String)
           for c, t in frame.schema.items() if isinstance(t, pl.List)]
        + [pl.col(c).round(6) for c, t in frame.schema.items() if t in (pl.Float32, pl.Float64)]
    )
    # Evidence paths name the checkout; the goldens must not depend on where the repo lives.
    return out.write_csv().replace(str(ANSWERS.parent.resolve()), "<samples>")


QUERIES = [q.name for q in default_registry().list()]


@pytest.mark.parametrize("name", QUERIES)
def test_query_matches_its_golden_result(name: str, sample_case_dir: Path, answers: dict[str, Any]) -> None:
    from s3forensics.case import Case

    query = default_registry().get(name)
    with Case.open(sample_case_dir, create=False, read_only=True) as case:
        frame = query.run(case.con, golden_params(answers).get(name, {}))
    golden = GOLDEN / f"{name}.csv"
    assert golden.exists(), f"no golden for {name}: run `python -m tests.test_query_goldens`"
    assert render(frame) == golden.read_text(), f"{name} differs from {golden}"


def test_parameterised_hunts_return_the_breach(sample_case_dir: Path, answers: dict[str, Any]) -> None:
    from s3forensics.case import Case

    with Case.open(sample_case_dir, create=False, read_only=True) as case:
        for name, params in golden_params(answers).items():
            assert default_registry().get(name).run(case.con, params).height > 0, name


def regenerate() -> None:
    """Rewrite every golden from the current queries and samples."""
    import tempfile

    from s3forensics.case import Case

    answers = json.loads(ANSWERS.read_text())
    GOLDEN.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        with Case.open(Path(tmp) / "case") as case:
            case.ingest([ANSWERS.parent], progress=False)
            for old in GOLDEN.glob("*.csv"):
                old.unlink()
            for name in QUERIES:
                frame = default_registry().get(name).run(case.con, golden_params(answers).get(name, {}))
                (GOLDEN / f"{name}.csv").write_text(render(frame))
                print(f"{name}: {frame.height} rows", file=sys.stderr)


if __name__ == "__main__":
    regenerate()
