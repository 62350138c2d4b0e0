"""The week's benign traffic: the actors a responder must tell apart from the attacker.

Planned in two passes around the breach: `Benign.writes` creates objects (so the attacker has
something to steal), `Benign.reads` reads what is left (so nobody reads what the attacker
deleted) and adds the actors that react to the breach (AWS Config, the administrator on Monday).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from . import configs
from .model import (
    ANONYMOUS,
    S3_INTERNAL,
    Actor,
    Client,
    Identity,
    StoredObject,
    oai_identity,
    user_identity,
)
from .scenario import ActorFacts, Scenario, hours, is_business_hour
from .world import DATA_BUCKET, END, NET, REGION, START, UA, VPCE_ID, WEB_BUCKET

__all__ = ["Benign", "days", "moments", "poisson", "seed_objects"]

_DAY = timedelta(days=1)


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson-distributed count with mean `lam`."""
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def moments(rng: random.Random, start: datetime, n: int, span: float = 3600) -> list[datetime]:
    """`n` sorted moments, to the second, in [start, start + span seconds)."""
    return sorted(start + timedelta(seconds=rng.randrange(int(span))) for _ in range(n))


def days(start: datetime = START, end: datetime = END) -> list[datetime]:
    """Midnights of the days touching [start, end)."""
    first = start.replace(hour=0, minute=0, second=0)
    return [first + i * _DAY for i in range((end - first).days + 1) if first + i * _DAY < end]


def _size(rng: random.Random, median: float, sigma: float = 0.6) -> int:
    return max(64, int(rng.lognormvariate(math.log(median), sigma)))


# Objects already in the buckets when the span starts -------------------------------------------

_UPLOADS = (
    ("acme corp", "Q3 report (final) #2.xlsx"),
    ("müller-gmbh", "Rechnung März 2026.pdf"),
    ("northwind", "contract+amendment.pdf"),
    ("northwind", "100% complete.txt"),
    ("contoso", "po_2026-09-30.csv"),
    ("fabrikam", "photos/site visit 1.jpg"),
    ("fabrikam", "photos/site visit 2.jpg"),
    ("tailspin", "signed NDA.pdf"),
)
_HR = ("hr-restricted/payroll/2026-07.xlsx", "hr-restricted/payroll/2026-08.xlsx",
       "hr-restricted/payroll/2026-09.xlsx", "hr-restricted/contracts/Zoë Okafor – offer letter.pdf",
       "hr-restricted/contracts/j.smith-contract.pdf", "hr-restricted/reviews/2026-h1-ratings.csv")
_WEB = (("index.html", 18_342), ("about.html", 9_876), ("pricing.html", 14_220),
        ("contact.html", 7_031), ("404.html", 1_187), ("sitemap.xml", 2_210),
        ("assets/site.css", 48_713), ("assets/app.js", 212_904), ("img/logo.png", 23_455),
        ("img/hero.jpg", 412_330), ("img/team.jpg", 288_019), ("img/product-1.jpg", 156_002))
_PAGES = (("/", "index.html"), ("/about.html", "about.html"), ("/pricing.html", "pricing.html"),
          ("/contact.html", "contact.html"))


