"""Hostile input costs bounded memory: bombs and giant lines become errors or rejects, the rest loads.

Issue 12 item 4. The promise is a peak resident size under 1.5 GiB for any input; the ingest runs
in a child process so its peak (ru_maxrss) is its own.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import polars as pl
import pytest

from s3forensics import ingest as case_module
from s3forensics.case import Case
from s3forensics.errors import InputError
from s3forensics.parse import cloudtrail
from s3forensics.parse.cloudtrail import parse_cloudtrail
from s3forensics.parse.common import MAX_OBJECT_BYTES, decompress, interruptible
from s3forensics.parse.s3_access import MAX_LINE_BYTES

PROMISE_BYTES = 3 * 1024**3 // 2  # 1.5 GiB
MB = 1024 * 1024
OWNER = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
GOOD_LINE = (
    f'{OWNER} b [01/Jan/2024:00:00:01 +0000] 192.0.2.1 - GOOD1 REST.GET.OBJECT k "GET /k HTTP/1.1" '
    '200 - 1 1 1 1 "-" "curl" - - - - - - - - - -\n'
)
RECORD = {"eventVersion": "1.08", "eventTime": "2024-01-01T00:00:00Z", "eventID": "good-1",
          "eventName": "GetObject", "eventSource": "s3.amazonaws.com"}  # fmt: skip


def _gzip_bomb(expanded: int) -> bytes:
    """A CloudTrail-looking .json.gz of ~expanded/1000 bytes that expands to `expanded` bytes."""
    # Many gzip members of one highly compressible MiB: valid gzip (readers join members), built
    # in milliseconds where compressing 2 GiB would take seconds.
    head = gzip.compress(b'{"Records":[{"eventVersion":"1.08","userAgent":"', mtime=0)
    member = gzip.compress(b"a" * MB, compresslevel=9, mtime=0)
    return head + member * (expanded // MB) + gzip.compress(b'"}]}', mtime=0)


@pytest.fixture(scope="module")
def hostile_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    bomb = _gzip_bomb(2 * 1024 * MB)
    assert len(bomb) < 3 * MB
    (folder / "111122223333_CloudTrail_us-east-1_20240101T0000Z_bombbombbombbomb.json.gz") \
        .write_bytes(bomb)
    # A single 100 MB line with no newline, under an access-log key: it starts like a record.
    with (folder / "2024-01-01-00-00-00-0123456789ABCDEF").open("wb") as fh:
        fh.write(GOOD_LINE.split('"curl"')[0].encode() + b'"')
        fh.write(b"A" * (100 * MB))
    (folder / "2024-01-01-00-00-01-0123456789ABCDEF").write_text(GOOD_LINE)
    (folder / "111122223333_CloudTrail_us-east-1_20240101T0005Z_goodgoodgoodgood.json.gz") \
        .write_bytes(gzip.compress(json.dumps({"Records": [RECORD]}).encode()))
    return folder


def _run_measured(folder: Path, case_dir: Path) -> tuple[int, str, int]:
    """Run `s3forensics ingest` in a child: exit code, its output, and its own peak RSS."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    with open(case_dir.parent / "ingest.out", "w+b") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "s3forensics", "ingest", "--quiet", "--case", str(case_dir),
             str(folder)],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode()
    return proc.returncode, text, usage.ru_maxrss * 1024  # kilobytes on Linux


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in kilobytes on Linux only")
def test_a_gzip_bomb_and_a_100_mb_line_cost_bounded_memory_and_the_rest_loads(
    hostile_folder: Path, tmp_path: Path
) -> None:
    code, output, peak = _run_measured(hostile_folder, tmp_path / "case")

    assert peak < PROMISE_BYTES, f"peak RSS {peak / MB:.0f} MiB"
    assert code == 0, output
    assert "Traceback" not in output
    # The bomb is an error naming it; it was never expanded past the limit.
    assert "bombbombbombbomb.json.gz: gzip expands to more than" in output
    with Case.open(tmp_path / "case", read_only=True) as case:
        assert case.sql("SELECT request_id FROM s3_access_logs")["request_id"].to_list() == ["GOOD1"]
        assert case.sql("SELECT event_id FROM cloudtrail_events")["event_id"].to_list() == ["good-1"]
        rejects = case.sql("SELECT line_no, raw, reason FROM rejects").to_dicts()
    assert len(rejects) == 1 and rejects[0]["line_no"] == 1
    assert rejects[0]["reason"].startswith("line too long: 104,857,")
    assert len(rejects[0]["raw"]) == 4096 and rejects[0]["raw"].startswith(OWNER)


