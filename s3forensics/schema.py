"""What a case holds, declared once: every table and view, its typed columns, a line of doc each.

DuckDB DDL and column COMMENTs, polars and Arrow schemas, and `docs/schema.md` are all generated
from these declarations, so the local case, a Parquet case lake and any other engine read the same
contract. Types are engine-neutral (`ColumnType`) and mapped to each engine here. The shared
vocabularies (log source, entity kind, severity) are enums.

Columns added after a release go last in their table: a case made earlier gains them (with their
comments) when it is next opened for writing.

Run `python -m s3forensics.schema > docs/schema.md` to refresh the reference; a test checks it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb
    import polars as pl
    import pyarrow as pa

__all__ = [
    "CASE_TABLES",
    "CLOUDTRAIL_EVENTS",
    "CLOUDTRAIL_REPEAT_KEY",
    "ENRICHMENT_TABLES",
    "EVIDENCE",
    "INTEGRITY_TABLES",
    "LAKE_PROVENANCE",
    "PULL_TABLES",
    "REJECTS",
    "S3_ACCESS_LOGS",
    "TRAIL_COVERAGE",
    "TRAIL_INTEGRITY",
    "VIEW_DOCS",
    "Column",
    "ColumnType",
    "EntityKind",
    "LogSource",
    "Severity",
    "Table",
    "schema_markdown",
    "sql_text",
    "view_column_doc",
]


class LogSource(StrEnum):
    """The kinds of log object a case holds."""

    S3_ACCESS = "s3-access"
    CLOUDTRAIL = "cloudtrail"
    CLOUDTRAIL_DIGEST = "cloudtrail-digest"


class EntityKind(StrEnum):
    """What a finding or a pivot can be about."""

    IP = "ip"
    PRINCIPAL = "principal"
    ACCESS_KEY = "access_key"
    BUCKET = "bucket"
    OBJECT = "object"


class Severity(StrEnum):
    """How bad a finding is, worst first."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


class ColumnType(StrEnum):
    """Engine-neutral column types; each engine's type comes from here."""

    STRING = "string"
    STRING_LIST = "string[]"
    INT8 = "int8"
    INT16 = "int16"
    INT32 = "int32"
    INT64 = "int64"
    FLOAT64 = "float64"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"  # microseconds, UTC, time-zone aware


STRING, STRING_LIST, INT8, INT16, INT32, INT64, FLOAT64, BOOLEAN, TIMESTAMP = tuple(ColumnType)

def _polars_type(kind: ColumnType) -> pl.DataType:
    import polars as pl  # the vocabularies above are imported by --help; polars is not

    return {STRING: pl.String(), STRING_LIST: pl.List(pl.String()), INT8: pl.Int8(), INT16: pl.Int16(), INT32: pl.Int32(), INT64: pl.Int64(),
            FLOAT64: pl.Float64(), BOOLEAN: pl.Boolean(),
            TIMESTAMP: pl.Datetime("us", "UTC")}[kind]

_DUCKDB: dict[ColumnType, str] = {
    STRING: "VARCHAR", STRING_LIST: "VARCHAR[]", INT8: "TINYINT", INT16: "SMALLINT", INT32: "INTEGER", INT64: "BIGINT", FLOAT64: "DOUBLE",
    BOOLEAN: "BOOLEAN", TIMESTAMP: "TIMESTAMPTZ",
}


def _arrow_type(kind: ColumnType) -> pa.DataType:
    import pyarrow as pa

    return {STRING: pa.string(), STRING_LIST: pa.list_(pa.string()), INT8: pa.int8(), INT16: pa.int16(), INT32: pa.int32(), INT64: pa.int64(),
            FLOAT64: pa.float64(), BOOLEAN: pa.bool_(), TIMESTAMP: pa.timestamp("us", tz="UTC")}[kind]


def sql_text(text: str) -> str:
    """`text` as a SQL string literal (for DDL and COMMENTs, which take no bound parameters)."""
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Column:
    """One column: name, engine-neutral type, what it means, and where it comes from."""

    name: str
    type: ColumnType
    doc: str
    #: The source field it is read from, where that is not obvious from the name.
    origin: str = ""
    #: Compressed with zstd in DuckDB: long JSON text that is read rarely.
    zstd: bool = False


