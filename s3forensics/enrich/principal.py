"""Classify requesters (access-log requester, CloudTrail identity) and tell cross-account access.

Bucket owner accounts come from claims in the evidence, resolved by precedence (highest first):

1. ``user`` — a mapping the investigator supplies (they know the estate);
2. ``cloudtrail_resources`` — ``resources[]`` entries of type ``AWS::S3::Bucket`` carry the
   owner's ``accountId``: AWS's own statement of who owns the bucket;
3. ``sal_partitioned_key`` — access-log objects delivered with a partitioned prefix are keyed
   ``<prefix><SourceAccountId>/<SourceRegion>/<SourceBucket>/YYYY/MM/DD/...``;
4. ``cloudtrail_recipient`` — ``recipientAccountId`` of data events on the bucket, used only when
   a single account appears: a cross-account request is delivered to the requester's trail too,
   so several recipients mean the owner cannot be told from this alone.

Within one source the account claimed most often wins; every other account claimed for the
bucket by any source is kept in ``other_accounts`` so a conflict stays visible.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import polars as pl

__all__ = [
    "BUCKET_ACCOUNT_SCHEMA",
    "BUCKET_ACCOUNT_SOURCES",
    "CLOUDTRAIL_PRINCIPAL_SQL",
    "PRINCIPAL_CLASSES",
    "PRINCIPAL_SCHEMA",
    "SAL_PRINCIPAL_SQL",
    "accounts_from_log_keys",
    "classify_principals",
    "parse_principal",
    "resolve_bucket_accounts",
]

PRINCIPAL_CLASSES = ("anonymous", "iam_user", "assumed_role", "aws_service", "canonical_user",
                     "root", "federated", "aws_internal", "unknown")
BUCKET_ACCOUNT_SOURCES = ("user", "cloudtrail_resources", "sal_partitioned_key",
                          "cloudtrail_recipient")

# The principal key of a row, as logged: the requester column (NULL, i.e. '-', is anonymous) ...
SAL_PRINCIPAL_SQL = "coalesce(requester, '-')"
# ... and for CloudTrail the identity's ARN, else what identifies it without one (service
# identities name the service in invokedBy; cross-account callers show only principalId/account).
CLOUDTRAIL_PRINCIPAL_SQL = (
    "CASE WHEN account_id = 'ANONYMOUS_PRINCIPAL' THEN 'ANONYMOUS_PRINCIPAL' "
    "WHEN identity_type = 'AWSService' THEN coalesce(invoked_by, nullif(principal_id, ''), "
    "principal_arn, account_id) "
    "ELSE coalesce(principal_arn, nullif(principal_id, ''), invoked_by, account_id) END"
)

PRINCIPAL_SCHEMA: dict[str, pl.DataType] = {
    "principal": pl.String(),
    "principal_class": pl.String(),
    "account_id": pl.String(),
    "user_name": pl.String(),
    "role_name": pl.String(),
    "session_name": pl.String(),
    "service": pl.String(),
    "identity_type": pl.String(),
    "seen_in": pl.List(pl.String()),
    "buckets": pl.List(pl.String()),
    "cross_account_buckets": pl.List(pl.String()),
    "is_cross_account": pl.Boolean(),
}

BUCKET_ACCOUNT_SCHEMA: dict[str, pl.DataType] = {
    "bucket": pl.String(),
    "account_id": pl.String(),
    "source": pl.String(),
    "other_accounts": pl.List(pl.String()),
    "owner_canonical_id": pl.String(),
}

_PARSED = ("principal_class", "account_id", "user_name", "role_name", "session_name", "service")
_ARN = re.compile(r"^arn:aws[a-z-]*:(?P<svc>iam|sts)::(?P<acct>[^:]*):(?P<res>.+)$")
_CANONICAL = re.compile(r"^[0-9a-f]{64}$")
_ACCOUNT = re.compile(r"^\d{12}$")
_SERVICE_HOST = re.compile(r"^(?:[a-z0-9-]+\.)+amazonaws\.com(?:\.cn)?$")
# IAM unique-id prefixes (AIDA user, AROA role, ...) seen as principalId for cross-account callers.
_UNIQUE_ID = re.compile(r"^(?P<kind>AIDA|AROA|ANPA|AGPA)[A-Z0-9]{8,}(?::(?P<session>.+))?$")
_INTERNAL = {"amazons3", "aws internal", "awsinternal", "aws-internal"}
_IDENTITY_CLASS = {"Root": "root", "IAMUser": "iam_user", "AssumedRole": "assumed_role",
                   "FederatedUser": "federated", "AWSService": "aws_service"}
# <prefix><account>/<region>/<bucket>/YYYY/MM/DD/YYYY-MM-DD-hh-mm-ss-<unique>
_PARTITIONED_KEY = (r"(?P<account>\d{12})/(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)/"
                    r"(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/\d{4}/\d{2}/\d{2}/"
                    r"\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9A-Za-z]+$")


def parse_principal(principal: str | None, *, identity_type: str | None = None,
                    account_hint: str | None = None) -> dict[str, str | None]:
    """Class, account, user, role, session and service of one principal as logged."""
    out: dict[str, str | None] = dict.fromkeys(_PARSED)
    text = (principal or "").strip()
    hint = account_hint if account_hint and _ACCOUNT.match(account_hint) else None
    arn = _ARN.match(text)
    if text in ("", "-", "ANONYMOUS_PRINCIPAL") or account_hint == "ANONYMOUS_PRINCIPAL":
        out["principal_class"] = "anonymous"
    elif arn:
        svc, acct, res = arn["svc"], arn["acct"], arn["res"]
        out["account_id"] = acct if _ACCOUNT.match(acct) else None
        kind, _, rest = res.partition("/")
        if acct == "cloudfront":  # CloudFront origin access identity: an AWS service principal
            out.update(principal_class="aws_service", service="cloudfront.amazonaws.com",
                       user_name=rest or None)
        elif res == "root":
            out["principal_class"] = "root"
        elif svc == "iam" and kind == "user":
            out.update(principal_class="iam_user", user_name=rest.rsplit("/", 1)[-1])
        elif svc == "iam" and kind == "role":
            out.update(principal_class="assumed_role", role_name=rest.rsplit("/", 1)[-1])
        elif svc == "sts" and kind == "assumed-role":
            role, _, session = rest.partition("/")
            out.update(principal_class="assumed_role", role_name=role, session_name=session or None)
        elif svc == "sts" and kind == "federated-user":
            out.update(principal_class="federated", user_name=rest)
        else:
            out["principal_class"] = _IDENTITY_CLASS.get(identity_type or "", "unknown")
    elif _CANONICAL.match(text):
        out["principal_class"] = "canonical_user"
    elif text.startswith("svc:"):
        out.update(principal_class="aws_service", service=text[4:])
    elif text.lower() in _INTERNAL:
        out["principal_class"] = "aws_internal"
    elif _SERVICE_HOST.match(text):
        out.update(principal_class="aws_service", service=text)
    elif (uid := _UNIQUE_ID.match(text)) is not None:
        out["principal_class"] = "assumed_role" if uid["kind"] == "AROA" else "iam_user"
        out["session_name"] = uid["session"]
    else:
        out["principal_class"] = _IDENTITY_CLASS.get(identity_type or "", "unknown")
        if _ACCOUNT.match(text):
            out["account_id"] = text
    if out["account_id"] is None and hint and out["principal_class"] not in (
            "anonymous", "aws_service", "aws_internal"):
        out["account_id"] = hint
    return out


def accounts_from_log_keys(keys: pl.Series) -> pl.DataFrame:
    """Bucket and account named by access-log object keys in the partitioned-prefix layout."""
    parts = (keys.cast(pl.String).str.replace_all("\\", "/", literal=True)
             .str.extract_groups(_PARTITIONED_KEY))
    return (pl.DataFrame({"m": parts}).unnest("m")
            .select(pl.col("bucket"), pl.col("account").alias("account_id"))
            .drop_nulls())


def resolve_bucket_accounts(
    claims: pl.DataFrame,
    *,
    user: Mapping[str, str] | None = None,
    owners: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One owner account per bucket from (bucket, account_id, source, n) claims, by precedence.

    `owners` (bucket, owner_canonical_id, n) adds the canonical ID the access logs show as owner.
    """
    frames = [claims.select(pl.col("bucket").cast(pl.String), pl.col("account_id").cast(pl.String),
                            pl.col("source").cast(pl.String), pl.col("n").cast(pl.Int64))]
    if user:
        frames.append(pl.DataFrame(
            {"bucket": list(user), "account_id": [str(a) for a in user.values()],
             "source": ["user"] * len(user), "n": [1] * len(user)},
            schema={"bucket": pl.String, "account_id": pl.String, "source": pl.String, "n": pl.Int64}))
    rank = {s: i for i, s in enumerate(BUCKET_ACCOUNT_SOURCES)}
    all_claims = (
        pl.concat(frames).drop_nulls(["bucket", "account_id"])
        .group_by("bucket", "account_id", "source").agg(pl.col("n").sum())
        .with_columns(
            pl.col("source").replace_strict(rank, default=len(rank), return_dtype=pl.Int32)
            .alias("_rank"),
            pl.col("account_id").n_unique().over("bucket", "source").alias("_accounts"))
        # Several recipient accounts mean a cross-account request reached more than one trail.
        .filter(~((pl.col("source") == "cloudtrail_recipient") & (pl.col("_accounts") > 1)))
    )
    chosen = (
        all_claims.sort(["bucket", "_rank", "n", "account_id"], descending=[False, False, True, False])
        .group_by("bucket", maintain_order=True).first()
        .select("bucket", "account_id", "source")
    )
    others = (
        all_claims.join(chosen.select("bucket", pl.col("account_id").alias("_chosen")), on="bucket")
        .filter(pl.col("account_id") != pl.col("_chosen"))
        .group_by("bucket").agg(pl.col("account_id").unique().sort().alias("other_accounts"))
    )
    result = chosen.join(others, on="bucket", how="left").with_columns(
        pl.col("other_accounts").fill_null(pl.lit([], dtype=pl.List(pl.String))))
    if owners is not None and owners.height:
        top_owner = (owners.drop_nulls(["bucket", "owner_canonical_id"])
                     .sort(["bucket", "n", "owner_canonical_id"], descending=[False, True, False])
                     .group_by("bucket", maintain_order=True).first()
                     .select("bucket", "owner_canonical_id"))
        result = result.join(top_owner, on="bucket", how="full", coalesce=True)
    else:
        result = result.with_columns(pl.lit(None, pl.String).alias("owner_canonical_id"))
    return result.select(
        pl.col(c).cast(t) for c, t in BUCKET_ACCOUNT_SCHEMA.items()
    ).sort("bucket")


