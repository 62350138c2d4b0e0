"""Installs a user gets: the lock agrees with pyproject.toml, the CLI starts light, a built wheel
is complete (notebooks, samples) and says which extra a command needs when it is missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Never loaded by `--help`: the Jupyter stack, charts and AWS SDK cost seconds to import.
HEAVY = ("altair", "jsonschema", "papermill", "nbconvert", "nbformat", "jupyter", "jupyterlab",
         "jupyter_client", "jupyter_core", "boto3", "botocore", "vl_convert")


def _uv() -> str | None:
    local = ROOT / ".tools" / "bin" / "uv"
    return str(local) if local.exists() else shutil.which("uv")


def _need_uv() -> str:
    uv = _uv()
    if uv is None:
        if os.environ.get("CI"):
            pytest.fail("uv is not installed: `make install` puts it in .tools/bin/uv")
        pytest.skip("uv not found (installed by `make install`); run the tests through make")
    return uv


def _run_cli(argv: list[str]) -> tuple[str, list[str]]:
    """Run `s3forensics ARGV` in a fresh interpreter: what it printed, and the modules it loaded."""
    probe = (
        "import runpy, sys\n"
        f"sys.argv = ['s3forensics', *{argv!r}]\n"
        "try:\n    runpy.run_module('s3forensics', run_name='__main__')\n"
        "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print('\\nLOADED=' + ','.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300,
                         check=True)
    printed, loaded = out.stdout.rsplit("LOADED=", 1)
    return printed, loaded.strip().split(",")


@pytest.mark.parametrize("argv", [["--help"], ["query", "--help"], ["acquire", "--help"],
                                  ["run", "--help"]])
def test_cli_help_imports_none_of_the_heavy_stacks(argv: list[str]) -> None:
    printed, loaded = _run_cli(argv)
    assert "usage: s3forensics" in printed
    heavy = sorted({m for m in loaded if m.split(".")[0] in HEAVY or m.startswith("jupyter")})
    assert heavy == [], f"`s3forensics {' '.join(argv)}` imported {heavy}"


def test_lock_agrees_with_pyproject() -> None:
    uv = _need_uv()
    out = subprocess.run([uv, "lock", "--check", "--offline"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, (
        "uv.lock does not match pyproject.toml; run `make lock` and commit uv.lock\n"
        + out.stderr[-2000:])


def test_conda_pins_are_the_lock_exported() -> None:
    uv = _need_uv()
    out = subprocess.run([uv, "export", "--frozen", "--all-extras", "--no-emit-project",
                          "--no-hashes", "--format", "requirements-txt"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)

    def pins(text: str) -> list[str]:
        return [line for line in text.splitlines() if line and not line.startswith(("#", " "))]

    assert pins(out.stdout) == pins((ROOT / "requirements.lock.txt").read_text()), (
        "requirements.lock.txt is stale; run `make lock`")


def test_every_pyproject_dependency_is_locked_with_hashes() -> None:
    import tomllib

    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    packages = {p["name"]: p for p in lock["package"]}
    wanted = [*project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        wanted.extend(r for r in extra if not r.startswith("s3forensics"))
    for requirement in wanted:
        name = requirement.split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower()
        assert name.replace("_", "-") in packages, f"{name} is not in uv.lock"
        locked = packages[name.replace("_", "-")]
        artifacts = locked.get("wheels", []) + ([locked["sdist"]] if "sdist" in locked else [])
        assert artifacts and all(a.get("hash", "").startswith("sha256:") for a in artifacts), name


# -- the wheel, installed into a fresh virtualenv outside the checkout ---------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    uv = _need_uv()
    out_dir = tmp_path_factory.mktemp("dist")
    subprocess.run([uv, "build", "--wheel", "--out-dir", str(out_dir), str(ROOT)], check=True,
                   capture_output=True, timeout=600)
    (built,) = out_dir.glob("s3forensics-*.whl")
    return built


def test_wheel_ships_the_notebooks_queries_and_sample_generator(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    notebooks = {n for n in names if n.startswith("s3forensics/notebooks/") and n.endswith(".ipynb")}
    assert len(notebooks) == 7
    assert any(n.startswith("s3forensics/queries/") and n.endswith(".sql") for n in names)
    assert any(n.startswith("s3forensics/views/") and n.endswith(".sql") for n in names)
    assert "s3forensics/lake/sql/pull_selection.sql" in names  # `lake pull` reads its SQL by name
    assert "s3forensics/lake/trino_functions.txt" in names  # what the Athena SQL may call
    assert "s3forensics/samples/data/test_only_cloudtrail_signing_key.pem" in names


def _fresh_venv(uv: str, where: Path, wheel: Path, extras: str) -> Path:
    """A new virtualenv holding the wheel (plus `extras`) at the locked versions."""
    constraints = ROOT / "requirements.lock.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_PROJECT"))}
    subprocess.run([uv, "venv", "--python", sys.executable, str(where)], check=True,
                   capture_output=True, env=env, timeout=300)
    python = where / "bin" / "python"
    subprocess.run([uv, "pip", "install", "--python", str(python), "-c", str(constraints),
                    f"{wheel}{extras}"], check=True, capture_output=True, env=env, timeout=900)
    return where / "bin"


def _clean_env(tmp: Path) -> dict[str, str]:
    """No checkout on the path, its own cache and home: what a new user's shell has."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "VIRTUAL_ENV", "S3FORENSICS", "UV_", "XDG_"))}
    env.update(HOME=str(tmp / "home"), XDG_CACHE_HOME=str(tmp / "cache"), PYTHONNOUSERSITE="1")
    return env


