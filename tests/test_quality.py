"""The package type-checks and lints clean, and imports flow one way."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "s3forensics"


def test_mypy_finds_no_type_errors() -> None:
    out = subprocess.run([sys.executable, "-m", "mypy", "s3forensics"], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:]


def test_ruff_is_clean() -> None:
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "s3forensics", "tests", "benchmarks"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(("." * node.level) + node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_parsing_never_imports_the_layers_above_it() -> None:
    above = ("cli", "notebook", "report", "case", "store", "findings", "charts", "acquire")
    for path in (PACKAGE / "parse").glob("*.py"):
        for name in _imports(path):
            assert not any(part in above for part in name.lstrip(".").split(".")), f"{path.name} imports {name}"


def test_boto3_and_altair_stay_in_their_modules() -> None:
    for path in PACKAGE.rglob("*.py"):
        names = _imports(path)
        rel = path.relative_to(PACKAGE).as_posix()
        if any(n == "boto3" or n.startswith("boto3.") or n.startswith("botocore") for n in names):
            assert rel.startswith("acquire/"), f"boto3 used in {rel}"
        if "altair" in names:
            assert rel == "charts.py", f"altair used in {rel}"


def test_key_layout_knowledge_lives_in_layouts_only() -> None:
    """Acquisition, kind detection and integrity read AWS's key names through layouts.py.

    (The sample generator writes such names; it is the other side of the contract.)
    """
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel == "layouts.py" or rel.startswith("samples/"):
            continue
        text = path.read_text(encoding="utf-8")
        assert "_CloudTrail" not in text and "CloudTrail-Digest_" not in text, rel
