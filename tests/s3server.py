"""A real S3 API over HTTP for tests: moto's standalone server in its own process on localhost.

Use the `s3_endpoint` fixture (one server per test session) and `s3_session()` for a boto3 session
with dummy credentials. A separate process keeps the server's state and GIL apart from the code
under test, and no in-process mocking is involved: requests go over real sockets.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator

import boto3
import pytest

__all__ = ["DUMMY_KEY", "DUMMY_SECRET", "MotoServer", "s3_endpoint", "s3_session"]

DUMMY_KEY = "AKIAIOSFODNN7EXAMPLE"
DUMMY_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """Linux: stop the server when the test process dies, even if killed before its teardown."""
    import ctypes
    import signal

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


class MotoServer:
    """`python -m moto.server` on a free localhost port, stopped on close."""

    def __init__(self, *, env: dict[str, str] | None = None, startup_timeout: float = 30.0) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The server logs every request: to a file, since an unread pipe would fill and block it.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 -- open for the server's lifetime
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            env={**os.environ, **(env or {})},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        deadline = time.monotonic() + startup_timeout
        while True:
            if self._proc.poll() is not None:
                self._log.seek(0)
                err = self._log.read().decode(errors="replace")
                raise RuntimeError(
                    f"moto server exited with {self._proc.returncode}: {err[-2000:]}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=1):
                    break
            except OSError as exc:
                if time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError(
                        f"moto server did not answer on {self.url} within {startup_timeout}s"
                    ) from exc
                time.sleep(0.1)

    def set_auth(self, unauthenticated_actions: float) -> None:
        """Enforce IAM after this many more actions (float('inf') turns enforcement off)."""
        req = urllib.request.Request(
            f"{self.url}/moto-api/reset-auth",
            data=str(unauthenticated_actions).encode(),
            method="POST",
            headers={"Content-Type": "text/plain"},
        )  # not a form: keep the body
        with urllib.request.urlopen(req, timeout=5):
            pass

    def close(self) -> None:
        """Stop the server process."""
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._log.close()


def s3_session(
    region: str = "us-east-1", *, key: str = DUMMY_KEY, secret: str = DUMMY_SECRET
) -> boto3.Session:
    """A boto3 session with explicit (dummy) credentials, independent of the environment."""
    return boto3.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name=region)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """One moto server for the whole test session."""
    server = MotoServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def s3_endpoint(moto_server: MotoServer) -> str:
    """The endpoint URL of the session's moto server."""
    return moto_server.url