def test_core_wheel_queries_and_names_the_missing_extra(wheel: Path, tmp_path: Path) -> None:
    uv = _need_uv()
    bin_dir = _fresh_venv(uv, tmp_path / "core", wheel, "")
    env = _clean_env(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    samples = work / "samples"
    subprocess.run([bin_dir / "s3forensics", "samples", "--out", str(samples)], cwd=work, env=env,
                   check=True, capture_output=True, timeout=300)
    ingest = subprocess.run([bin_dir / "s3forensics", "ingest", "--quiet", "--case", "case",
                             str(samples)], cwd=work, env=env, capture_output=True, text=True,
                            timeout=600)
    assert ingest.returncode == 0, ingest.stderr[-2000:]
    found = subprocess.run([bin_dir / "s3forensics", "findings", "--case", "case", "--format",
                            "json"], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert found.returncode == 0, found.stderr[-2000:]
    assert any(f["severity"] in ("high", "critical") for f in json.loads(found.stdout))
    for command in (["run", "--case", "case"], ["lab", "--case", "case"], ["demo", "--case", "d"]):
        out = subprocess.run([bin_dir / "s3forensics", *command], cwd=work, env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 1
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and "pip install 's3forensics[notebooks]'" in lines[0], out.stderr


def test_wheel_runs_the_demo_outside_any_checkout(wheel: Path, tmp_path: Path) -> None:
    uv = _need_uv()
    bin_dir = _fresh_venv(uv, tmp_path / "full", wheel, "[notebooks]")
    env = _clean_env(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    out = subprocess.run([bin_dir / "s3forensics", "demo", "--case", "cases/demo"], cwd=work,
                         env=env, capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    index = work / "cases" / "demo" / "reports" / "index.html"
    assert index.exists()
    assert len(list((work / "cases" / "demo" / "reports").glob("0*.html"))) == 7
    # The samples were generated into the user's cache, not read from this checkout.
    import duckdb

    con = duckdb.connect(str(work / "cases" / "demo" / "case.duckdb"), read_only=True)
    sources = [row[0] for row in con.execute("SELECT DISTINCT source FROM evidence").fetchall()]
    con.close()
    assert sources and all(str(tmp_path / "cache") in s for s in sources), sources[:3]
    assert "report:" in out.stdout and "WARNING" not in out.stderr


def test_ingest_does_not_import_pandas(tmp_path: Path) -> None:
    # pandas is installed (the notebooks use it) and pyarrow imports it on first use of
    # pa.array or Array.to_numpy: 1.5 s of every CloudTrail ingest before this was caught.
    printed, loaded = _run_cli(["ingest", "--case", str(tmp_path / "case"), "--quiet",
                                str(ROOT / "data" / "samples")])
    assert "cloudtrail" in printed and "s3-access" in printed, printed
    assert "pyarrow" in loaded  # the CloudTrail parser ran
    assert "pandas" not in loaded
