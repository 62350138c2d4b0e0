"""The guided notebooks: documented parameters, committed clean, and each runs headless on the samples.

One session fixture loads the bundled samples into a temporary case and runs all seven notebooks
once with `run_notebooks` (what `s3forensics run` does); the tests then read what it produced.
"""

from __future__ import annotations

import ast
import base64
import json
import re
from pathlib import Path
from typing import Any

import nbformat
import papermill as pm
import pytest

from s3forensics.notebook import notebook_dir
from s3forensics.report import RunReport, list_notebooks

CASE = ("case_dir", "str", '""')
WINDOW = [("start", "str", '""'), ("end", "str", '""')]
#: name -> parameters in cell order: (name, type papermill infers, default as written)
PARAMETERS: dict[str, list[tuple[str, str, str]]] = {
    "01_acquire_and_ingest": [
        CASE, ("local_paths", "str", '""'), ("kind", "str", '"auto"'), ("bucket", "str", '""'),
        ("prefix", "str", '""'), *WINDOW, ("aws_profile", "str", '""'), ("endpoint_url", "str", '""'),
        ("public_key", "str", '""'), ("object_metadata", "str", '""'),
    ],
    "02_triage_overview": [
        CASE, *WINDOW, ("time_zone", "str", '"UTC"'), ("bucket_minutes", "int", "60"), ("top", "int", "15"),
    ],
    "03_investigate_ip": [CASE, ("ip", "str", '""'), *WINDOW, ("rows", "int", "50")],
    "04_investigate_principal": [CASE, ("principal", "str", '""'), *WINDOW, ("rows", "int", "50")],
    "05_hunt_exfiltration": [
        CASE, *WINDOW, ("group_by", "str", '"ip"'), ("top", "int", "8"), ("min_bytes", "int", "104857600"),
        ("business_start_hour", "int", "8"), ("business_end_hour", "int", "18"), ("time_zone", "str", '"UTC"'),
    ],
    "06_destructive_and_config_changes": [CASE, *WINDOW, ("include_failed", "bool", "False")],
    "07_timeline_and_report": [CASE, *WINDOW, ("rows", "int", "200")],
}
NOTEBOOKS = sorted(PARAMETERS)
WITH_CHARTS = [n for n in NOTEBOOKS if not n.startswith("01_")]


def _load(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _outputs(nb: nbformat.NotebookNode) -> list[dict[str, Any]]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def _printed(nb: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in _outputs(nb) if o.get("output_type") == "stream")


# -- the notebooks as committed -------------------------------------------------------------


def test_the_seven_guided_notebooks_are_listed_in_order() -> None:
    assert [p.stem for p in list_notebooks()] == NOTEBOOKS


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_parameters_have_documented_names_types_and_defaults(name: str) -> None:
    found = pm.inspect_notebook(str(notebook_dir() / f"{name}.ipynb"))
    assert [(p["name"], p["inferred_type_name"], p["default"]) for p in found.values()] == PARAMETERS[name]
    undocumented = [p["name"] for p in found.values() if not p["help"]]
    assert not undocumented, f"{name}: parameters without an inline help comment: {undocumented}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_clean_and_without_logic(name: str) -> None:
    nb = _load(notebook_dir() / f"{name}.ipynb")
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.metadata["language_info"]["name"] == "python"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), f"{name} has outputs"
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{name} needs exactly one cell tagged 'parameters'"
    for node in ast.walk(ast.parse(tagged[0].source)):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            assert isinstance(node.value, ast.Constant), f"{name}: parameters must be literals"
    for cell in code:
        for node in ast.walk(ast.parse(cell.source)):
            assert not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda), \
                f"{name}: logic defined in a notebook belongs in the package"
            # Same result every run: nothing may depend on the clock or chance.
            assert not (isinstance(node, ast.Attribute) and node.attr in ("now", "today", "utcnow")), name
            assert not (isinstance(node, ast.Name) and node.id == "random"), name


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_each_notebook_follows_the_skeleton(name: str) -> None:
    headings = [line.strip() for c in _load(notebook_dir() / f"{name}.ipynb").cells
                if c.cell_type == "markdown" for line in c.source.splitlines() if line.startswith("#")]
    assert headings[0].startswith(f"# {name[:2]} ")
    for section in ("## The data", "## Findings", "## Next pivots"):
        assert section in headings, f"{name} lacks the section {section!r}"
    assert any(h.startswith(("## Analysis", "### Step")) for h in headings)


# -- the notebooks executed on the samples --------------------------------------------------


