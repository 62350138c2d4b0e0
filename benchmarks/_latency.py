"""Emulated network round-trip time for benchmarks: a TCP proxy that delays what clients send.

Every chunk a client sends is forwarded to the server `rtt_ms` after it arrived (responses are
forwarded at once), so each HTTP request/response exchange takes one round trip longer. Delays
are absolute per chunk, not queued behind one another, and the proxy is one asyncio loop in its
own process: waiting costs no CPU, and any number of connections wait at the same time, so the
delay models latency without serialising requests or loading the benchmark's client process.
Connection setup is not charged: the local moto server (Werkzeug) closes every connection after
one response, so clients reconnect per request, whereas real S3 keeps connections alive and
clients pay the TCP/TLS handshake once per pooled connection. Not modelled either: bandwidth,
loss, and TCP windows (irrelevant for small objects).

Run as a script it serves until killed: `python _latency.py --target 127.0.0.1:PORT --rtt-ms 25`
prints the port it listens on; `LatencyProxy` starts and stops such a process.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["LatencyProxy"]

_CHUNK = 1 << 16


async def _delayed_copy(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float
) -> None:
    """Forward reader to writer, each chunk `delay` seconds after it arrived; EOF likewise."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def send() -> None:
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    sender = asyncio.create_task(send())
    try:
        while data := await reader.read(_CHUNK):
            queue.put_nowait((loop.time() + delay, data))
    finally:
        queue.put_nowait((loop.time() + delay, b""))
        await sender


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Forward reader to writer as data arrives, then close the writer."""
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


async def _serve(target_host: str, target_port: int, rtt_ms: float) -> None:
    delay = rtt_ms / 1000

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_w: asyncio.StreamWriter | None = None
        try:
            server_r, server_w = await asyncio.open_connection(target_host, target_port)
            # asyncio sets TCP_NODELAY on both sockets: no Nagle stalls on top of the delay.
            await asyncio.gather(
                _delayed_copy(client_r, server_w, delay),
                _copy(server_r, client_w),
                return_exceptions=True,  # a reset on either side just ends the connection
            )
        finally:
            client_w.close()
            if server_w is not None:
                server_w.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def _die_with_parent() -> None:
    """Linux: stop the proxy when the benchmark dies, even if killed before it closes it."""
    import ctypes
    import signal

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


class LatencyProxy:
    """A proxy process in front of `target_url` adding `rtt_ms` per round trip; stop with close."""

    def __init__(self, target_url: str, rtt_ms: float) -> None:
        parts = urlsplit(target_url)
        if parts.scheme != "http" or not parts.hostname or not parts.port:
            raise ValueError(f"target {target_url!r}: expected http://host:port")
        self.rtt_ms = rtt_ms
        self._proc = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--target",
                f"{parts.hostname}:{parts.port}",
                "--rtt-ms",
                str(rtt_ms),
            ],
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        try:
            assert self._proc.stdout is not None
            line = self._proc.stdout.readline().strip()  # its port, once it listens
            if not line.isdigit():
                raise RuntimeError(f"latency proxy did not start (said {line!r})")
        except BaseException:
            self.close()
            raise
        self.url = f"http://127.0.0.1:{line}"

    def close(self) -> None:
        """Stop the proxy process."""
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()

    def __enter__(self) -> LatencyProxy:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def main() -> None:
    """Serve the proxy until killed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="host:port of the server")
    parser.add_argument("--rtt-ms", type=float, required=True, help="round-trip time to add")
    args = parser.parse_args()
    host, _, port = args.target.rpartition(":")
    asyncio.run(_serve(host, int(port), args.rtt_ms))


if __name__ == "__main__":
    main()