def seed_objects(sc: Scenario, rng: random.Random) -> None:
    """Fill the buckets with what they held before the span."""
    data, web = sc.data, sc.web
    counters = {"export": 4100, "invoice": 208_000}
    day = datetime(2026, 9, 1, tzinfo=UTC)
    while day < START:
        weekday = day.weekday() < 5
        if day >= datetime(2026, 9, 14, tzinfo=UTC):
            for t in moments(rng, day + timedelta(hours=7), poisson(rng, 6 if weekday else 1.5),
                             12 * 3600):
                counters["export"] += 1
                data.add(StoredObject(
                    f"exports/{t:%Y/%m/%d}/customer-export-{counters['export']:05d}.csv.gz",
                    _size(rng, 14e6), t))
        for t in moments(rng, day + timedelta(hours=7), poisson(rng, 12 if weekday else 3),
                         12 * 3600):
            counters["invoice"] += 1
            data.add(StoredObject(f"invoices/{t:%Y/%m}/INV-{counters['invoice']:06d}.pdf",
                                  _size(rng, 120e3), t))
        if day.weekday() == 6:
            data.add(StoredObject(f"backups/db/orders-{day:%Y-%m-%d}.sql.gz",
                                  _size(rng, 900e6, 0.3), day + timedelta(hours=3, minutes=4)))
        if day >= datetime(2026, 9, 28, tzinfo=UTC):
            data.add(StoredObject(f"reports/daily-{day - _DAY:%Y-%m-%d}.csv", _size(rng, 450e3),
                                  day + timedelta(hours=6, minutes=rng.randint(20, 40))))
        if day >= datetime(2026, 10, 3, tzinfo=UTC):
            for t in moments(rng, day + timedelta(hours=8), 5, 10 * 3600):
                data.add(StoredObject(f"tmp/ingest/{sc.ids.hex(32)}.json", _size(rng, 9e3), t))
        day += _DAY
    for i, (customer, name) in enumerate(_UPLOADS):
        data.add(StoredObject(f"uploads/{customer}/{name}", _size(rng, 900e3, 1.0),
                              datetime(2026, 9, 3 + 3 * i, 10, 17, tzinfo=UTC)))
    for i, key in enumerate(_HR):
        data.add(StoredObject(key, _size(rng, 300e3), datetime(2026, 9, 2 + i, 15, tzinfo=UTC)))
    for key, size in _WEB:
        web.add(StoredObject(key, size, datetime(2026, 8, 20, 16, 5, tzinfo=UTC)))
    sc.facts["counters"] = counters


# The actors ------------------------------------------------------------------------------------

_APP = Client(UA.ORDERS_API, vpce=VPCE_ID, in_region=True, mbytes_per_s=90, latency_ms=8)
_NIGHTLY = Client(UA.NIGHTLY, vpce=VPCE_ID, in_region=True, mbytes_per_s=120, latency_ms=6)
_REPORTING = Client(UA.REPORTING, tls_version="TLSv1.2", cipher="ECDHE-RSA-AES128-GCM-SHA256",
                    host_style="path", mbytes_per_s=30, latency_ms=45)
_CONSOLE = Client(UA.CONSOLE, mbytes_per_s=20, latency_ms=35)
_CONFIG = Client(UA.AWS_INTERNAL, tls_version="TLSv1.2", cipher="ECDHE-RSA-AES128-GCM-SHA256",
                 in_region=True, latency_ms=5, service="config.amazonaws.com")
_LIFECYCLE = Client(None, tls_version=None, cipher=None, signature=None, auth=None,
                    host_style="none")
_WEBSITE = Client(None, tls_version=None, cipher=None, signature=None, auth=None,
                  host_style="website", mbytes_per_s=6, latency_ms=70)
_CLOUDFRONT = Client(UA.CLOUDFRONT, tls_version="TLSv1.2", cipher="ECDHE-RSA-AES128-GCM-SHA256",
                     host_style="global", mbytes_per_s=60, latency_ms=12)


@dataclass
class _Task:
    start: datetime
    end: datetime
    ip: str
    sessions: list[tuple[datetime, Identity]]