def classify_principals(
    frame: pl.DataFrame,
    *,
    bucket_accounts: pl.DataFrame | Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """One row per distinct principal: class, account, names, and whether it crossed accounts.

    `frame` has a `principal` column and optionally `identity_type`, `account_id` (CloudTrail's
    userIdentity.accountId), `bucket`, `bucket_owner` (the access log's canonical owner ID) and
    `source` (table the row came from). A principal is cross-account for a bucket when its account
    differs from the bucket owner's, or, for canonical IDs, when it is not the bucket owner's ID
    (a canonical user ID stands for one account). `is_cross_account` is true when that holds for
    any bucket it touched, false when it was never cross-account where that could be told, and
    NULL when no bucket's owner could be compared (anonymous, service and internal principals
    are never compared).
    """
    cols = {"principal": pl.String, "identity_type": pl.String, "account_id": pl.String,
            "bucket": pl.String, "bucket_owner": pl.String, "source": pl.String}
    rows = frame.select(
        (pl.col(c) if c in frame.columns else pl.lit(None)).cast(t).alias(c) for c, t in cols.items()
    ).filter(pl.col("principal").is_not_null()).unique()
    if isinstance(bucket_accounts, Mapping):
        ba = pl.DataFrame({"bucket": list(bucket_accounts),
                           "account_id": [str(v) for v in bucket_accounts.values()]},
                          schema={"bucket": pl.String, "account_id": pl.String}).with_columns(
            pl.lit(None, pl.String).alias("owner_canonical_id"))
    elif bucket_accounts is not None:
        ba = bucket_accounts.select("bucket", "account_id",
                                    pl.col("owner_canonical_id") if "owner_canonical_id"
                                    in bucket_accounts.columns else pl.lit(None, pl.String)
                                    .alias("owner_canonical_id"))
    else:
        ba = pl.DataFrame(schema={"bucket": pl.String, "account_id": pl.String,
                                  "owner_canonical_id": pl.String})
    # A canonical ID that owns a bucket of known account is that account.
    canonical_accounts = {c: a for c, a in ba.drop_nulls(["owner_canonical_id", "account_id"])
                          .select("owner_canonical_id", "account_id").iter_rows()}

    keys = (rows.group_by("principal")
            .agg(pl.col("identity_type").drop_nulls().first(),
                 pl.col("account_id").drop_nulls().first().alias("account_hint"))
            .sort("principal"))
    parsed = []
    for principal, identity_type, hint in keys.iter_rows():
        p = parse_principal(principal, identity_type=identity_type, account_hint=hint)
        if p["principal_class"] == "canonical_user" and p["account_id"] is None:
            p["account_id"] = canonical_accounts.get(principal)
        parsed.append({"principal": principal, **p, "identity_type": identity_type})
    base = pl.DataFrame(parsed, schema={"principal": pl.String, **{c: pl.String for c in _PARSED},
                                        "identity_type": pl.String})

    owner_by_canonical = pl.DataFrame(
        {"bucket_owner": list(canonical_accounts), "_owner_acct_c": list(canonical_accounts.values())},
        schema={"bucket_owner": pl.String, "_owner_acct_c": pl.String})
    comparable = ~pl.col("principal_class").is_in(["anonymous", "aws_service", "aws_internal"])
    per_bucket = (
        rows.select("principal", "bucket", "bucket_owner")
        .join(base.select("principal", "principal_class", pl.col("account_id").alias("_acct")),
              on="principal", how="left")
        .join(ba.select("bucket", pl.col("account_id").alias("_owner_acct_b")), on="bucket",
              how="left")
        .join(owner_by_canonical, on="bucket_owner", how="left")
        .with_columns(pl.coalesce("_owner_acct_b", "_owner_acct_c").alias("_owner_acct"))
        .with_columns(
            pl.when(~comparable).then(None)
            .when((pl.col("principal_class") == "canonical_user") & pl.col("bucket_owner").is_not_null())
            .then(pl.col("principal") != pl.col("bucket_owner"))
            .when(pl.col("_acct").is_not_null() & pl.col("_owner_acct").is_not_null())
            .then(pl.col("_acct") != pl.col("_owner_acct"))
            .otherwise(None)
            .alias("_cross"))
    )
    agg = per_bucket.group_by("principal").agg(
        pl.col("bucket").drop_nulls().unique().sort().alias("buckets"),
        pl.col("bucket").filter(pl.col("_cross").fill_null(False)).drop_nulls().unique().sort()
        .alias("cross_account_buckets"),
        pl.when(pl.col("_cross").any()).then(True)
        .when(pl.col("_cross").is_not_null().any()).then(False)
        .otherwise(None).alias("is_cross_account"),
    )
    seen = rows.group_by("principal").agg(
        pl.col("source").drop_nulls().unique().sort().alias("seen_in"))
    return (base.join(agg, on="principal", how="left").join(seen, on="principal", how="left")
            .select(pl.col(c).cast(t) for c, t in PRINCIPAL_SCHEMA.items()).sort("principal"))