# --- the parts, in-process -------------------------------------------------------------------------


def test_decompress_stops_at_the_limit_and_names_the_object() -> None:
    bomb = _gzip_bomb(8 * MB)
    with pytest.raises(InputError, match=r"s3://logs/x.gz: gzip expands to more than 4,194,304"):
        decompress(bomb, where="s3://logs/x.gz", limit=4 * MB)
    assert len(decompress(bomb, where="x", limit=16 * MB)) > 8 * MB  # under the limit: all of it
    one_member = gzip.compress(b"b" * (5 * MB))
    with pytest.raises(InputError, match="MAX_OBJECT_BYTES"):
        decompress(one_member, where="x", limit=5 * MB - 1)
    assert decompress(one_member, where="x", limit=5 * MB) == b"b" * (5 * MB)
    assert decompress(gzip.compress(b""), where="x") == b""
    assert MAX_OBJECT_BYTES > 8 * MAX_LINE_BYTES  # room for many lines of the longest kind


def test_an_object_over_the_limit_is_an_error_and_the_rest_of_the_ingest_loads(
    tmp_path: Path,
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "2024-01-01-00-00-00-0123456789ABCDEF").write_text(GOOD_LINE * 2000)  # 390 KB
    (src / "2024-01-01-00-00-01-0123456789ABCDEF").write_text(GOOD_LINE.replace("GOOD1", "OK2"))
    (src / "111122223333_CloudTrail_us-east-1_20240101T0000Z_bombbombbombbomb.json.gz") \
        .write_bytes(_gzip_bomb(2 * MB))
    with mock.patch.object(case_module, "MAX_OBJECT_BYTES", 100_000), \
            mock.patch("s3forensics.parse.common.MAX_OBJECT_BYTES", 100_000), \
            Case.open(tmp_path / "case") as case:
        summary = case.ingest([src], progress=False)
        loaded = case.sql("SELECT request_id FROM s3_access_logs")["request_id"].to_list()
    assert loaded == ["OK2"]
    errors = sorted(summary.errors)
    assert len(errors) == 2
    assert "bombbombbombbomb.json.gz: gzip expands to more than 100,000 bytes" in errors[0]
    assert "0123456789ABCDEF: unreadable file (390,000 bytes, more than the 100,000" in errors[1]


def test_a_cloudtrail_record_over_the_limit_is_a_reject_and_its_neighbours_load() -> None:
    big = dict(RECORD, eventID="big", userAgent="u" * (cloudtrail.MAX_RECORD_BYTES + 1))
    records = [dict(RECORD, eventID="a"), big, dict(RECORD, eventID="b")]
    layouts = {
        "records": json.dumps({"Records": records}, separators=(",", ":")),
        "pretty": json.dumps({"Records": records}, indent=2),
        "ndjson": "\n".join(json.dumps(r) for r in records),
    }
    for name, text in layouts.items():
        result = parse_cloudtrail([(name, text.encode())])
        assert result.rows["event_id"].to_list() == ["a", "b"], name
        reject = result.rejects.row(0, named=True)
        assert reject["record_no"] == 2 and reject["reason"].startswith("record too long"), name
        assert len(reject["raw"]) == cloudtrail.RAW_KEPT_BYTES