class Benign:
    """All benign actors, sharing one scenario and one random stream."""

    def __init__(self, sc: Scenario, rng: random.Random) -> None:
        self.sc, self.rng, self.req = sc, rng, sc.req
        w = sc.world

        def facts(name: str, kind: str, description: str, why: str) -> ActorFacts:
            f = ActorFacts(name, kind, description, why)
            sc.actors.append(f)
            return f

        self.f_app = facts(
            "orders-api", "application-role",
            "The order service on ECS Fargate (role orders-api-task) in two private subnets, "
            "through the S3 gateway VPC endpoint: writes invoices, exports and scratch files, "
            "reads invoices all day.",
            "Most of the traffic; its sessions rotate every 6 hours and the tasks (and their "
            "addresses) change at the Wednesday deployment.")
        self.f_customers = facts(
            "customer-downloads", "presigned-url",
            "Customers download their exports with presigned URLs issued by orders-api: the "
            "requester is the orders-api session, the address and browser are the customer's.",
            "An application role used from public addresses with browser user agents and "
            "QueryString authentication.")
        self.f_nightly = facts(
            "nightly-export", "bulk-job",
            "The nightly export on a fresh EC2 instance (role nightly-export) reads every export "
            "and invoice of the previous day between 02:00 and 03:00 UTC.",
            "Bulk reads at night by a principal that is idle the rest of the day, overlapping "
            "the exfiltration on Saturday.")
        self.f_reporting = facts(
            "svc-reporting", "on-premises-tool",
            "An on-premises reporting tool using the IAM user svc-reporting's long-term key from "
            "the office range every morning at about 06:15 UTC.",
            "Same principal and access key as the attacker: only the address, the user agent "
            "and the behaviour tell them apart.")
        self.f_alice = facts(
            "alice.admin", "console-user",
            "The cloud administrator, console with MFA from the office on working days.",
            "Reads bucket policies, ACLs and logging settings (like discovery), changes the bucket "
            "policy on Tuesday and re-enables logging and versioning on Monday (config changes).")
        self.f_bob = facts(
            "bob.hr", "console-user",
            "HR, console with MFA from the office on Monday, Wednesday and Friday.",
            "The only principal that reads hr-restricted/, which everyone else is denied.")
        self.f_config = facts(
            "aws-config", "aws-service",
            "AWS Config (service-linked role) records the buckets' configuration every six hours "
            "and minutes after each change.",
            "Reads bucket policies and ACLs around the clock; the access log shows an AWS address "
            "and an aws-internal user agent, CloudTrail shows config.amazonaws.com.")
        self.f_lifecycle = facts(
            "s3-lifecycle", "aws-service",
            "S3 lifecycle expires scratch files under tmp/ a day after they were written.",
            "Deletes objects every night (S3.EXPIRE.OBJECT, requester AmazonS3), seen only in "
            "the access log.")
        self.f_visitors = facts(
            "website-visitors", "anonymous-public",
            "Anonymous browsers reading the public website over plain HTTP (website endpoint).",
            "Anonymous reads with no TLS and no signature, 404s, many addresses (IPv4 and IPv6).")
        self.f_crawler = facts(
            "search-crawler", "crawler",
            "A search engine crawler reading the website a few times a day.",
            "A bot user agent and 404s on robots.txt.")
        self.f_cdn = facts(
            "cloudfront", "cdn",
            "CloudFront fetching images from the website bucket with an origin access identity.",
            "A requester that is not an IAM principal of the account (its ARN contains spaces).")

        deploy = datetime(2026, 10, 7, 10, 12, 41, tzinfo=UTC)
        self.tasks: list[_Task] = []
        # A rolling deployment: the old tasks serve until the new ones have credentials.
        for start, end in ((START - timedelta(hours=31, minutes=13), deploy + timedelta(minutes=2)),
                           (deploy, END + timedelta(hours=2))):
            for subnet in (1, 2):
                ip = f"10.0.{subnet}.{rng.randint(10, 250)}"
                task_id = sc.ids.hex(32)
                sessions: list[tuple[datetime, Identity]] = []
                t = start + timedelta(seconds=rng.randint(5, 40))
                while t < end:
                    sessions.append((t, sc.assume_role(t, w.orders_api, task_id,
                                                       invoked_by="ecs-tasks.amazonaws.com")))
                    t += timedelta(hours=6, seconds=rng.randint(-240, 240))
                self.tasks.append(_Task(start, end, ip, sessions))
        self.report_runs = {d.date(): d + timedelta(hours=6, minutes=12, seconds=rng.randint(0, 400))
                            for d in days()}
        # The service works in bursts (queue pollers wake twice an hour), so its calls cluster.
        self.bursts = {h: sorted(rng.sample(range(0, 3480, 60), 2)) for h in hours()}
        self.customers = ([f"198.51.100.{n}" for n in rng.sample(range(10, 120), 18)]
                          + [f"2001:db8:1{rng.randrange(4096):03x}::{rng.randrange(1, 65535):x}"
                             for _ in range(6)])

    # -- helpers --------------------------------------------------------------------------------

    def app(self, t: datetime) -> Actor:
        """An orders-api task's session at `t`."""
        task = self.rng.choice([k for k in self.tasks if k.sessions[0][0] <= t < k.end])
        identity = [s for start, s in task.sessions if start <= t][-1]
        return Actor(identity, task.ip, _APP)

    def _app_moments(self, hour: datetime, n: int) -> list[datetime]:
        """`n` moments of orders-api work in `hour`, each in one of the hour's two bursts."""
        return sorted(hour + timedelta(seconds=self.rng.choice(self.bursts[hour])
                                       + self.rng.randrange(120)) for _ in range(n))

    def _rate(self, t: datetime, busy: float, weekday: float, weekend: float) -> float:
        if is_business_hour(t):
            return busy
        return weekday if t.weekday() < 5 else weekend

    # -- pass 1: objects come into being --------------------------------------------------------

    def writes(self) -> None:
        """orders-api and the reporting tool write; scratch files are read back at once."""
        sc, rng, req, data = self.sc, self.rng, self.req, self.sc.data
        counters = sc.facts["counters"]
        for h in hours():
            for t in self._app_moments(h, poisson(rng, self._rate(h, 1.0, 0.2, 0.15))):
                counters["invoice"] += 1
                key = f"invoices/{t:%Y/%m}/INV-{counters['invoice']:06d}.pdf"
                call = sc.add(req.put_object(t, self.app(t), DATA_BUCKET, key, _size(rng, 120e3)),
                              self.f_app)
                data.add(StoredObject(key, call.object_size or 0, call.time))
            for t in self._app_moments(h, poisson(rng, self._rate(h, 0.6, 0.1, 0.1))):
                counters["export"] += 1
                key = f"exports/{t:%Y/%m/%d}/customer-export-{counters['export']:05d}.csv.gz"
                call = sc.add(req.put_object(t, self.app(t), DATA_BUCKET, key, _size(rng, 14e6)),
                              self.f_app)
                data.add(StoredObject(key, call.object_size or 0, call.time))
            for t in self._app_moments(h, poisson(rng, self._rate(h, 0.8, 0.1, 0.1))):
                actor = self.app(t)
                key = f"tmp/ingest/{sc.ids.hex(32)}.json"
                call = sc.add(req.put_object(t, actor, DATA_BUCKET, key, _size(rng, 9e3)), self.f_app)
                obj = data.add(StoredObject(key, call.object_size or 0, call.time))
                sc.add(req.get_object(req.after(t, 2, 50), actor, DATA_BUCKET, obj), self.f_app)
        reporting = Actor(user_identity(sc.world.reporting), NET.reporting_server, _REPORTING)
        for day, run in self.report_runs.items():
            t = run + timedelta(minutes=15, seconds=rng.randint(0, 90))
            if t < END:
                key = f"reports/daily-{day - _DAY:%Y-%m-%d}.csv"
                call = sc.add(req.put_object(t, reporting, DATA_BUCKET, key, _size(rng, 450e3)),
                              self.f_reporting)
                data.add(StoredObject(key, call.object_size or 0, call.time))

    # -- pass 3: reads, services, people --------------------------------------------------------

    def reads(self) -> None:
        """Everything that reads or reacts: run after the breach is planned."""
        self._app_reads()
        self._nightly()
        self._reporting_reads()
        self._alice()
        self._bob()
        self._website()
        self._expirations()
        self._config()

    def _app_reads(self) -> None:
        sc, rng, req, data = self.sc, self.rng, self.req, self.sc.data
        for h in hours():
            for t in self._app_moments(h, poisson(rng, self._rate(h, 1.6, 0.2, 0.2))):
                recent = [o for o in data.live("invoices/", t) if o.created > t - 40 * _DAY]
                if recent:
                    sc.add(req.get_object(t, self.app(t), DATA_BUCKET, rng.choice(recent)),
                           self.f_app)
            for t in self._app_moments(h, poisson(rng, self._rate(h, 0.5, 0.05, 0.05))):
                exports = data.live("exports/", t)
                if exports:
                    sc.add(req.head_object(t, self.app(t), DATA_BUCKET, rng.choice(exports[-40:])),
                           self.f_app)
            for t in self._app_moments(h, poisson(rng, self._rate(h, 0.3, 0.05, 0.05))):
                prefix = f"invoices/{t:%Y/%m}/"
                sc.add(req.list_objects(t, self.app(t), DATA_BUCKET, prefix,
                                        returned=len(data.live(prefix, t))), self.f_app)
            for t in moments(rng, h, poisson(rng, self._rate(h, 0.6, 0.15, 0.15))):
                exports = [o for o in data.live("exports/", t) if o.created > t - 14 * _DAY]
                if exports:
                    self._customer_download(t, rng.choice(exports))

    def _customer_download(self, t: datetime, obj: StoredObject) -> None:
        rng, sc = self.rng, self.sc
        signed = t - timedelta(seconds=rng.randint(20, 600))
        signer = self.app(signed).identity
        assert signer.access_key_id is not None
        credential = f"{signer.access_key_id}/{signed:%Y%m%d}/{REGION}/s3/aws4_request"
        stamp = f"{signed:%Y%m%dT%H%M%SZ}"
        query = ("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + quote(credential, safe="")
                 + f"&X-Amz-Date={stamp}&X-Amz-Expires=900&X-Amz-SignedHeaders=host"
                 + f"&X-Amz-Signature={sc.ids.hex(64)}")
        params = {"X-Amz-Date": stamp, "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
                  "X-Amz-SignedHeaders": "host", "X-Amz-Expires": "900",
                  "X-Amz-Credential": credential}
        client = Client(rng.choice(UA.BROWSERS), auth="QueryString", mbytes_per_s=12,
                        latency_ms=60)
        actor = Actor(signer, rng.choice(self.customers), client)
        sc.add(self.req.get_object(t, actor, DATA_BUCKET, obj, query=query, params=params),
               self.f_customers)

    def _nightly(self) -> None:
        sc, rng, req, data = self.sc, self.rng, self.req, self.sc.data
        for day in days():
            start = day + timedelta(hours=1, minutes=55, seconds=rng.randint(0, 240))
            if start + timedelta(hours=1) > END:
                continue
            instance = "i-0" + sc.ids.hex(16)
            identity = sc.assume_role(start, sc.world.nightly, instance,
                                      invoked_by="ec2.amazonaws.com")
            actor = Actor(identity, f"10.0.20.{rng.randint(10, 250)}", _NIGHTLY)
            t = start + timedelta(minutes=5, seconds=rng.randint(0, 30))
            yesterday = (day - _DAY).date()
            export_prefix = f"exports/{day - _DAY:%Y/%m/%d}/"
            invoice_prefix = f"invoices/{day - _DAY:%Y/%m}/"
            exports = data.live(export_prefix, t)
            invoices = [o for o in data.live(invoice_prefix, t) if o.created.date() == yesterday]
            sc.add(req.list_objects(t, actor, DATA_BUCKET, export_prefix, returned=len(exports)),
                   self.f_nightly)
            t = req.after(t, 1, 3)
            sc.add(req.list_objects(t, actor, DATA_BUCKET, invoice_prefix,
                                    returned=len(data.live(invoice_prefix, t))), self.f_nightly)
            for obj in exports + invoices:
                t = req.after(t, 0.2, 0.9)
                if rng.random() < 0.03:
                    # S3 throttles the burst now and then; the SDK retries after a back-off.
                    throttled = req.get_object(t, actor, DATA_BUCKET, obj)
                    sc.add(req.throttled(throttled), self.f_nightly)
                    t = req.after(t, 0.2, 0.6)
                call = sc.add(req.get_object(t, actor, DATA_BUCKET, obj), self.f_nightly)
                # Four download threads: the next request starts before this one ends.
                t += timedelta(milliseconds=(call.total_ms or 0) // 4)

    def _reporting_reads(self) -> None:
        sc, req, data = self.sc, self.req, self.sc.data
        actor = Actor(user_identity(sc.world.reporting), NET.reporting_server, _REPORTING)
        for day, run in self.report_runs.items():
            if run >= END:
                continue
            sc.add(req.list_objects(run, actor, DATA_BUCKET, "reports/",
                                    returned=len(data.live("reports/", run))), self.f_reporting)
            # It asks for yesterday's exports by name, so it fails once they are gone.
            made = data.created_under(f"exports/{day - _DAY:%Y/%m/%d}/")
            t = run
            for obj in made[:3]:
                t = req.after(t, 2, 9)
                sc.add(req.get_object(t, actor, DATA_BUCKET, obj), self.f_reporting)

    def _console(self, t: datetime, user_facts: ActorFacts, user: str) -> tuple[Actor, datetime]:
        """A console sign-in from the office; returns the session's actor and a moment later."""
        sc = self.sc
        u = sc.world.alice if user == "alice" else sc.world.bob
        ip = NET.office[0] if user == "alice" else NET.office[1]
        browser = UA.BROWSERS[0] if user == "alice" else UA.BROWSERS[1]
        sc.console_login(t, u, ip, browser, user_facts)
        identity = user_identity(u, access_key=sc.ids.access_key("ASIA"), console_since=t,
                                 mfa=True)
        return Actor(identity, ip, _CONSOLE), self.req.after(t, 20, 90)

    def _alice(self) -> None:
        sc, rng, req, data = self.sc, self.rng, self.req, self.sc.data
        f = self.f_alice
        for day in days():
            if day.weekday() >= 5:
                continue
            login = day + timedelta(hours=8, minutes=5, seconds=rng.randint(0, 85 * 60))
            if day.date() == END.date():
                self._alice_monday(day)
                continue
            actor, t = self._console(login, f, "alice")
            sc.list_buckets(t, actor, f)
            for sub in ("versioning", "policy", "acl", "logging")[: rng.randint(2, 4)]:
                t = req.after(t, 3, 40)
                sc.add(req.bucket_get(t, actor, DATA_BUCKET, sub), f)
            t = req.after(t, 5, 60)
            sc.add(req.list_objects(t, actor, DATA_BUCKET, "", delimiter="/", returned=8), f)
            t = req.after(t, 5, 60)
            sc.add(req.list_objects(t, actor, DATA_BUCKET, "reports/", delimiter="/",
                                    returned=len(data.live("reports/", t))), f)
            reports = data.readable("reports/", t)
            if reports:
                sc.add(req.get_object(req.after(t, 5, 40), actor, DATA_BUCKET, reports[-1]), f)
            if day.weekday() == 0 or rng.random() < 0.4:
                t = req.after(t, 30, 300)
                sc.add(req.bucket_get(t, actor, WEB_BUCKET, "policy"), f)
            if day.weekday() == 1:  # Tuesday afternoon: the TLS-only policy change
                actor, t = self._console(day + timedelta(hours=14, minutes=21,
                                                         seconds=rng.randint(0, 300)), f, "alice")
                sc.add(req.bucket_get(t, actor, DATA_BUCKET, "policy"), f)
                t = req.after(t, 60, 240)
                sc.add(req.bucket_put(t, actor, DATA_BUCKET, "policy",
                                      configs.policy_tls_only()), f)
                sc.facts.setdefault("benign_changes", []).append(sc.s3_calls[-1])
                sc.add(req.bucket_get(req.after(t, 5, 20), actor, DATA_BUCKET, "policy"), f)

    def _alice_monday(self, day: datetime) -> None:
        """Monday: the ransom note is found; the administrator looks around and remediates."""
        sc, rng, req, data = self.sc, self.rng, self.req, self.sc.data
        f = self.f_alice
        actor, t = self._console(day + timedelta(hours=8, minutes=31, seconds=rng.randint(0, 90)),
                                 f, "alice")
        sc.list_buckets(t, actor, f)
        t = req.after(t, 5, 30)
        sc.add(req.list_objects(t, actor, DATA_BUCKET, "", delimiter="/", returned=7), f)
        for key in sc.facts.get("ransom_note_keys", []):
            t = req.after(t, 10, 40)
            sc.add(req.get_object(t, actor, DATA_BUCKET, data.get(key)), f)
        for obj in sc.facts.get("encrypted_sample", [])[:2]:
            t = req.after(t, 10, 60)
            sc.add(req.get_object(t, actor, DATA_BUCKET, obj), f)
        for sub in ("versioning", "logging", "lifecycle", "policy"):
            t = req.after(t, 10, 90)
            sc.add(req.bucket_get(t, actor, DATA_BUCKET, sub), f)
        t = day + timedelta(hours=9, minutes=41, seconds=rng.randint(0, 40))
        changes = [("logging", configs.logging_enabled()), ("versioning", configs.versioning("Enabled")),
                   ("policy", configs.policy_tls_only()), ("lifecycle", configs.lifecycle_tmp_rule())]
        for sub, body in changes:
            call = sc.add(req.bucket_put(t, actor, DATA_BUCKET, sub, body), f)
            sc.facts.setdefault("benign_changes", []).append(call)
            if sub == "logging":
                gaps = sc.logging_off.get(DATA_BUCKET, [])
                if gaps:  # logging changes take effect after a while
                    gaps[-1] = (gaps[-1][0], t + timedelta(minutes=rng.randint(40, 55)))
            t = req.after(t, 70, 180)
        sc.deactivate_key(req.after(t, 60, 240), actor, sc.world.reporting, f)

    def _bob(self) -> None:
        sc, rng, req, data = self.sc, self.rng, self.req, self.sc.data
        f = self.f_bob
        for day in days():
            if day.weekday() not in (0, 2, 4) or day.date() == END.date():
                continue
            actor, t = self._console(day + timedelta(hours=10, seconds=rng.randint(0, 90 * 60)),
                                     f, "bob")
            hr = data.readable("hr-restricted/", t)
            sc.add(req.list_objects(t, actor, DATA_BUCKET, "hr-restricted/", returned=len(hr)), f)
            for obj in rng.sample(hr, rng.randint(1, 3)):
                t = req.after(t, 8, 120)
                sc.add(req.get_object(t, actor, DATA_BUCKET, obj), f)

    def _website(self) -> None:
        sc, rng, req, web = self.sc, self.rng, self.req, self.sc.web
        error_doc = web.get("404.html")
        crawler = Actor(ANONYMOUS, "198.51.100.250",
                        Client(UA.CRAWLER, tls_version=None, cipher=None, signature=None,
                               auth=None, host_style="website", mbytes_per_s=20, latency_ms=40))
        for h in hours():
            evening = 13 <= h.hour <= 23
            for t in moments(rng, h, poisson(rng, 3.2 if evening else 1.0)):
                if rng.random() < 0.3:
                    ip = f"2001:db8:1{rng.randrange(4096):03x}:{rng.randrange(1, 65535):x}::{rng.randrange(1, 65535):x}"
                else:
                    ip = f"198.51.100.{rng.randint(121, 249)}"
                visitor = Actor(ANONYMOUS, ip, replace(_WEBSITE, user_agent=rng.choice(UA.BROWSERS)))
                if rng.random() < 0.04:
                    sc.add(req.website_get(t, visitor, WEB_BUCKET, "/careers.html", None,
                                           error_doc=error_doc), self.f_visitors)
                    continue
                path, key = rng.choice(_PAGES)
                sc.add(req.website_get(t, visitor, WEB_BUCKET, path, web.get(key)), self.f_visitors)
                referer = f"http://{WEB_BUCKET}{path}"
                returning = rng.random() < 0.35
                for asset in ("assets/site.css", "assets/app.js"):
                    t = req.after(t, 0.1, 0.9)
                    sc.add(req.website_get(t, visitor, WEB_BUCKET, "/" + asset, web.get(asset),
                                           not_modified=returning, referer=referer),
                           self.f_visitors)
                if not returning and rng.random() < 0.3:
                    sc.add(req.website_get(req.after(t, 0.1, 0.5), visitor, WEB_BUCKET,
                                           "/favicon.ico", None, error_doc=error_doc,
                                           referer=referer), self.f_visitors)
            for t in moments(rng, h, poisson(rng, 1.2)):
                cdn = Actor(oai_identity(sc.world.oai), rng.choice(NET.cloudfront), _CLOUDFRONT)
                obj = web.get(rng.choice(("img/logo.png", "img/hero.jpg", "img/team.jpg",
                                          "img/product-1.jpg")))
                sc.add(req.get_object(t, cdn, WEB_BUCKET, obj), self.f_cdn)
            if h.hour % 6 == 3:
                t = h + timedelta(seconds=rng.randrange(3600))
                sc.add(req.website_get(t, crawler, WEB_BUCKET, "/robots.txt", None,
                                       error_doc=error_doc), self.f_crawler)
                t = req.after(t, 1, 5)
                sc.add(req.website_get(t, crawler, WEB_BUCKET, "/sitemap.xml",
                                       web.get("sitemap.xml")), self.f_crawler)
                for path, key in rng.sample(_PAGES, 2):
                    t = req.after(t, 2, 20)
                    sc.add(req.website_get(t, crawler, WEB_BUCKET, path, web.get(key)),
                           self.f_crawler)

    def _expirations(self) -> None:
        """The tmp/ rule: expired a day after creation, at the next midnight, by S3 itself."""
        sc, rng, req = self.sc, self.rng, self.req
        replaced = sc.facts.get("lifecycle_replaced_at", END)
        actor = Actor(S3_INTERNAL, "-", _LIFECYCLE)
        expiring = []
        for obj in sc.data.created_under("tmp/"):
            due = datetime.combine(obj.created.date() + 2 * _DAY, datetime.min.time(), UTC)
            when = due + timedelta(seconds=rng.randint(600, 9000))
            if obj.deleted is None and when < min(replaced, END):
                expiring.append((when, obj))
        for when, obj in sorted(expiring, key=lambda p: (p[0], p[1].key)):
            obj.deleted = when
            sc.add(req.expire(when, actor, DATA_BUCKET, obj), self.f_lifecycle)

    def _config(self) -> None:
        """Periodic and change-triggered configuration reads by AWS Config."""
        sc, rng, req = self.sc, self.rng, self.req
        changes = [c for c in sc.s3_calls if c.management and c.method == "PUT"]
        runs: list[tuple[datetime, list[tuple[str, str]]]] = []
        for day in days():
            for hour in (0, 6, 12, 18):
                t = day + timedelta(hours=hour, minutes=31, seconds=rng.randint(0, 600))
                if t < END:
                    runs.append((t, [(DATA_BUCKET, s) for s in ("acl", "policy", "versioning",
                                                                  "logging")]
                                 + [(WEB_BUCKET, "acl"), (WEB_BUCKET, "policy")]))
        for change in changes:
            t = req.after(change.time, 90, 300)
            if t < END:
                runs.append((t, [(change.bucket, change.query)]))
        for t, reads in sorted(runs, key=lambda r: r[0]):
            identity = sc.assume_role(t, sc.world.config, "AWSConfig-Describe",
                                      invoked_by="config.amazonaws.com")
            actor = Actor(identity, rng.choice(NET.aws_config), _CONFIG)
            for bucket_name, sub in reads:
                t = req.after(t, 1, 4)
                sc.add(req.bucket_get(t, actor, bucket_name, sub), self.f_config)
