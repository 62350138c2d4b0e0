"""What every column of the case database means: the single source for COMMENTs and docs."""

from __future__ import annotations

__all__ = ["TABLE_DOCS", "COLUMN_DOCS"]

TABLE_DOCS: dict[str, str] = {
    "s3_access_logs": "S3 server access log records, one row per log line that parsed.",
    "cloudtrail_events": "CloudTrail events (management, data, network activity), one row per unique eventID.",
    "evidence": (
        "One row per evidence object (source name, key, version) in the case: where it came from, "
        "its hash, where its copy is, what it yielded; identical bytes are stored and loaded once."
    ),
    "rejects": "Input lines or records that did not become rows, with the reason.",
}

COLUMN_DOCS: dict[str, dict[str, str]] = {
    "s3_access_logs": {
        "bucket_owner": "Canonical user ID of the source bucket's owner.",
        "bucket": "Name of the bucket the request was made to.",
        "event_time": "Time S3 received the request (UTC; the log's own offset applied).",
        "remote_ip": "Apparent client address (IPv4/IPv6); NULL when S3 logged '-'.",
        "requester": "Who made the request: IAM ARN, canonical ID, svc:<service>, NULL if anonymous.",
        "request_id": "S3 request ID; equals CloudTrail requestID for the same request.",
        "operation": "SOAP.op, REST.METHOD.resource, WEBSITE.*, BATCH.DELETE.OBJECT or S3.action.",
        "key": "Object key exactly as logged (URL-encoded); NULL when the request had no key.",
        "object_key": "Real object key, decoded to match CloudTrail's requestParameters.key.",
        "request_uri": "Request-URI line without its quotes (method, path, query, protocol).",
        "http_status": "HTTP status code returned.",
        "error_code": "S3 error code (e.g. AccessDenied); NULL when none.",
        "bytes_sent": "Response bytes sent, excluding HTTP overhead; NULL when S3 logged '-'.",
        "object_size": "Total size of the object in bytes.",
        "total_time_ms": "Milliseconds the request was in flight, from the server's view.",
        "turnaround_time_ms": "Milliseconds S3 spent processing the request.",
        "referer": "HTTP Referer header, without its quotes.",
        "user_agent": "HTTP User-Agent header, without its quotes.",
        "version_id": "Object version ID in the request.",
        "host_id": "x-amz-id-2 extended request ID; matches CloudTrail additionalEventData.x-amz-id-2.",
        "signature_version": "SigV2 or SigV4; NULL for unauthenticated requests.",
        "cipher_suite": "TLS cipher suite; NULL for plain HTTP.",
        "authentication_type": "AuthHeader, QueryString (presigned URL) or NULL (unauthenticated).",
        "host_header": "Endpoint host the client connected to.",
        "tls_version": "TLS version negotiated (TLSv1 .. TLSv1.3); NULL for plain HTTP.",
        "access_point_arn": "ARN of the access point used, if any.",
        "acl_required": "True if an ACL was required to authorise the request; NULL if the log era lacks the field.",
        "source_region": "AWS Region the request originated from (field added in 2026); NULL if absent.",
        "extra_fields": "Fields after the 27th, kept verbatim (formats AWS adds in future).",
        "anomalies": "What is odd about this record, '; '-separated (a value that does not fit its field, kept as logged; client text shaped like another record); NULL when nothing is.",
        "evidence_id": "Evidence object the line came from (evidence.evidence_id).",
        "line_no": "1-based line number of the record in its evidence object.",
    },
    "cloudtrail_events": {
        "event_time": "eventTime: when the request completed (UTC).",
        "event_id": "eventID: unique per event; duplicates are loaded once.",
        "event_name": "eventName: the API action (GetObject, PutBucketPolicy...); for Insights events, insightDetails.eventName.",
        "event_source": "eventSource: the service (s3.amazonaws.com...); for Insights events, insightDetails.eventSource.",
        "event_type": "eventType: AwsApiCall, AwsServiceEvent, AwsConsoleSignIn, AwsVpceEvent.",
        "event_category": "eventCategory: Management, Data, NetworkActivity, Insight.",
        "event_version": "eventVersion of the record format.",
        "aws_region": "awsRegion the request was made to.",
        "source_ip": "sourceIPAddress: client IP, or a service name for AWS service calls.",
        "user_agent": "userAgent of the caller.",
        "identity_type": "userIdentity.type: Root, IAMUser, AssumedRole, AWSService, AWSAccount...",
        "principal_arn": "userIdentity.arn of the caller.",
        "principal_id": "userIdentity.principalId.",
        "account_id": "userIdentity.accountId (may be ANONYMOUS_PRINCIPAL or redacted).",
        "access_key_id": "userIdentity.accessKeyId (AKIA long-term, ASIA temporary).",
        "user_name": "userIdentity.userName, else the session issuer's name for assumed roles.",
        "session_issuer_arn": "userIdentity.sessionContext.sessionIssuer.arn (the role behind a session).",
        "session_mfa": "sessionContext.attributes.mfaAuthenticated.",
        "invoked_by": "userIdentity.invokedBy: the AWS service that made the call on the caller's behalf.",
        "recipient_account_id": "recipientAccountId: account that received the event.",
        "request_id": "requestID; equals the access log request_id for S3 requests.",
        "shared_event_id": "sharedEventID linking copies of a cross-account event.",
        "read_only": "readOnly: true for read operations.",
        "management_event": "managementEvent: true for management (control-plane) events.",
        "error_code": "errorCode when the request failed (AccessDenied...).",
        "error_message": "errorMessage when the request failed.",
        "bucket": "Bucket named by requestParameters.bucketName (or the bucket resource ARN).",
        "object_key": "Object key from requestParameters.key (Key on S3 on Outposts; else the object resource ARN).",
        "bytes_in": "additionalEventData.bytesTransferredIn.",
        "bytes_out": "additionalEventData.bytesTransferredOut.",
        "x_amz_id_2": "additionalEventData x-amz-id-2; equals the access log host_id.",
        "vpc_endpoint_id": "vpcEndpointId when the request came through a VPC endpoint.",
        "tls_version": "tlsDetails.tlsVersion.",
        "request_parameters": "requestParameters as JSON text.",
        "response_elements": "responseElements as JSON text.",
        "additional_event_data": "additionalEventData as JSON text.",
        "resources": "resources[] as JSON text.",
        "raw": "The whole record as JSON text (its exact bytes for S3-delivered files and JSON lines).",
        "evidence_id": "Evidence object the record came from (evidence.evidence_id).",
        "record_no": "1-based position of the record in its evidence object.",
    },
    "evidence": {
        "evidence_id": (
            "Short id of the object: the first 16 hex digits of its SHA-256; for an object "
            "identical to an earlier one (identical_to), of the SHA-256 of its SHA-256, source "
            "and version id."
        ),
        "sha256": "SHA-256 of the object exactly as stored (before any decompression).",
        "kind": "s3-access, cloudtrail or cloudtrail-digest.",
        "source": "Where the object came from: s3://bucket/key or the local path ingested.",
        "case_path": "Path of the stored copy, relative to the case folder (see stored_as).",
        "size": "Size of the stored object in bytes.",
        "records": "Rows the object yielded (0 for an object identical to another: its rows are that one's).",
        "rejects": "Lines or records of the object that were rejected (0 when identical to another).",
        "duplicates": "CloudTrail records skipped because their eventID was already loaded.",
        "loaded_at": "When the object was loaded into the case (UTC).",
        "bucket": "S3 bucket the object was acquired from (NULL for local files).",
        "key": "S3 key of the object (NULL for local files).",
        "version_id": "S3 version ID at acquisition.",
        "etag": "S3 ETag at acquisition.",
        "last_modified": "S3 LastModified at acquisition (delivery time of the log object).",
        "acquired_at": "When the object was downloaded from S3 (UTC).",
        "stored_as": (
            "How case_path was chosen: 'name' (the object's own key or path), 'renamed' (its own "
            "name already held other bytes: evidence/<bucket>@<sha>/... or evidence/local/<sha>/...), "
            "'encoded' (a name the file system cannot hold, kept exactly in key/source: "
            "evidence/@encoded/<hash of the object's identity>), 'identical' (the same bytes are "
            "held for another object, see identical_to)."
        ),
        "identical_to": (
            "evidence_id of the earlier object with the same bytes when this object is a copy of it "
            "under another name: it shares that object's stored copy (case_path) and its rows; "
            "NULL for the object that holds them."
        ),
        "name_escaped": (
            "True when the local path in source (or link_target) was not valid UTF-8: its invalid "
            "bytes and every '%' are written %XX (urllib.parse.unquote_to_bytes gives the exact "
            "name back)."
        ),
        "link_target": (
            "Real path the local file was read from when its path (source) came through a symbolic "
            "link at or below the file or folder given to ingest; NULL otherwise."
        ),
    },
    "rejects": {
        "evidence_id": "Evidence object the line or record came from.",
        "line_no": "1-based line number in the object (line-based input).",
        "record_no": "1-based record position in the object (CloudTrail).",
        "raw": "The rejected text, as it was.",
        "reason": "Why it was rejected, in words a person can act on.",
    },
}
