"""The bundled breach scenario: reproducible, in real layouts, and its answer key true of the data.

The facts in data/samples/answers.json are checked against the ingested case (so the key cannot
drift from the logs) and, for layouts and integrity, against the files themselves.
"""

from __future__ import annotations

import gzip
import hashlib
import ipaddress
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from s3forensics.case import Case
from s3forensics.cli.main import main
from s3forensics.samples import SampleSet, build_samples, write_samples

from .conftest import SAMPLES

_ALLOWED_NETS = [ipaddress.ip_network(n) for n in (
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32",  # RFC 5737, RFC 3849
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",  # RFC 1918
)]


def files_under(root: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every file under `root`."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def ts(text: str) -> datetime:
    """An answer-key timestamp as an aware datetime."""
    return datetime.fromisoformat(text)


@pytest.fixture(scope="module")
def committed() -> dict[str, bytes]:
    return files_under(SAMPLES)


@pytest.fixture(scope="module")
def seed7() -> SampleSet:
    return build_samples(seed=7)


@pytest.fixture(scope="module")
def case(sample_case_dir: Path) -> Iterator[Case]:
    with Case.open(sample_case_dir, read_only=True) as c:
        yield c


def rows(case: Case, sql: str, **params: Any) -> list[dict[str, Any]]:
    return case.sql(sql, params).to_dicts()


# -- reproducible ---------------------------------------------------------------------------------


def test_default_seed_regenerates_the_committed_samples_byte_for_byte(
        tmp_path: Path, committed: dict[str, bytes]) -> None:
    out = tmp_path / "samples"
    assert main(["samples", "--out", str(out)]) == 0
    fresh = files_under(out)
    assert sorted(fresh) == sorted(committed)
    assert [p for p in fresh if fresh[p] != committed[p]] == []


def test_another_seed_tells_the_same_story_in_different_bytes(
        seed7: SampleSet, committed: dict[str, bytes]) -> None:
    assert build_samples(seed=7).files == seed7.files  # deterministic for any seed
    default = json.loads(committed["answers.json"])
    assert set(seed7.files) != set(committed)
    assert seed7.files["answers.json"] != committed["answers.json"]
    assert [p["name"] for p in seed7.answers["phases"]] == [p["name"] for p in default["phases"]]
    assert len(seed7.answers["malformed_lines"]) == len(default["malformed_lines"]) == 3


def test_regenerating_replaces_earlier_samples_but_never_a_foreign_folder(
        tmp_path: Path, seed7: SampleSet, committed: dict[str, bytes],
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "samples"
    write_samples(seed7, out)
    assert main(["samples", "--out", str(out)]) == 0
    assert files_under(out) == committed  # nothing of the seed-7 set is left behind
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    capsys.readouterr()
    assert main(["samples", "--out", str(other)]) == 1
    err = capsys.readouterr().err
    assert str(other) in err and "not empty" in err and "Traceback" not in err
    assert files_under(other) == {"notes.txt": b"keep me"}


def test_samples_command_help_shows_its_options_and_an_example(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["samples", "--help"])
    out = capsys.readouterr().out
    assert "--out DIR" in out and "--seed N" in out
    assert "s3forensics samples --out" in out


def test_committed_samples_stay_small(committed: dict[str, bytes]) -> None:
    assert sum(len(b) for b in committed.values()) <= 4_500_000


# -- layouts and integrity (the files themselves) -------------------------------------------------

_SAL_TIME = re.compile(r" \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d) \+0000\] ")


def _sal_times(body: bytes) -> list[datetime]:
    times = []
    for line in body.decode().splitlines():
        m = _SAL_TIME.search(line)
        if m:
            times.append(datetime.strptime(m.group(1), "%d/%b/%Y:%H:%M:%S").replace(tzinfo=UTC))
    return times


def test_access_logs_use_the_simple_and_partitioned_layouts_with_late_delivery(
        committed: dict[str, bytes], answers: dict[str, Any]) -> None:
    logged = {b["name"]: b["access_logs"] for b in answers["buckets"] if b["access_logs"]}
    layouts = {t["layout"] for t in logged.values()}
    assert layouts == {"simple", "partitioned-eventtime"}
    late = 0
    for bucket, target in logged.items():
        base = f"{target['target_bucket']}/{target['prefix']}"
        keys = [p for p in committed if p.startswith(base)]
        assert len(keys) > 20, bucket
        for path in keys:
            times = _sal_times(committed[path])
            name = path[len(base):]
            if target["layout"] == "simple":
                m = re.fullmatch(r"(\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)-[0-9A-F]{16}", name)
                assert m, path
                delivered = datetime.strptime(m.group(1), "%Y-%m-%d-%H-%M-%S").replace(tzinfo=UTC)
                assert max(times) <= delivered, path  # named by delivery time
                late += min(times) < delivered.replace(minute=0, second=0) - timedelta(hours=1)
            else:
                m = re.fullmatch(rf"\d{{12}}/[a-z0-9-]+/{re.escape(bucket)}/(\d{{4}})/(\d\d)/(\d\d)/"
                                 r"(\d{4})-(\d\d)-(\d\d)-00-00-00-[0-9A-F]{16}", name)
                assert m and m.group(1, 2, 3) == m.group(4, 5, 6), path
                day = ts("-".join(m.group(1, 2, 3)) + "T00:00:00Z")
                assert all(day <= t < day + timedelta(days=1) for t in times), path  # EventTime
    assert late >= 3  # some records arrive after the next hour's objects


def test_cloudtrail_files_are_an_org_trail_named_by_delivery_time(
        committed: dict[str, bytes], answers: dict[str, Any]) -> None:
    trail = answers["trail"]
    pattern = re.compile(
        rf"{trail['bucket']}/AWSLogs/{trail['organization_id']}/(\d{{12}})/CloudTrail/([a-z0-9-]+)/"
        r"(\d{4})/(\d\d)/(\d\d)/\1_CloudTrail_\2_(\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz")
    logs = [p for p in committed if "/CloudTrail/" in p]
    assert len(logs) == answers["counts"]["cloudtrail_files"]
    delays = []
    for path in logs:
        m = pattern.fullmatch(path)
        assert m, path
        delivered = datetime.strptime(m.group(6), "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
        assert m.group(3, 4, 5) == (f"{delivered:%Y}", f"{delivered:%m}", f"{delivered:%d}")
        records = json.loads(gzip.decompress(committed[path]))["Records"]
        newest = max(ts(r["eventTime"]) for r in records)
        delays.append((delivered - newest).total_seconds())
    assert min(delays) >= -60  # never before its events (the key has minutes only)
    assert max(delays) <= 20 * 60  # delivered within minutes


def test_digests_sign_a_complete_chain_with_the_shipped_public_key(
        committed: dict[str, bytes], answers: dict[str, Any]) -> None:
    trail = answers["trail"]
    key = serialization.load_pem_public_key(committed[trail["public_key_file"]])
    assert isinstance(key, rsa.RSAPublicKey)
    der = key.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    assert hashlib.md5(der).hexdigest() == trail["public_key_fingerprint"]
    metadata = json.loads(committed[trail["signature_metadata_file"]])
    digests = sorted(p for p in committed if "/CloudTrail-Digest/" in p)
    assert sorted(metadata) == digests
    assert len(digests) == answers["counts"]["digest_files"] >= 24 * 7
    covered: list[str] = []
    previous: tuple[str, bytes, str] | None = None
    for path in digests:
        content = gzip.decompress(committed[path])
        d = json.loads(content)
        meta = metadata[path]
        assert meta["signature-algorithm"] == d["digestSignatureAlgorithm"] == "SHA256withRSA"
        assert f"{d['digestS3Bucket']}/{d['digestS3Object']}" == path
        assert d["digestPublicKeyFingerprint"] == trail["public_key_fingerprint"]
        if previous is None:
            assert d["previousDigestSignature"] is None and d["previousDigestS3Object"] is None
        else:
            assert f"{d['previousDigestS3Bucket']}/{d['previousDigestS3Object']}" == previous[0]
            assert d["previousDigestHashValue"] == hashlib.sha256(previous[1]).hexdigest()
            assert d["previousDigestSignature"] == previous[2]
            assert d["digestStartTime"] == json.loads(previous[1])["digestEndTime"]
        signed = "\n".join([d["digestEndTime"], path, hashlib.sha256(content).hexdigest(),
                            d["previousDigestSignature"] or "null"]).encode()
        key.verify(bytes.fromhex(meta["signature"]), signed, padding.PKCS1v15(), hashes.SHA256())
        with pytest.raises(InvalidSignature):  # the check is real: a changed digest fails it
            key.verify(bytes.fromhex(meta["signature"]), signed + b" ", padding.PKCS1v15(),
                       hashes.SHA256())
        for f in d["logFiles"]:
            log = f"{f['s3Bucket']}/{f['s3Object']}"
            assert hashlib.sha256(gzip.decompress(committed[log])).hexdigest() == f["hashValue"]
            covered.append(log)
        previous = (path, content, meta["signature"])
    assert sorted(covered) == sorted(p for p in committed if "/CloudTrail/" in p)


def test_answers_md_tells_the_same_facts(committed: dict[str, bytes],
                                         answers: dict[str, Any]) -> None:
    text = committed["ANSWERS.md"].decode()
    assert answers["window"]["start"] in text and answers["window"]["end"] in text
    for value in [*answers["attacker"]["ips"], *answers["attacker"]["access_keys"],
                  answers["trail"]["public_key_fingerprint"], answers["ransom_note"]["key"]]:
        assert value in text
    for line in answers["malformed_lines"]:
        assert f"`{line['file']}` line {line['line_no']}" in text


# -- the ingested case ----------------------------------------------------------------------------


def test_samples_ingest_with_only_the_listed_rejects(case: Case, answers: dict[str, Any]) -> None:
    rejects = rows(case, "SELECT e.case_path, r.line_no, r.raw FROM rejects r "
                         "JOIN evidence e USING (evidence_id)")
    expected = {(m["file"], m["line_no"]): m["raw"] for m in answers["malformed_lines"]}
    found = {}
    for r in rejects:
        file = next((f for f, _ in expected if r["case_path"].endswith("/" + f)), r["case_path"])
        found[(file, r["line_no"])] = r["raw"]
    assert found == expected
    counts = answers["counts"]
    kinds = dict(case.sql("SELECT kind, count(*) FROM evidence GROUP BY kind").rows())
    assert kinds == {"s3-access": counts["access_log_objects"],
                     "cloudtrail": counts["cloudtrail_files"],
                     "cloudtrail-digest": counts["digest_files"]}
    assert case.tables()["s3_access_logs"] == counts["access_log_rows"]
    assert case.tables()["cloudtrail_events"] == counts["cloudtrail_events"]


def test_the_duplicate_cloudtrail_event_is_in_two_files_and_loaded_once(
        case: Case, committed: dict[str, bytes], answers: dict[str, Any]) -> None:
    for dup in answers["duplicate_events"]:
        for path in dup["files"]:
            ids = [r["eventID"] for r in json.loads(gzip.decompress(committed[path]))["Records"]]
            assert dup["event_id"] in ids
        n = case.sql("SELECT count(*) FROM cloudtrail_events WHERE event_id = $id",
                     {"id": dup["event_id"]}).item()
        assert n == 1


def test_event_times_stay_in_the_time_span(case: Case, answers: dict[str, Any]) -> None:
    start, end = ts(answers["time_span"]["start"]), ts(answers["time_span"]["end"])
    for table in ("s3_access_logs", "cloudtrail_events"):
        first, last = case.sql(f"SELECT min(event_time), max(event_time) FROM {table}").row(0)
        assert start <= first and last < end, table


def test_addresses_and_accounts_are_documentation_values(case: Case,
                                                         answers: dict[str, Any]) -> None:
    ips = case.sql("SELECT remote_ip ip FROM s3_access_logs UNION "
                   "SELECT source_ip FROM cloudtrail_events")["ip"].drop_nulls().to_list()
    addresses = [ipaddress.ip_address(ip) for ip in ips
                 if ip != "-" and not ip.endswith(".amazonaws.com")]
    assert len(addresses) > 50
    assert [a for a in addresses if not any(a in n for n in _ALLOWED_NETS)] == []
    accounts = {a["id"] for a in answers["accounts"]}
    seen = set(case.sql("SELECT account_id a FROM cloudtrail_events UNION "
                        "SELECT recipient_account_id FROM cloudtrail_events")["a"].drop_nulls())
    assert seen - {"ANONYMOUS_PRINCIPAL"} <= accounts
    arns = case.sql("SELECT DISTINCT requester FROM s3_access_logs")["requester"].drop_nulls()
    in_arns = {m for arn in arns for m in re.findall(r"::(\d{12}):", arn)}
    assert in_arns and in_arns <= accounts


def test_both_sources_agree_on_every_shared_request(case: Case) -> None:
    joined = case.sql("""
        SELECT a.event_time AS received, a.total_time_ms, a.host_id, a.remote_ip, a.bucket,
               a.object_key, c.event_time AS completed, c.x_amz_id_2, c.source_ip,
               c.bucket AS ct_bucket, c.object_key AS ct_key
        FROM s3_access_logs a JOIN cloudtrail_events c USING (request_id)
        WHERE a.operation NOT IN ('BATCH.DELETE.OBJECT', 'REST.COPY.OBJECT_GET')""")
    assert joined.height > 1000
    bad = joined.filter(
        (pl.col("host_id") != pl.col("x_amz_id_2"))
        | (pl.col("bucket") != pl.col("ct_bucket"))
        | (pl.col("object_key").fill_null("") != pl.col("ct_key").fill_null(""))
        # CloudTrail time is completion, the access log's is receipt.
        | (pl.col("completed") < pl.col("received"))
        | (pl.col("completed") > pl.col("received")
           + pl.duration(milliseconds=pl.col("total_time_ms")) + pl.duration(seconds=1))
        | ((pl.col("remote_ip") != pl.col("source_ip"))
           & ~pl.col("source_ip").str.ends_with(".amazonaws.com"))
    )
    assert bad.height == 0, bad.head()


def test_sensitive_bucket_requests_are_in_both_sources_outside_the_logging_gap(
        case: Case, answers: dict[str, Any]) -> None:
    bucket = answers["trail"]["data_event_buckets"][0]
    gap = next(g for g in answers["logging_gaps"] if g["bucket"] == bucket)
    params = {"bucket": bucket, "gap_from": ts(gap["from"]) - timedelta(minutes=2),
              "gap_to": ts(gap["to"]) + timedelta(minutes=2)}
    ct_only = case.sql("""
        SELECT event_name, event_time FROM cloudtrail_events
        WHERE bucket = $bucket AND NOT (event_time >= $gap_from AND event_time < $gap_to)
          AND request_id NOT IN (SELECT request_id FROM s3_access_logs WHERE request_id IS NOT NULL)""",
        params)
    assert ct_only.height == 0, ct_only.head()
    sal_only = case.sql("""
        SELECT operation, count(*) n FROM s3_access_logs
        WHERE bucket = $bucket
          AND request_id NOT IN (SELECT request_id FROM cloudtrail_events WHERE request_id IS NOT NULL)
        GROUP BY operation""", {"bucket": bucket})
    # Only what CloudTrail never records: S3's own lifecycle actions.
    assert set(sal_only["operation"]) == {"S3.EXPIRE.OBJECT"}


def test_the_access_log_gap_is_real_and_cloudtrail_covers_it(case: Case,
                                                            answers: dict[str, Any]) -> None:
    for gap in answers["logging_gaps"]:
        p = {"bucket": gap["bucket"], "a": ts(gap["from"]), "b": ts(gap["to"])}
        inside = "SELECT count(*) FROM {t} WHERE bucket = $bucket AND event_time >= $a AND event_time < $b"
        assert case.sql(inside.format(t="s3_access_logs"), p).item() == 0
        assert case.sql(inside.format(t="cloudtrail_events"), p).item() > 20
        before = ("SELECT count(*) FROM s3_access_logs WHERE bucket = $bucket AND "
                  "event_time >= $a - INTERVAL 1 HOUR AND event_time < $a")
        assert case.sql(before, {"bucket": p["bucket"], "a": p["a"]}).item() > 0


# -- the breach -----------------------------------------------------------------------------------


def test_attacker_addresses_appear_in_both_sources_and_only_inside_the_window(
        case: Case, answers: dict[str, Any]) -> None:
    att = answers["attacker"]
    p = {"ips": att["ips"]}
    sal = case.sql("SELECT remote_ip ip, event_time t FROM s3_access_logs "
                   "WHERE remote_ip IN (SELECT unnest($ips))", p)
    ct = case.sql("SELECT source_ip ip, event_time t FROM cloudtrail_events "
                  "WHERE source_ip IN (SELECT unnest($ips))", p)
    assert set(sal["ip"]) == set(ct["ip"]) == set(att["ips"])
    times = sorted(sal["t"].to_list() + ct["t"].to_list())
    assert times[0] == ts(answers["window"]["start"])
    assert times[-1] + timedelta(seconds=1) == ts(answers["window"]["end"])


def test_the_leaked_key_is_used_by_the_attacker_and_by_its_owner_only(
        case: Case, answers: dict[str, Any]) -> None:
    att = answers["attacker"]
    owner = next(b for b in answers["benign_actors"] if b.get("shares_principal_with_attacker"))
    used = case.sql("SELECT DISTINCT source_ip, user_agent FROM cloudtrail_events "
                    "WHERE access_key_id IN (SELECT unnest($keys))", {"keys": att["access_keys"]})
    key_ips = set(used["source_ip"])
    assert key_ips & set(att["ips"]) and set(owner["ips"]) <= key_ips
    assert key_ips <= set(att["ips"]) | set(owner["ips"])
    assert set(owner["principals"]) <= set(att["principals"])
    for source in att["sources"]:
        principal = case.sql("SELECT DISTINCT requester FROM s3_access_logs WHERE remote_ip = $ip",
                             {"ip": source["ip"]})["requester"].to_list()
        assert principal == [source["principal"]]


def test_attacker_principals_and_user_agents_are_in_the_logs(case: Case,
                                                             answers: dict[str, Any]) -> None:
    att = answers["attacker"]
    requesters = set(case.sql("SELECT DISTINCT requester FROM s3_access_logs")["requester"])
    assert set(att["principals"]) <= requesters
    foreign = case.sql("SELECT DISTINCT identity_type, account_id FROM cloudtrail_events "
                       "WHERE source_ip IN (SELECT unnest($ips)) AND principal_arn IS NULL",
                       {"ips": att["ips"]}).rows()
    assert foreign == [("AWSAccount", att["accounts"][0])]
    agents = set(case.sql("SELECT DISTINCT user_agent FROM s3_access_logs")["user_agent"])
    agents |= {ua.strip("[]") for ua in case.sql(
        "SELECT DISTINCT user_agent FROM cloudtrail_events")["user_agent"].drop_nulls()}
    assert set(att["user_agents"]) <= agents


def test_stolen_objects_were_read_by_the_attacker_with_those_byte_counts(
        case: Case, answers: dict[str, Any]) -> None:
    stolen = pl.DataFrame(answers["stolen_objects"])
    assert stolen["bytes"].sum() == answers["stolen_bytes"]
    sal = case.sql("""
        SELECT request_id, bucket, object_key AS key, bytes_sent, remote_ip, requester, host_id
        FROM s3_access_logs WHERE operation = 'REST.GET.OBJECT' AND http_status = 200
          AND remote_ip IN (SELECT unnest($ips))""", {"ips": answers["attacker"]["ips"]})
    # Every successful read from an attacker address is in the key, and only those.
    assert sorted(sal["request_id"]) == sorted(stolen["request_id"])
    got = stolen.join(sal, on="request_id", suffix="_log")
    assert got.filter((pl.col("key") != pl.col("key_log")) | (pl.col("bucket") != pl.col("bucket_log"))
                      | (pl.col("bytes") != pl.col("bytes_sent"))
                      | (pl.col("source_ip") != pl.col("remote_ip"))
                      | (pl.col("principal") != pl.col("requester"))).height == 0
    ct = case.sql("SELECT request_id, event_name, object_key AS key, bytes_out, x_amz_id_2 "
                  "FROM cloudtrail_events WHERE request_id IN (SELECT unnest($ids))",
                  {"ids": stolen["request_id"].to_list()})
    both = got.join(ct, on="request_id", suffix="_ct")
    assert both.height == stolen.height
    assert both.filter((pl.col("event_name") != "GetObject") | (pl.col("bytes_out") != pl.col("bytes"))
                       | (pl.col("key_ct") != pl.col("key"))
                       | (pl.col("x_amz_id_2") != pl.col("host_id"))).height == 0


def test_access_denied_probing_is_in_both_sources(case: Case, answers: dict[str, Any]) -> None:
    ids = [d["request_id"] for d in answers["access_denied"]]
    assert ids
    for table in ("s3_access_logs", "cloudtrail_events"):
        got = case.sql(f"SELECT DISTINCT request_id, error_code FROM {table} "
                       "WHERE request_id IN (SELECT unnest($ids))", {"ids": ids})
        assert sorted(got["request_id"]) == sorted(ids), table
        assert set(got["error_code"]) == {"AccessDenied"}, table


def test_config_changes_are_in_cloudtrail_and_the_access_log(case: Case,
                                                            answers: dict[str, Any]) -> None:
    changes = answers["config_changes"]
    assert {c["event_name"] for c in changes} == {
        "PutBucketPolicy", "PutBucketVersioning", "PutBucketLifecycle", "PutBucketLogging"}
    for c in changes:
        ct = rows(case, "SELECT event_name, bucket, event_time, source_ip, request_id "
                        "FROM cloudtrail_events WHERE event_id = $id", id=c["event_id"])
        assert ct == [{"event_name": c["event_name"], "bucket": c["bucket"],
                       "event_time": ts(c["event_time"]), "source_ip": c["source_ip"],
                       "request_id": c["request_id"]}]
        sal = rows(case, "SELECT operation FROM s3_access_logs WHERE request_id = $id",
                   id=c["request_id"])
        assert sal == [{"operation": c["operation"]}]
    # And the attacker made no other configuration change.
    made = case.sql("SELECT event_id FROM cloudtrail_events WHERE event_name LIKE 'PutBucket%' "
                    "AND source_ip IN (SELECT unnest($ips))", {"ips": answers["attacker"]["ips"]})
    assert sorted(made["event_id"]) == sorted(c["event_id"] for c in changes)
    logging_off = next(c for c in changes if c["event_name"] == "PutBucketLogging")
    params = case.sql("SELECT request_parameters FROM cloudtrail_events WHERE event_id = $id",
                      {"id": logging_off["event_id"]}).item()
    assert "LoggingEnabled" not in params


def test_the_exposing_policy_grants_a_foreign_account_that_then_reads_through_it(
        case: Case, answers: dict[str, Any]) -> None:
    exposure = answers["exposure"]
    change = exposure["change"]
    policy = case.sql("SELECT request_parameters FROM cloudtrail_events WHERE event_id = $id",
                      {"id": change["event_id"]}).item()
    assert exposure["grantee"] in policy
    reads = exposure["reads"]
    assert reads
    got = case.sql("SELECT requester, event_time FROM s3_access_logs "
                   "WHERE request_id IN (SELECT unnest($ids))",
                   {"ids": [r["request_id"] for r in reads]})
    assert got.height == len(reads)
    assert set(got["requester"]) == {exposure["reader"]}
    assert min(got["event_time"].to_list()) > ts(change["access_log_time"])


def test_deleted_keys_have_per_key_delete_records(case: Case, answers: dict[str, Any]) -> None:
    deleted = answers["deleted_keys"]
    requests = sorted({d["request_id"] for d in deleted})
    sal = case.sql("SELECT request_id, bucket, object_key FROM s3_access_logs "
                   "WHERE operation = 'BATCH.DELETE.OBJECT' AND request_id IN (SELECT unnest($ids))",
                   {"ids": requests})
    assert sorted(sal.rows()) == sorted((d["request_id"], d["bucket"], d["key"]) for d in deleted)
    ct = case.sql("SELECT event_name, object_key FROM cloudtrail_events "
                  "WHERE request_id IN (SELECT unnest($ids))", {"ids": requests})
    assert ct.height == len(requests)
    assert set(ct["event_name"]) == {"DeleteObjects"} and ct["object_key"].null_count() == ct.height


def test_ssec_encrypted_keys_were_copied_in_place_with_a_customer_key(
        case: Case, answers: dict[str, Any]) -> None:
    ssec = answers["ssec_encrypted_keys"]
    assert ssec
    ids = [s["request_id"] for s in ssec]
    ct = case.sql("SELECT request_id, object_key, request_parameters FROM cloudtrail_events "
                  "WHERE event_name = 'CopyObject' AND request_id IN (SELECT unnest($ids))",
                  {"ids": ids})
    assert sorted(zip(ct["request_id"], ct["object_key"])) == sorted(
        (s["request_id"], s["key"]) for s in ssec)
    assert all("x-amz-server-side-encryption-customer-algorithm" in p
               for p in ct["request_parameters"])
    sal = case.sql("SELECT operation, count(*) n FROM s3_access_logs "
                   "WHERE request_id IN (SELECT unnest($ids)) GROUP BY operation", {"ids": ids})
    assert dict(sal.rows()) == {"REST.COPY.OBJECT": len(ssec), "REST.COPY.OBJECT_GET": len(ssec)}


# -- benign traffic -------------------------------------------------------------------------------


def test_benign_actors_exist_in_the_data_and_are_not_the_attacker(
        case: Case, answers: dict[str, Any]) -> None:
    ips = set(case.sql("SELECT remote_ip v FROM s3_access_logs UNION "
                       "SELECT source_ip FROM cloudtrail_events")["v"].drop_nulls())
    principals = set(case.sql("SELECT requester v FROM s3_access_logs UNION "
                              "SELECT principal_arn FROM cloudtrail_events")["v"].drop_nulls())
    agents = set(case.sql("SELECT user_agent v FROM s3_access_logs")["v"].drop_nulls())
    agents |= {ua.strip("[]") for ua in case.sql(
        "SELECT user_agent v FROM cloudtrail_events")["v"].drop_nulls()}
    att = answers["attacker"]
    kinds = set()
    for actor in answers["benign_actors"]:
        name = actor["name"]
        assert actor["ips"] or actor["principals"], name
        assert set(actor["ips"]) <= ips, name
        assert set(actor["principals"]) <= principals, name
        assert set(actor["user_agents"]) <= agents, name
        assert not set(actor["ips"]) & set(att["ips"]), name
        if not actor.get("shares_principal_with_attacker"):
            assert not set(actor["principals"]) & set(att["principals"]), name
        kinds.add(actor["kind"])
    assert {"application-role", "bulk-job", "console-user", "aws-service", "anonymous-public",
            "cdn"} <= kinds


def test_benign_traffic_holds_the_traps_naive_detections_fall_into(
        case: Case, answers: dict[str, Any]) -> None:
    bucket = answers["trail"]["data_event_buckets"][0]
    actor = {a["name"]: a for a in answers["benign_actors"]}
    # A bulk job reading many objects at night.
    nightly = case.sql("SELECT count(*) FROM s3_access_logs WHERE operation = 'REST.GET.OBJECT' "
                       "AND hour(event_time) BETWEEN 1 AND 3 AND requester IN "
                       "(SELECT unnest($p))", {"p": actor["nightly-export"]["principals"]}).item()
    assert nightly > 100
    # An administrator reading and changing the bucket policy.
    admin = set(case.sql("SELECT DISTINCT event_name FROM cloudtrail_events WHERE principal_arn "
                         "IN (SELECT unnest($p))", {"p": actor["alice.admin"]["principals"]})
                ["event_name"])
    assert {"GetBucketPolicy", "PutBucketPolicy", "PutBucketLogging"} <= admin
    # Lifecycle expirations deleting objects, and anonymous website reads without TLS.
    assert case.sql("SELECT count(*) FROM s3_access_logs WHERE operation = 'S3.EXPIRE.OBJECT' "
                    "AND bucket = $b", {"b": bucket}).item() > 20
    assert case.sql("SELECT count(*) FROM s3_access_logs WHERE operation LIKE 'WEBSITE.GET.%' "
                    "AND requester IS NULL AND tls_version IS NULL").item() > 200
    assert answers["benign_config_changes"]