def test_every_notebook_runs_headless_on_the_samples(executed: tuple[Path, RunReport]) -> None:
    case_dir, report = executed
    failed = {r.name: f"cell {r.failed_cell}: {r.error}" for r in report.runs if not r.ok}
    assert not failed, failed
    assert [r.name for r in report.runs] == NOTEBOOKS
    for run in report.runs:
        assert run.ipynb == case_dir.resolve() / "reports" / f"{run.name}.ipynb"
        assert run.html is not None and run.html.is_file()


@pytest.mark.parametrize("name", WITH_CHARTS)
def test_executed_notebooks_show_offline_svg_charts(executed: tuple[Path, RunReport], name: str) -> None:
    case_dir, _ = executed
    nb = _load(case_dir / "reports" / f"{name}.ipynb")
    svgs = [o["data"]["image/svg+xml"] for o in _outputs(nb) if "image/svg+xml" in o.get("data", {})]
    assert svgs, f"{name} displayed no chart"
    assert all('class="marks"' in "".join(s) for s in svgs)  # drawn by Vega, offline
    # The exported page carries the same pictures inline (nbconvert embeds SVG as data URIs), so
    # it shows them with no network.
    html = (case_dir / "reports" / f"{name}.html").read_text(encoding="utf-8")
    inline = [base64.b64decode(m).decode("utf-8", "replace")
              for m in re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html)]
    assert sum('class="marks"' in svg for svg in inline) >= len(svgs)


def test_timeline_notebook_saves_the_findings_and_the_index_names_the_attackers(
        executed: tuple[Path, RunReport], answers: dict[str, Any]) -> None:
    case_dir, report = executed
    findings = json.loads((case_dir / "findings" / "findings.json").read_text(encoding="utf-8"))
    named = {ip for f in findings for ip in f["entities"]["ips"]}
    assert set(answers["attacker"]["ips"]) <= named
    assert report.index is not None
    index = report.index.read_text(encoding="utf-8")
    for ip in answers["attacker"]["ips"]:
        assert ip in index, f"index.html does not name attacker address {ip}"
    for name in NOTEBOOKS:
        assert f"href='{name}.html'" in index


def test_entity_notebooks_follow_the_breach_by_default(executed: tuple[Path, RunReport],
                                                       answers: dict[str, Any]) -> None:
    """With empty ip/principal the notebooks pick the attacker's from the findings, not from a constant."""
    case_dir, _ = executed
    ip_nb = _printed(_load(case_dir / "reports" / "03_investigate_ip.ipynb"))
    principal_nb = _printed(_load(case_dir / "reports" / "04_investigate_principal.ipynb"))
    assert any(f"investigating {ip}\n" in ip_nb for ip in answers["attacker"]["ips"]), ip_nb[:500]
    assert any(f"investigating {p}\n" in principal_nb for p in answers["attacker"]["principals"])


def test_an_ip_parameter_is_investigated_as_given(executed: tuple[Path, RunReport], answers: dict[str, Any],
                                                  tmp_path: Path) -> None:
    case_dir, _ = executed
    default = _printed(_load(case_dir / "reports" / "03_investigate_ip.ipynb"))
    chosen = next(ip for ip in sorted(answers["attacker"]["ips"]) if f"investigating {ip}\n" not in default)
    out = tmp_path / "03.ipynb"
    pm.execute_notebook(str(notebook_dir() / "03_investigate_ip.ipynb"), str(out),
                        parameters={"case_dir": str(case_dir), "ip": chosen}, cwd=str(notebook_dir()),
                        progress_bar=False, kernel_name="python3")
    printed = _printed(_load(out))
    assert f"investigating {chosen}\n" in printed
    assert f"ip {chosen}: " in printed  # the profile headline is about the chosen address


def test_numeric_looking_text_parameters_reach_the_notebook_exactly(sample_case_dir: Path,
                                                                    tmp_path: Path) -> None:
    """`run -p principal 000011112222` must investigate that account id, not the number 11112222."""
    import shutil

    from s3forensics.cli import main

    case_dir = tmp_path / "case"
    shutil.copytree(sample_case_dir, case_dir)
    code = main(["run", "--case", str(case_dir), "--notebook", "04_investigate_principal",
                 "-p", "principal", "000011112222", "-p", "rows", "7"])
    assert code == 0
    nb = _load(case_dir / "reports" / "04_investigate_principal.ipynb")
    injected = next(c.source for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert 'principal = "000011112222"' in injected
    assert "rows = 7\n" in injected + "\n"
    assert "investigating 000011112222\n" in _printed(nb)


def test_a_parameter_that_is_not_of_the_declared_type_is_refused_in_one_line(
        sample_case_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from s3forensics.cli import main

    code = main(["run", "--case", str(sample_case_dir), "--notebook", "02_triage_overview",
                 "-p", "top", "many"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1
    assert "02_triage_overview parameter top: expects int, got 'many'" in err[0]