@dataclass(frozen=True)
class Table:
    """A case table: its columns in storage order and a line about what one row is."""

    name: str
    doc: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        """Column names in storage order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """The column called `name`."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")

    def polars_schema(self) -> dict[str, pl.DataType]:
        """The polars schema of the table's rows, in storage order."""
        return {c.name: _polars_type(c.type) for c in self.columns}

    def arrow_schema(self) -> pa.Schema:
        """The Arrow (and Parquet) schema of the table, with each column's doc as metadata."""
        import pyarrow as pa

        return pa.schema([pa.field(c.name, _arrow_type(c.type), metadata={"doc": c.doc})
                          for c in self.columns], metadata={"doc": self.doc})

    def conform(self, frame: pl.DataFrame) -> pl.DataFrame:
        """`frame` with the table's columns in storage order, typed, NULL where it has none."""
        import polars as pl

        return frame.select([(pl.col(n) if n in frame.columns else pl.lit(None)).cast(t).alias(n)
                             for n, t in self.polars_schema().items()])

    def empty_frame(self) -> pl.DataFrame:
        """An empty polars frame with the table's schema."""
        import polars as pl

        return pl.DataFrame(schema=self.polars_schema())

    def replace(self, con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> None:
        """Create or replace the table in `con` holding `frame` (conformed), with its COMMENTs.

        Runs in the caller's transaction: one that replaces several tables wraps the calls.
        """
        view = f"_replace_{self.name}"
        con.register(view, self.conform(frame))
        try:
            con.execute(self.create_sql(replace=True))
            con.execute(f"INSERT INTO {self.name} SELECT * FROM {view}")
        finally:
            con.unregister(view)
        for statement in self.comment_sql():
            con.execute(statement)

    def duckdb_type(self, name: str) -> str:
        """The DuckDB type of one column."""
        return _DUCKDB[self.column(name).type]

    def create_sql(self, *, replace: bool = False) -> str:
        """DuckDB CREATE TABLE for the table (CREATE OR REPLACE with `replace`)."""
        cols = ", ".join(f'"{c.name}" {_DUCKDB[c.type]}' + (" USING COMPRESSION zstd" if c.zstd else "")
                         for c in self.columns)
        return f"CREATE {'OR REPLACE ' if replace else ''}TABLE {self.name} ({cols})"

    def comment_sql(self, columns: Iterable[str] | None = None) -> list[str]:
        """DuckDB COMMENT statements for the table and its columns (or only those named)."""
        names = self.column_names if columns is None else list(columns)
        out = [] if columns is not None else [f"COMMENT ON TABLE {self.name} IS {sql_text(self.doc)}"]
        return out + [f'COMMENT ON COLUMN {self.name}."{n}" IS {sql_text(self.column(n).doc)}'
                      for n in names]


S3_ACCESS_LOGS = Table(
    "s3_access_logs",
    'S3 server access log records, one row per log line that parsed.',
    (
        Column("bucket_owner", STRING, "Canonical user ID of the source bucket's owner."),
        Column("bucket", STRING, 'Name of the bucket the request was made to.'),
        Column("event_time", TIMESTAMP, "Time S3 received the request (UTC; the log's own offset applied)."),
        Column("remote_ip", STRING, "Apparent client address (IPv4/IPv6); NULL when S3 logged '-'."),
        Column("requester", STRING, 'Who made the request: IAM ARN, canonical ID, svc:<service>, NULL if anonymous.'),
        Column("request_id", STRING, 'S3 request ID; equals CloudTrail requestID for the same request.'),
        Column("operation", STRING, 'SOAP.op, REST.METHOD.resource, WEBSITE.*, BATCH.DELETE.OBJECT or S3.action.'),
        Column("key", STRING, 'Object key exactly as logged (URL-encoded); NULL when the request had no key.'),
        Column("object_key", STRING, "Real object key, decoded to match CloudTrail's requestParameters.key."),
        Column("request_uri", STRING, 'Request-URI line without its quotes (method, path, query, protocol).'),
        Column("http_status", INT32, 'HTTP status code returned.'),
        Column("error_code", STRING, 'S3 error code (e.g. AccessDenied); NULL when none.'),
        Column("bytes_sent", INT64, "Response bytes sent, excluding HTTP overhead; NULL when S3 logged '-'."),
        Column("object_size", INT64, 'Total size of the object in bytes.'),
        Column("total_time_ms", INT64, "Milliseconds the request was in flight, from the server's view."),
        Column("turnaround_time_ms", INT64, 'Milliseconds S3 spent processing the request.'),
        Column("referer", STRING, 'HTTP Referer header, without its quotes.'),
        Column("user_agent", STRING, 'HTTP User-Agent header, without its quotes.'),
        Column("version_id", STRING, 'Object version ID in the request.'),
        Column("host_id", STRING, 'x-amz-id-2 extended request ID; matches CloudTrail additionalEventData.x-amz-id-2.'),
        Column("signature_version", STRING, 'SigV2 or SigV4; NULL for unauthenticated requests.'),
        Column("cipher_suite", STRING, 'TLS cipher suite; NULL for plain HTTP.'),
        Column("authentication_type", STRING, 'AuthHeader, QueryString (presigned URL) or NULL (unauthenticated).'),
        Column("host_header", STRING, 'Endpoint host the client connected to.'),
        Column("tls_version", STRING, 'TLS version negotiated (TLSv1 .. TLSv1.3); NULL for plain HTTP.'),
        Column("access_point_arn", STRING, 'ARN of the access point used, if any.'),
        Column("acl_required", BOOLEAN, 'True if an ACL was required to authorise the request; NULL if the log era lacks the field.'),
        Column("source_region", STRING, 'AWS Region the request originated from (field added in 2026); NULL if absent.'),
        Column("extra_fields", STRING, 'Fields after the 27th, kept verbatim (formats AWS adds in future).'),
        Column("evidence_id", STRING, 'Evidence object the line came from (evidence.evidence_id).'),
        Column("line_no", INT64, '1-based line number of the record in its evidence object.'),
        Column("anomalies", STRING, "What is odd about this record, '; '-separated (a value that does not fit its field, kept as logged; client text shaped like another record); NULL when nothing is."),
    ),
)

CLOUDTRAIL_EVENTS = Table(
    "cloudtrail_events",
    'CloudTrail events (management, data, network activity), one row per event: a record repeating an earlier one (same eventID, same content) is loaded once; one reusing an eventID with other content is kept (see the cloudtrail_event_id_reused query).',
    (
        Column("event_time", TIMESTAMP, 'eventTime: when the request completed (UTC).', origin='eventTime: when the request completed'),
        Column("event_id", STRING, 'eventID: unique per event; a repeat of an event is loaded once, a different record under the same eventID is kept beside it.', origin='eventID'),
        Column("event_name", STRING, 'eventName: the API action (GetObject, PutBucketPolicy...); for Insights events, insightDetails.eventName.', origin='eventName (Insights events: insightDetails.eventName)'),
        Column("event_source", STRING, 'eventSource: the service (s3.amazonaws.com...); for Insights events, insightDetails.eventSource.', origin='eventSource, e.g. s3.amazonaws.com (Insights: insightDetails.eventSource)'),
        Column("event_type", STRING, 'eventType: AwsApiCall, AwsServiceEvent, AwsConsoleSignIn, AwsVpceEvent.', origin='eventType: AwsApiCall, AwsServiceEvent, AwsVpceEvent...'),
        Column("event_category", STRING, 'eventCategory: Management, Data, NetworkActivity, Insight.', origin='eventCategory: Management, Data, NetworkActivity, Insight'),
        Column("event_version", STRING, 'eventVersion of the record format.', origin='eventVersion'),
        Column("aws_region", STRING, 'awsRegion the request was made to.', origin='awsRegion'),
        Column("source_ip", STRING, 'sourceIPAddress: client IP, or a service name for AWS service calls.', origin='sourceIPAddress: an IP, or a service name such as `AWS Internal`'),
        Column("user_agent", STRING, 'userAgent of the caller.', origin='userAgent'),
        Column("identity_type", STRING, 'userIdentity.type: Root, IAMUser, AssumedRole, AWSService, AWSAccount...', origin='userIdentity.type (NULL when the record has none)'),
        Column("principal_arn", STRING, 'userIdentity.arn of the caller.', origin='userIdentity.arn'),
        Column("principal_id", STRING, 'userIdentity.principalId.', origin='userIdentity.principalId'),
        Column("account_id", STRING, 'userIdentity.accountId (may be ANONYMOUS_PRINCIPAL or redacted).', origin='userIdentity.accountId, text: ANONYMOUS_PRINCIPAL, HIDDEN_DUE_TO_...'),
        Column("access_key_id", STRING, 'userIdentity.accessKeyId (AKIA long-term, ASIA temporary).', origin='userIdentity.accessKeyId (AKIA long-term, ASIA temporary)'),
        Column("user_name", STRING, "userIdentity.userName, else the session issuer's name for assumed roles.", origin="userIdentity.userName, else the assumed role's sessionIssuer.userName"),
        Column("session_issuer_arn", STRING, 'userIdentity.sessionContext.sessionIssuer.arn (the role behind a session).', origin='userIdentity.sessionContext.sessionIssuer.arn'),
        Column("session_mfa", BOOLEAN, 'sessionContext.attributes.mfaAuthenticated.', origin='userIdentity.sessionContext.attributes.mfaAuthenticated'),
        Column("invoked_by", STRING, "userIdentity.invokedBy: the AWS service that made the call on the caller's behalf.", origin='userIdentity.invokedBy'),
        Column("recipient_account_id", STRING, 'recipientAccountId: account that received the event.', origin='recipientAccountId'),
        Column("request_id", STRING, 'requestID; equals the access log request_id for S3 requests.', origin="requestID: joins to the access log's request_id"),
        Column("shared_event_id", STRING, 'sharedEventID linking copies of a cross-account event.', origin='sharedEventID'),
        Column("read_only", BOOLEAN, 'readOnly: true for read operations.', origin='readOnly'),
        Column("management_event", BOOLEAN, 'managementEvent: true for management (control-plane) events.', origin='managementEvent'),
        Column("error_code", STRING, 'errorCode when the request failed (AccessDenied...).', origin='errorCode'),
        Column("error_message", STRING, 'errorMessage when the request failed.', origin='errorMessage'),
        Column("bucket", STRING, 'Bucket named by requestParameters.bucketName (or the bucket resource ARN).', origin='requestParameters.bucketName, else the bucket named in resources'),
        Column("object_key", STRING, 'Object key from requestParameters.key (Key on S3 on Outposts; else the object resource ARN).', origin="requestParameters.key (or .Key), else the AWS::S3::Object resource ARN's key"),
        Column("bytes_in", INT64, 'additionalEventData.bytesTransferredIn.', origin='additionalEventData.bytesTransferredIn'),
        Column("bytes_out", INT64, 'additionalEventData.bytesTransferredOut.', origin='additionalEventData.bytesTransferredOut'),
        Column("x_amz_id_2", STRING, 'additionalEventData x-amz-id-2; equals the access log host_id.', origin='additionalEventData."x-amz-id-2" (or xAmzId2): joins to host_id'),
        Column("vpc_endpoint_id", STRING, 'vpcEndpointId when the request came through a VPC endpoint.', origin='vpcEndpointId'),
        Column("tls_version", STRING, 'tlsDetails.tlsVersion.', origin='tlsDetails.tlsVersion'),
        Column("request_parameters", STRING, 'requestParameters as JSON text.', zstd=True, origin='requestParameters as JSON text; NULL when absent or null'),
        Column("response_elements", STRING, 'responseElements as JSON text.', zstd=True, origin='responseElements as JSON text'),
        Column("additional_event_data", STRING, 'additionalEventData as JSON text.', zstd=True, origin='additionalEventData as JSON text'),
        Column("resources", STRING, 'resources[] as JSON text.', zstd=True, origin='resources as JSON text'),
        Column("raw", STRING, 'The whole record as JSON text (its exact bytes for S3-delivered files and JSON lines).', zstd=True),
        Column("evidence_id", STRING, 'Evidence object the record came from (evidence.evidence_id).'),
        Column("record_no", INT64, '1-based position of the record in its evidence object.'),
    ),
)

EVIDENCE = Table(
    "evidence",
    'One row per evidence object (source name, key, version) in the case: where it came from, its hash, where its copy is, what it yielded; identical bytes are stored and loaded once.',
    (
        Column("evidence_id", STRING, 'Short id of the object: the first 16 hex digits of its SHA-256; for an object identical to an earlier one (identical_to), of the SHA-256 of its SHA-256, source and version id.'),
        Column("sha256", STRING, 'SHA-256 of the object exactly as stored (before any decompression).'),
        Column("kind", STRING, 's3-access, cloudtrail or cloudtrail-digest.'),
        Column("source", STRING, 'Where the object came from: s3://bucket/key or the local path ingested.'),
        Column("case_path", STRING, 'Path of the stored copy, relative to the case folder (see stored_as): a file of its own (acquired objects, cases made before packs), or evidence/@packs/<pack>.tar/<member>, a member of the uncompressed tar file an ingest kept the bytes in.'),
        Column("size", INT64, 'Size of the stored object in bytes.'),
        Column("records", INT64, "Rows the object yielded (0 for an object identical to another: its rows are that one's)."),
        Column("rejects", INT64, 'Lines or records of the object that were rejected (0 when identical to another).'),
        Column("duplicates", INT64, 'CloudTrail records skipped as repeats of one already loaded (same eventID and content).'),
        Column("loaded_at", TIMESTAMP, 'When the object was loaded into the case (UTC).'),
        Column("bucket", STRING, 'S3 bucket the object was acquired from (NULL for local files).'),
        Column("key", STRING, 'S3 key of the object (NULL for local files).'),
        Column("version_id", STRING, 'S3 version ID at acquisition.'),
        Column("etag", STRING, 'S3 ETag at acquisition.'),
        Column("last_modified", TIMESTAMP, 'S3 LastModified at acquisition (delivery time of the log object).'),
        Column("acquired_at", TIMESTAMP, 'When the object was downloaded from S3 (UTC).'),
        Column("stored_as", STRING, "How case_path (or the pack member's name) was chosen: 'name' (the object's own key or path), 'renamed' (its own name already held other bytes: evidence/<bucket>@<sha>/... or evidence/local/<sha>/...), 'encoded' (a name the file system cannot hold, kept exactly in key/source: evidence/@encoded/<hash of the object's identity>), 'identical' (the same bytes are held for another object, see identical_to), 'lake' (rows pulled from a case lake by `lake pull`: the case holds no copy, case_path is the object's location as the lake recorded it, lake_provenance names the lake files)."),
        Column("name_escaped", BOOLEAN, "True when the local path in source (or link_target) was not valid UTF-8: its invalid bytes and every '%' are written %XX (urllib.parse.unquote_to_bytes gives the exact name back)."),
        Column("identical_to", STRING, "evidence_id of the earlier object with the same bytes when this object is a copy of it under another name: it shares that object's stored copy (case_path) and its rows; NULL for the object that holds them."),
        Column("link_target", STRING, 'Real path the local file was read from when its path (source) came through a symbolic link at or below the file or folder given to ingest; NULL otherwise.'),
    ),
)

REJECTS = Table(
    "rejects",
    'Input lines or records that did not become rows, with the reason.',
    (
        Column("evidence_id", STRING, 'Evidence object the line or record came from.'),
        Column("line_no", INT64, '1-based line number in the object (line-based input).'),
        Column("record_no", INT64, '1-based record position in the object (CloudTrail).'),
        Column("raw", STRING, 'The rejected text, as it was.'),
        Column("reason", STRING, 'Why it was rejected, in words a person can act on.'),
    ),
)
# -- tables `enrich` builds (and replaces) from the case's distinct values -------------------------

IP_ENRICHMENT = Table(
    "ip_enrichment",
    'One row per distinct address in s3_access_logs.remote_ip and cloudtrail_events.source_ip (join on ip): its class, the AWS range holding it, its country and network owner (from a GeoIP database given, else the data shipped with geoip2fast) and the kind of network. Built offline; enrichment_sources says from which data, of which date.',
    (
        Column("ip", STRING, 'Address exactly as logged (remote_ip / source_ip).'),
        Column("ip_version", INT8, '4 or 6; NULL for service names and unparseable values.'),
        Column("ip_class", STRING, "private, loopback, link_local, documentation, reserved, multicast, cgnat, aws (in AWS's published ranges), public, aws_service (a service name such as s3.amazonaws.com or AWS Internal) or invalid."),
        Column("is_global", BOOLEAN, 'True when the address is routable on the internet (public or aws).'),
        Column("aws_prefix", STRING, 'Most specific AWS ip-ranges prefix holding the address.'),
        Column("aws_service", STRING, 'AWS service(s) of that prefix (AMAZON only when no specific service), or the service name logged in place of an address.'),
        Column("aws_region", STRING, 'Region of the AWS prefix (GLOBAL for edge ranges).'),
        Column("aws_network_border_group", STRING, 'Network border group of the AWS prefix.'),
        Column("asn", INT64, 'Autonomous system number from the GeoIP database(s).'),
        Column("as_org", STRING, 'Organisation of the autonomous system.'),
        Column("country", STRING, 'ISO 3166-1 alpha-2 country code from the GeoIP database(s).'),
        Column("country_name", STRING, 'Country name (English).'),
        Column("city", STRING, 'City name (English), when the database has cities.'),
        Column("geo_network", STRING, 'Network of the GeoIP record that matched.'),
        Column("geo_database", STRING, 'File name(s) of the GeoIP database(s) that supplied the values; geoip2fast:<date> for the data shipped with the geoip2fast package.'),
        Column("network_type", STRING, "Kind of network its AS organisation's name suggests: tor, vpn, hosting, mobile, isp or other; NULL without an AS organisation. A keyword heuristic, not a verdict."),
        Column("network_type_basis", STRING, "Why: the keyword of the AS organisation's name that decided network_type."),
    ),
)

USER_AGENT_ENRICHMENT = Table(
    "user_agent_enrichment",
    'One row per distinct user_agent of both log sources (join on user_agent): tool class, tool, browser, OS, device and penetration-testing distribution.',
    (
        Column("user_agent", STRING, 'User agent exactly as logged.'),
        Column("tool_class", STRING, 'browser, aws_console, aws_cli, aws_sdk, aws_internal, aws_service, s3_tool, scripting, security_tool, bot, other or unknown (empty).'),
        Column("tool", STRING, 'Client named by the user agent (aws-cli, Boto3, rclone, curl, Chrome...).'),
        Column("tool_version", STRING, 'Version of that client.'),
        Column("sdk_language", STRING, 'Programming language of the SDK or library, when the user agent tells it.'),
        Column("browser", STRING, 'Browser family for browser user agents.'),
        Column("browser_version", STRING, 'Browser version (major.minor.patch...).'),
        Column("os", STRING, 'Operating system (Mac OS X, Windows, Linux, iOS, Android...).'),
        Column("os_version", STRING, 'Operating system version as the user agent gives it.'),
        Column("device", STRING, 'desktop, mobile, tablet, bot or unknown.'),
        Column("pentest_distro", STRING, 'Penetration-testing distribution named in the user agent (Kali Linux, Parrot OS, Pentoo, BlackArch); NULL if none.'),
    ),
)

PRINCIPAL_ENRICHMENT = Table(
    "principal_enrichment",
    "One row per distinct principal. Join access logs on coalesce(requester, '-') = principal and CloudTrail on CASE WHEN account_id = 'ANONYMOUS_PRINCIPAL' THEN 'ANONYMOUS_PRINCIPAL' WHEN identity_type = 'AWSService' THEN coalesce(invoked_by, nullif(principal_id, ''), principal_arn, account_id) ELSE coalesce(principal_arn, nullif(principal_id, ''), invoked_by, account_id) END = principal. For one request's cross-account status compare account_id with bucket_owner_accounts.account_id of its bucket.",
    (
        Column("principal", STRING, "Principal as logged: access-log requester ('-' = anonymous) or CloudTrail identity key."),
        Column("principal_class", STRING, 'anonymous, iam_user, assumed_role, aws_service, canonical_user, root, federated, aws_internal or unknown.'),
        Column("account_id", STRING, 'AWS account of the principal, when the ARN, CloudTrail or a bucket owner tells it.'),
        Column("user_name", STRING, 'IAM or federated user name (or the CloudFront OAI name).'),
        Column("role_name", STRING, 'Role name for assumed roles.'),
        Column("session_name", STRING, 'Role session name for assumed roles.'),
        Column("service", STRING, 'AWS service for service principals (svc:..., invokedBy, CloudFront OAI).'),
        Column("identity_type", STRING, 'CloudTrail userIdentity.type seen for the principal.'),
        Column("seen_in", STRING_LIST, 'Tables the principal appears in.'),
        Column("buckets", STRING_LIST, 'Buckets the principal made requests to.'),
        Column("cross_account_buckets", STRING_LIST, "Buckets whose owner account differs from the principal's."),
        Column("is_cross_account", BOOLEAN, 'True if the principal reached a bucket of another account; false if never where that could be told; NULL if it could not be told.'),
    ),
)

BUCKET_OWNER_ACCOUNTS = Table(
    "bucket_owner_accounts",
    "Owner account of each bucket, from (by precedence) the user's mapping, CloudTrail resources[] accountId, partitioned access-log object keys, then a single CloudTrail recipientAccountId.",
    (
        Column("bucket", STRING, 'Bucket name.'),
        Column("account_id", STRING, 'Account that owns the bucket.'),
        Column("source", STRING, 'user, cloudtrail_resources, sal_partitioned_key or cloudtrail_recipient.'),
        Column("other_accounts", STRING_LIST, 'Other accounts some source claimed for the bucket (a conflict to check).'),
        Column("owner_canonical_id", STRING, 'Canonical user ID the access logs show as bucket owner.'),
    ),
)

ENRICHMENT_SOURCES = Table(
    "enrichment_sources",
    'What the last enrichment refresh used: the AWS ip-ranges snapshot, each GeoIP database, the user-agent rules and the bucket-owner mapping.',
    (
        Column("source", STRING, 'aws_ip_ranges, geoip, geoip_offline, user_agent_rules or bucket_owner_accounts.'),
        Column("path", STRING, 'File or URL the data came from; NULL when none was available.'),
        Column("database_type", STRING, 'Kind of data (MaxMind database_type, ip-ranges.json, ...).'),
        Column("version", STRING, 'Version of the data: ip-ranges syncToken, rule versions, ...'),
        Column("built_at", TIMESTAMP, 'When the data was made: ip-ranges createDate, GeoIP build date (UTC).'),
        Column("details", STRING, 'What the data covers, or why it is missing.'),
        Column("refreshed_at", TIMESTAMP, 'When this refresh ran (UTC).'),
    ),
)

#: Enrichment tables, replaced as a whole by each `enrich`.
ENRICHMENT_TABLES: dict[str, Table] = {t.name: t for t in (
    IP_ENRICHMENT, USER_AGENT_ENRICHMENT, PRINCIPAL_ENRICHMENT, BUCKET_OWNER_ACCOUNTS,
    ENRICHMENT_SOURCES)}

TRAIL_INTEGRITY = Table(
    "trail_integrity",
    "CloudTrail log file validation, offline: one row per digest and per log file "
    "(held or named by a digest) with its verification status.",
    (
        Column("account", STRING, "AWS account of the trail files (from the key's file name)."),
        Column("region", STRING, "Region the files were recorded for (from the key's file name)."),
        Column("trail", STRING, "Trail named by the digest (for a log: the digest naming it); NULL when none."),
        Column("kind", STRING, "'digest' for a digest file, 'log' for a CloudTrail log file."),
        Column("bucket", STRING, "S3 bucket of the file as AWS delivered it (digest or evidence record); NULL when unknown."),
        Column("key", STRING, "S3 key of the file as AWS delivered it; for a local copy no digest names, the "
                              "AWSLogs/... end of its path."),
        Column("status", STRING, "Verification outcome; see STATUS_DOCS (valid, modified, missing, extra, ...)."),
        Column("failed", BOOLEAN, "True when the status says something is wrong with the evidence (altered, deleted, "
                                  "inserted, moved, unreadable); False for valid files and for those that could only "
                                  "not be checked (no public key, no signature: see UNVERIFIABLE)."),
        Column("detail", STRING, "What was found and what to do about it, in words."),
        Column("evidence_id", STRING, "Evidence object checked (evidence.evidence_id); NULL for files not in the case."),
        Column("case_path", STRING, "Where the checked copy is in the case folder; NULL for files not in the case."),
        Column("delivered_at", TIMESTAMP, "Delivery time in the file name (UTC; to the minute for logs, the second for digests)."),
        Column("digest_key", STRING, "For a log: key of the digest that names it. For a digest: the previous digest it links to."),
        Column("expected_sha256", STRING, "SHA-256 of the uncompressed content a digest records for this file (for a digest: "
                                          "what the next digest records)."),
        Column("actual_sha256", STRING, "SHA-256 of the uncompressed content of the copy in the case."),
        Column("digest_start", TIMESTAMP, "digestStartTime of the digest (for a log: of the digest naming it)."),
        Column("digest_end", TIMESTAMP, "digestEndTime of the digest (for a log: of the digest naming it)."),
        Column("oldest_event_time", TIMESTAMP, "oldestEventTime the digest records for this file."),
        Column("newest_event_time", TIMESTAMP, "newestEventTime the digest records for this file."),
        Column("fingerprint", STRING, "digestPublicKeyFingerprint: the public key that signed the digest (digests only)."),
        Column("checked_at", TIMESTAMP, "When this verification ran (UTC); the table is replaced by each run."),
    ),
)

TRAIL_COVERAGE = Table(
    "trail_coverage",
    "Periods of each digest chain: covered runs of digests, and gaps where no digest "
    "vouches for the log files (missing digests, validation off).",
    (
        Column("account", STRING, "AWS account of the digest chain."),
        Column("region", STRING, "Region of the digest chain."),
        Column("trail", STRING, "Trail of the digest chain."),
        Column("period_start", TIMESTAMP, "Start of the period (UTC, inclusive)."),
        Column("period_end", TIMESTAMP, "End of the period (UTC, exclusive)."),
        Column("status", STRING, "covered, digest_missing, digest_unreadable, validation_off or no_digest "
                                 "(see COVERAGE_STATUS_DOCS)."),
        Column("digests", INT64, "Digest files held for the period (0 for a gap)."),
        Column("hours", FLOAT64, "Length of the period in hours."),
        Column("detail", STRING, "What the period means, in words."),
        Column("checked_at", TIMESTAMP, "When this verification ran (UTC); the table is replaced by each run."),
    ),
)

#: Trail verification's tables, replaced together by each `verify_trail`.
INTEGRITY_TABLES: dict[str, Table] = {t.name: t for t in (TRAIL_INTEGRITY, TRAIL_COVERAGE)}

# -- the table `lake pull` writes: where each pulled row came from ------------------------------

LAKE_PROVENANCE = Table(
    "lake_provenance",
    'Where the rows a `lake pull` added came from: one row per pull, case table, evidence object and lake Parquet file, with how many rows of that object the pull read from that file (a row is found by its evidence_id and the UTC date of its event_time, the partition of its file).',
    (
        Column("pull_id", STRING, 'Id of the pull: its UTC time and a hash of its selection.'),
        Column("pulled_at", TIMESTAMP, 'When the pull ran (UTC).'),
        Column("lake", STRING, 'The lake pulled from (absolute path).'),
        Column("selection", STRING, 'The pull\'s filters as JSON: ips, principals, access_keys, buckets, start, end.'),
        Column("table_name", STRING, 'Case table the rows went to: s3_access_logs, cloudtrail_events, rejects or evidence.'),
        Column("evidence_id", STRING, 'Evidence object the rows came from (evidence.evidence_id).'),
        Column("lake_file", STRING, 'The lake Parquet file they were read from.'),
        Column("rows", INT64, 'Rows of that object the pull added from that file.'),
    ),
)

#: Tables `lake pull` creates in the case it writes to.
PULL_TABLES: dict[str, Table] = {LAKE_PROVENANCE.name: LAKE_PROVENANCE}

#: The tables every case has, in the order they are created and documented.
CASE_TABLES: dict[str, Table] = {t.name: t for t in (S3_ACCESS_LOGS, CLOUDTRAIL_EVENTS, EVIDENCE, REJECTS)}

#: What makes a CloudTrail record a repeat of an earlier one: the same value in every one of these
#: columns (eventID among them). The record's own bytes (`raw`) and where it was found are left out,
#: as CloudTrail delivers one event in more than one file, compact or not. A record that reuses an
#: eventID with other content (a forged or altered copy) is not a repeat: dropping it would let
#: whichever copy came first hide the other. Fields no column holds (sessionContext details,
#: serviceEventDetails...) are not compared: copies differing only there count as repeats.
CLOUDTRAIL_REPEAT_KEY: tuple[str, ...] = tuple(
    c for c in CLOUDTRAIL_EVENTS.column_names if c not in ("raw", "evidence_id", "record_no"))


# -- views --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ViewDoc:
    """What a view shows, which tables' column docs it inherits, and docs of its own columns."""

    doc: str
    inherits: tuple[str, ...] = ()
    columns: Mapping[str, str] = field(default_factory=dict)


#: Columns several views derive the same way (identity normalisation in 10/11_*.sql).
DERIVED_DOCS: dict[str, str] = {
    "principal": "Who acted, normalised across sources: an IAM ARN (assumed roles as the role's "
                 "session ARN), an account id, 'anonymous', or an AWS service name.",
    "actor": "The principal as a person would name it: role session, user, 'anonymous' or the service.",
    "principal_account": "AWS account id of the principal, where it shows one.",
    "is_anonymous": "True for unauthenticated requests.",
    "is_service": "True when an AWS service acted (log delivery, lifecycle, CloudFront, service-linked roles).",
    "is_presigned": "True for requests authenticated by a presigned URL (query-string signature).",
    "succeeded": "True when the request succeeded (access log: HTTP 2xx/3xx; CloudTrail: no errorCode).",
    "status_class": "HTTP status class: 2xx, 3xx, 4xx or 5xx.",
    "is_object_read": "True for requests that read an object's bytes (GET object and copies from it).",
    "is_s3_internal": "True for S3's own operations (S3.* lifecycle and replication actions).",
    "is_object_delete": "True for requests that delete an object or version.",
}

VIEW_DOCS: dict[str, ViewDoc] = {
    "access_requests": ViewDoc("Access log rows with the normalised identity and outcome columns.",
                               ("s3_access_logs",)),
    "trail_events": ViewDoc("CloudTrail events with the normalised identity and outcome columns.",
                            ("cloudtrail_events",)),
    "bucket_accounts": ViewDoc(
        "Which AWS account owns each bucket, as the logs suggest it.", ("s3_access_logs",),
        {"account_id": "Account id believed to own the bucket.",
         "basis": "What the ownership is inferred from."}),
    "case_accounts": ViewDoc("Accounts the case's buckets and trails belong to.", (),
                             {"account_id": "An AWS account id of the case."}),
    "own_accounts": ViewDoc("Accounts that are the victim's own: trail recipients and bucket owners "
                            "seen in its own logs (not merely named by a request).", (),
                            {"account_id": "An AWS account id of the victim organisation."}),
    "address_classes": ViewDoc(
        "Each address's class from the last `enrich` (empty until it runs).", (),
        {"ip": "An address seen in the case.",
         "ip_class": "private, documentation, reserved, aws, public...",
         "aws_service": "The AWS service whose published range holds the address, if any."}),
    "s3_request_correlation": ViewDoc(
        "Each S3 request matched across the access log and CloudTrail by request id, confirmed by "
        "host id (x-amz-id-2), with the reason for every one-sided row.",
        ("s3_access_logs", "cloudtrail_events"),
        {"match_status": "both, access_log_only or cloudtrail_only.",
         "reason": "Why a request is in one source only (e.g. management event, not logged there).",
         "access_log_time": "event_time of the access log row.",
         "cloudtrail_time": "event_time of the CloudTrail event.",
         "access_log_error": "error_code of the access log row.",
         "cloudtrail_error": "errorCode of the CloudTrail event.",
         "host_id_confirmed": "True when host id and x-amz-id-2 agree (the same request for sure).",
         "access_log_user_agent": "User agent in the access log.",
         "cloudtrail_user_agent": "userAgent in CloudTrail.",
         "access_log_evidence": "evidence_id of the access log row.",
         "cloudtrail_evidence": "evidence_id of the CloudTrail event.",
         "user_agent": "User agent of the request."}),
    "access_log_identity": ViewDoc(
        "Access log rows with the identity CloudTrail recorded for the same request (access key, "
        "session issuer, MFA).", ("s3_access_logs", "cloudtrail_events"),
        {"cloudtrail_principal": "principal_arn CloudTrail recorded for the same request.",
         "cloudtrail_event_id": "eventID of the CloudTrail event for the same request."}),
    "batch_delete_keys": ViewDoc(
        "DeleteObjects calls with the keys they deleted, which only the access log names.",
        ("cloudtrail_events",),
        {"keys_deleted": "How many keys the batch deleted.",
         "object_keys": "The keys deleted (a list).",
         "keys_from_access_log": "True when the keys come from the access log's per-key lines."}),
    "session_origins": ViewDoc(
        "The AssumeRole (or similar) call behind each temporary access key.", ("cloudtrail_events",),
        {"session_access_key_id": "The temporary access key (ASIA...) the call issued.",
         "issued_by_event": "eventID of the call that issued it.",
         "issued_at": "When it was issued (UTC).",
         "role_arn": "Role assumed.",
         "session_name": "Role session name.",
         "session_arn": "Assumed-role session ARN.",
         "issued_to_principal": "Who called AssumeRole.",
         "issued_to_ip": "From which address.",
         "issued_to_user_agent": "With which client.",
         "caller_access_key_id": "The access key the caller used."}),
    "actor_activity": ViewDoc(
        "Both sources in one shape for behaviour baselines: who, from where, with what, on what. "
        "What 20-odd detections and hunts read.", ("cloudtrail_events",),
        {"source": "s3-access or cloudtrail (LogSource): which log the row comes from.",
         "source_ip": "Client address (access log remote_ip, CloudTrail sourceIPAddress).",
         "user_agent": "Client user agent from either source.",
         "operation": "Access log operation, or CloudTrail eventName.",
         "error_code": "Error code from either source; NULL on success.",
         "bytes_out": "Bytes sent to the client (access log bytes_sent, CloudTrail bytesTransferredOut).",
         "also_in_access_log": "True for a CloudTrail event whose request is also in the access log "
                               "(counting detections keep the access log copy).",
         "network": "The address's /24 (IPv4) or /48 (IPv6), for first-seen-network baselines.",
         "is_private_ip": "True for private, loopback, link-local and CGNAT addresses (IPv4, IPv6, "
                          "IPv4-mapped): what enrich classes private, loopback, link_local or cgnat.",
         "ua_family": "Client family by enrich's user-agent rules: the tool lower-cased (aws-cli, "
                      "boto3, s3console, curl...), browser or bot; NULL for an empty user agent."}),
    "bucket_first_seen": ViewDoc(
        "When each address, principal and user agent was first seen on each bucket.",
        ("s3_access_logs",),
        {"dimension": "ip, principal or user_agent.",
         "value": "The address, principal or user agent.",
         "first_seen": "First time it was seen on the bucket (UTC).",
         "first_source": "The log that saw it first.",
         "hours_after_bucket_first": "Hours between the bucket's first activity and this first sight.",
         "bucket_first_seen": "First activity on the bucket in the case (UTC).",
         "last_seen": "Last time it was seen on the bucket (UTC).",
         "events": "Requests it made on the bucket."}),
    "timeline": ViewDoc(
        "Every request of both sources as one timeline, the correlated copy of a request once.",
        ("cloudtrail_events",),
        {"source": "s3-access or cloudtrail.",
         "source_ip": "Client address.",
         "operation": "Access log operation or CloudTrail eventName.",
         "resource": "What was acted on: s3://bucket/key, a bucket, or the request's resources.",
         "outcome": "success, or the error code / HTTP status.",
         "bytes": "Bytes sent to the client.",
         "detail": "One line of context: user agent, request parameters.",
         "position": "Line or record number in the evidence object."}),
}


def view_column_doc(view: str, column: str) -> str | None:
    """The doc of a view's column: its own, a shared derived one, else its source table's."""
    spec = VIEW_DOCS.get(view)
    if spec is None:
        return None
    if column in spec.columns:
        return spec.columns[column]
    if column in DERIVED_DOCS:
        return DERIVED_DOCS[column]
    for name in (*spec.inherits, "s3_access_logs", "cloudtrail_events", "evidence"):
        table = CASE_TABLES[name]
        if column in table.column_names:
            return table.column(column).doc
    return None


def view_comment_sql(view: str, columns: Iterable[str]) -> list[str]:
    """DuckDB COMMENT statements documenting a view and each of its columns."""
    spec = VIEW_DOCS.get(view)
    if spec is None:
        return []
    out = [f"COMMENT ON VIEW {view} IS {sql_text(spec.doc)}"]
    for name in columns:
        doc = view_column_doc(view, name)
        if doc:
            out.append(f'COMMENT ON COLUMN {view}."{name}" IS {sql_text(doc)}')
    return out


# -- the reference -------------------------------------------------------------------------------


def schema_markdown(views: Mapping[str, list[tuple[str, str]]] | None = None) -> str:
    """docs/schema.md: every table and view of a case with its columns, types and docs.

    `views` maps each view to its (column, DuckDB type) pairs, as a case reports them.
    """
    lines = ["# What a case holds", "",
             "Generated from `s3forensics/schema.py` (`python -m s3forensics.schema > docs/schema.md`);",
             "a test fails when it is stale. Times are UTC (`TIMESTAMPTZ`).", ""]
    for table in (*CASE_TABLES.values(), *ENRICHMENT_TABLES.values(), *INTEGRITY_TABLES.values(),
                  *PULL_TABLES.values()):
        lines += [f"## `{table.name}` (table)", "", table.doc, "",
                  "| column | type | meaning |", "|---|---|---|"]
        for c in table.columns:
            doc = c.doc + (f" *From:* `{c.origin}`." if c.origin else "")
            lines.append(f"| `{c.name}` | {_DUCKDB[c.type]} | {doc.replace('|', '/')} |")
        lines.append("")
    for view, columns in (views or {}).items():
        spec = VIEW_DOCS[view]
        lines += [f"## `{view}` (view)", "", spec.doc, "", "| column | type | meaning |", "|---|---|---|"]
        for name, dtype in columns:
            lines.append(f"| `{name}` | {dtype} | {(view_column_doc(view, name) or '').replace('|', '/')} |")
        lines.append("")
    return "\n".join(lines)


def _case_views() -> dict[str, list[tuple[str, str]]]:
    import duckdb

    from .store import ensure_schema
    from .views import install_views

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    ensure_schema(con)
    install_views(con)
    out: dict[str, list[tuple[str, str]]] = {}
    for view in VIEW_DOCS:
        out[view] = [(n, t) for n, t in con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = $v "
            "ORDER BY column_index", {"v": view}).fetchall()]
    con.close()
    return out


if __name__ == "__main__":  # pragma: no cover
    print(schema_markdown(_case_views()), end="")
