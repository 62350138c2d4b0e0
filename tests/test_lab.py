"""JupyterLab smoke test: the server starts on a free localhost port and lists the notebooks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_lab_serves_the_guided_notebooks(tmp_path: Path) -> None:
    port = _free_port()
    token = "s3forensics-test"
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"), JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "s3forensics", "lab", "--case", str(tmp_path / "case"), "--port", str(port),
         "--no-browser", f"--token={token}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        listing = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/api/contents/",
                                             headers={"Authorization": f"token {token}"})
                with urllib.request.urlopen(req, timeout=5) as resp:
                    listing = json.load(resp)
                break
            except OSError:
                time.sleep(0.5)
        assert listing is not None, "JupyterLab did not answer on its port"
        names = {item["name"] for item in listing["content"]}
        expected = {p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
        assert len(expected) == 7 and expected <= names
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=10) as resp:
            assert resp.status == 200
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    # Stopping `s3forensics lab` stops the server: nothing is left answering on the port.
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents/", timeout=5)