def test_a_cloudtrail_object_over_its_limit_is_an_error_naming_it() -> None:
    small = json.dumps({"Records": [dict(RECORD, eventID="s1")]}).encode()
    big = json.dumps({"Records": [dict(RECORD, eventID=f"b{i}") for i in range(100)]}).encode()
    with mock.patch.object(cloudtrail, "MAX_CLOUDTRAIL_BYTES", len(small) * 10):
        result = parse_cloudtrail([("big", big), ("small", small)], errors="collect")
    assert result.rows["event_id"].to_list() == ["s1"]
    assert "MAX_CLOUDTRAIL_BYTES" in result.rejects.row(0, named=True)["reason"]


def test_a_document_the_decoder_cannot_hold_fails_alone_and_the_batch_loads() -> None:
    # A pretty-printed document is decoded whole; one too large for the parser's memory must
    # not take the batch (and the ingest) down with it.
    pretty = json.dumps({"Records": [dict(RECORD, eventID=f"p{i}", userAgent="x" * 4000)
                                     for i in range(3000)]}, indent=2)  # fmt: skip
    small = json.dumps({"Records": [dict(RECORD, eventID="s1")]})
    objects = [("big", pretty.encode()), ("small", small.encode())]
    with mock.patch.object(cloudtrail, "_PARSE_MEMORY", "8MB"):
        result = parse_cloudtrail(objects, errors="collect")
        with pytest.raises(InputError, match="big: too large to decode"):
            parse_cloudtrail(objects[:1])
    assert result.rows["event_id"].to_list() == ["s1"]
    assert result.rejects.filter(pl.col("evidence_id") == "big")["reason"].to_list() == [
        "object not loaded: too large to decode within the parser's 8MB of memory (a very large "
        "document or record); split it into smaller files to load it"
    ]


# --- Ctrl-C --------------------------------------------------------------------------------------

# The CLI in a child process, with Ctrl-C (SIGINT) sent to itself while the first CloudTrail
# batch is being decoded: a user pressing Ctrl-C during a long parse.
_CTRL_C_CHILD = """
import os, signal, sys, threading
from s3forensics.cli.main import main
from s3forensics.parse import cloudtrail

real = cloudtrail._run_query

def run_query(batches):
    if batches:
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
    return real(batches)

cloudtrail._run_query = run_query
sys.exit(main(sys.argv[1:]))
"""


def test_ctrl_c_while_parsing_cloudtrail_is_a_clean_interruption(tmp_path: Path) -> None:
    # Issue 12 item 8: DuckDB turned the KeyboardInterrupt into "RuntimeError: Query
    # interrupted" (or an Invalid Input Error naming it), printed with a traceback, exit 1.
    src = tmp_path / "src"
    src.mkdir()
    one = json.dumps(dict(RECORD, eventID="E", userAgent="aws-cli/2.0 " + "x" * 200))
    body = ",".join(one.replace('"E"', f'"E{i}"') for i in range(120_000))  # ~45 MB to decode
    (src / "111122223333_CloudTrail_us-east-1_20240101T0000Z_cccccccccccccccc.json.gz") \
        .write_bytes(gzip.compress(('{"Records":[' + body + "]}").encode(), 1))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run(
        [sys.executable, "-c", _CTRL_C_CHILD, "ingest", "--quiet", "--case",
         str(tmp_path / "case"), str(src)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip

    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip() == (
        "s3forensics ingest: interrupted; the case keeps only complete batches"
    )
    assert proc.returncode == 130


def test_interruptible_reports_ctrl_c_whatever_the_query_turned_it_into() -> None:
    # Ctrl-C live, as in a terminal: a suite started in the background by a shell without job
    # control inherits SIGINT ignored, where interruptible() rightly does nothing.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _ctrl_c_surfaces_as_keyboard_interrupt()
    finally:
        signal.signal(signal.SIGINT, previous)


def _ctrl_c_surfaces_as_keyboard_interrupt() -> None:
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt), interruptible():
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the handler runs here
        except KeyboardInterrupt:
            raise RuntimeError("Query interrupted") from None  # what DuckDB makes of it
    with pytest.raises(RuntimeError, match="no Ctrl-C"), interruptible():
        raise RuntimeError("no Ctrl-C: errors pass through as they are")
    assert signal.getsignal(signal.SIGINT) is before
