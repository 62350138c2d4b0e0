"""The planted breach: a leaked long-term access key used to steal, expose and ransom data.

Each phase is a method; every call it makes carries a `breach:<phase>` tag that the answer key
reads, so the key lists exactly what is in the logs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from . import configs
from .model import Actor, Client, S3Call, StoredObject, foreign_identity, user_identity
from .scenario import Scenario
from .world import DATA_BUCKET, NET, TRAIL_ARN, UA

__all__ = ["PHASES", "Breach"]

#: Phase name -> (MITRE ATT&CK technique ids, one-line summary).
PHASES: dict[str, tuple[tuple[str, ...], str]] = {
    "initial-access": (("T1078.004",),
                       ("The leaked long-term key of svc-reporting is used from a new address "
                       "with an aws-cli on Kali Linux.")),
    "discovery": (("T1087.004", "T1580", "T1619"),
                  ("Who am I, which buckets, what does the bucket policy allow, is it logged, "
                  "what is in it.")),
    "probing": (("T1530",),
                "Attempts on hr-restricted/ end in AccessDenied (the bucket policy denies it)."),
    "exfiltration": (("T1530", "T1567"),
                     "rclone downloads every export of October and every customer upload."),
    "exposure": (("T1098", "T1537"),
                 ("The bucket policy gains a statement granting the attacker's own account read "
                 "access, which then downloads the database backups through it.")),
    "defence-evasion": (("T1562.008", "T1490"),
                        ("An attempt to stop the organization trail (denied), versioning "
                        "suspended, a lifecycle rule purging earlier versions, access logging "
                        "switched off.")),
    "destruction": (("T1486", "T1485"),
                    ("Invoices re-encrypted in place with the attacker's key (SSE-C); stolen "
                    "exports and uploads deleted in batches; a ransom note uploaded.")),
}

RECON = datetime(2026, 10, 8, 14, 7, tzinfo=UTC)  # Thursday afternoon
EXFIL = datetime(2026, 10, 10, 1, 12, tzinfo=UTC)  # Saturday night
EXPOSE = datetime(2026, 10, 10, 2, 14, tzinfo=UTC)
FOREIGN_READS = datetime(2026, 10, 10, 2, 31, tzinfo=UTC)
EVADE = datetime(2026, 10, 10, 3, 5, tzinfo=UTC)
DESTROY = datetime(2026, 10, 10, 3, 12, tzinfo=UTC)
RANSOM_NOTE = "README-RECOVER-YOUR-FILES.txt"
#: Keys the attacker guesses under hr-restricted/ (they do not exist; the deny comes first).
_GUESSES = ("hr-restricted/salaries.csv", "hr-restricted/payroll/2026-10.xlsx",
            "hr-restricted/passwords.txt", "hr-restricted/employees.csv",
            "hr-restricted/payroll/2026-06.xlsx", "hr-restricted/contracts/ceo-contract.pdf",
            "hr-restricted/reviews/2025-h2-ratings.csv", "hr-restricted/benefits/401k.xlsx")


def _cli(command: str) -> Client:
    return Client(UA.ATTACKER_CLI.format(command=command), mbytes_per_s=9, latency_ms=95)


@dataclass
class Breach:
    """The attacker's actions, planned into a scenario."""

    sc: Scenario
    rng: random.Random

    def __post_init__(self) -> None:
        self.key_identity = user_identity(self.sc.world.reporting)  # the leaked AKIA key
        self.stolen_keys: list[str] = []

    def _at(self, base: datetime) -> datetime:
        return base + timedelta(seconds=self.rng.randint(0, 50))

    def _actor(self, ip: str, client: Client) -> Actor:
        return Actor(self.key_identity, ip, client)

    def _add(self, call: S3Call, phase: str) -> S3Call:
        call.tag = f"breach:{phase}"
        return self.sc.add(call)

    def plan(self) -> None:
        """Plan every phase, in order."""
        self.recon()
        self.exfiltrate()
        self.expose()
        self.evade()
        self.destroy()

    def recon(self) -> None:
        """Thursday: first use of the key, discovery, probing, a first taste of the data."""
        sc, req, data = self.sc, self.sc.req, self.sc.data
        ip = NET.attacker_recon
        t = self._at(RECON)
        sc.caller_identity(t, self._actor(ip, _cli("sts.get-caller-identity")),
                           tag="breach:initial-access")
        t = req.after(t, 20, 60)
        sc.list_buckets(t, self._actor(ip, _cli("s3.ls")), tag="breach:discovery")
        t = req.after(t, 15, 40)
        self._add(req.list_objects(t, self._actor(ip, _cli("s3.ls")), DATA_BUCKET, "",
                                   delimiter="/", returned=7), "discovery")
        for sub in ("policy", "acl", "logging", "versioning"):
            t = req.after(t, 10, 35)
            actor = self._actor(ip, _cli(f"s3api.get-bucket-{sub}"))
            self._add(req.bucket_get(t, actor, DATA_BUCKET, sub), "discovery")
        for prefix in ("exports/", "uploads/", "backups/", "invoices/2026/10/"):
            t = req.after(t, 20, 70)
            self._add(req.list_objects(t, self._actor(ip, _cli("s3.ls")), DATA_BUCKET, prefix,
                                       returned=min(1000, len(data.live(prefix, t)))), "discovery")
        for prefix in ("hr-restricted/", "hr-restricted/payroll/"):
            t = req.after(t, 20, 60)
            self._add(req.list_objects(t, self._actor(ip, _cli("s3.ls")), DATA_BUCKET, prefix,
                                       returned=0, denied=True), "probing")
        real = [o.key for o in data.live("hr-restricted/", t)]
        for key in [*real[-3:], *_GUESSES]:
            t = req.after(t, 6, 30)
            obj = StoredObject(key, 0, t) if key in _GUESSES else data.get(key)
            self._add(req.get_object(t, self._actor(ip, _cli("s3.cp")), DATA_BUCKET, obj,
                                     denied=True), "probing")
        for obj in sorted(data.readable("exports/2026/10/", t), key=lambda o: o.size)[:2]:
            t = req.after(t, 20, 60)
            self._add(req.get_object(t, self._actor(ip, _cli("s3.cp")), DATA_BUCKET, obj),
                      "exfiltration")

    def exfiltrate(self) -> None:
        """Saturday 01:12: rclone copies October's exports and all uploads, four at a time."""
        req, data = self.sc.req, self.sc.data
        ip = NET.attacker_exfil
        actor = self._actor(ip, Client(UA.ATTACKER_RCLONE, mbytes_per_s=28, latency_ms=90))
        t = self._at(EXFIL)
        targets: list[StoredObject] = []
        for prefix in ("exports/2026/10/", "uploads/"):
            found = data.readable(prefix, t)
            self._add(req.list_objects(t, actor, DATA_BUCKET, prefix, returned=len(found)),
                      "exfiltration")
            targets += found
            t = req.after(t, 1, 3)
        lanes = [t + timedelta(seconds=i) for i in range(4)]
        for obj in targets:
            lane = min(range(4), key=lambda i: lanes[i])
            start = req.after(lanes[lane], 0.1, 0.6)
            call = self._add(req.get_object(start, actor, DATA_BUCKET, obj), "exfiltration")
            lanes[lane] = start + timedelta(milliseconds=call.total_ms or 0)
        self.stolen_keys = [o.key for o in targets]

    def expose(self) -> None:
        """Saturday 02:14: a policy statement for the attacker's account, then reads through it."""
        sc, req, data = self.sc, self.sc.req, self.sc.data
        ip = NET.attacker_exfil
        t = self._at(EXPOSE)
        self._add(req.bucket_get(t, self._actor(ip, _cli("s3api.get-bucket-policy")),
                                 DATA_BUCKET, "policy"), "exposure")
        t = req.after(t, 40, 120)
        self._add(req.bucket_put(t, self._actor(ip, _cli("s3api.put-bucket-policy")),
                                 DATA_BUCKET, "policy", configs.policy_backdoor()), "exposure")
        foreign_ip = NET.attacker_foreign
        foreign = foreign_identity(sc.world.foreign)
        t = self._at(FOREIGN_READS)
        backups = data.readable("backups/", t)
        self._add(req.list_objects(t, Actor(foreign, foreign_ip, _cli("s3.ls")),
                                   DATA_BUCKET, "backups/", returned=len(backups)),
                  "exposure-read")
        for obj in backups[-4:]:
            t = req.after(t, 3, 12)
            actor = Actor(foreign, foreign_ip, Client(
                UA.ATTACKER_CLI.format(command="s3api.get-object"), mbytes_per_s=95,
                latency_ms=80))
            call = self._add(req.get_object(t, actor, DATA_BUCKET, obj), "exposure-read")
            t += timedelta(milliseconds=call.total_ms or 0)

    def evade(self) -> None:
        """Saturday 03:05: trail stop denied, versioning suspended, purge rule, access logging off."""
        sc, req = self.sc, self.sc.req
        ip = NET.attacker_exfil
        t = self._at(EVADE) - timedelta(minutes=2)
        sc.stop_logging(t, self._actor(ip, _cli("cloudtrail.stop-logging")), TRAIL_ARN,
                        tag="breach:defence-evasion")
        t = self._at(EVADE)
        steps = (("versioning", configs.versioning("Suspended")),
                 ("lifecycle", configs.lifecycle_attacker()),
                 ("logging", configs.LOGGING_DISABLED))
        for sub, body in steps:
            actor = self._actor(ip, _cli(f"s3api.put-bucket-{sub}"))
            call = self._add(req.bucket_put(t, actor, DATA_BUCKET, sub, body), "defence-evasion")
            if sub == "lifecycle":
                sc.facts["lifecycle_replaced_at"] = call.time
            if sub == "logging":
                # S3 keeps logging for a while after the change (up to about an hour).
                off = call.time + timedelta(minutes=self.rng.randint(40, 50))
                sc.logging_off.setdefault(DATA_BUCKET, []).append((off, off + timedelta(days=30)))
            t = req.after(t, 25, 80)

    def destroy(self) -> None:
        """Saturday 03:12: SSE-C re-encryption in place, batch deletes, a ransom note."""
        sc, req, data = self.sc, self.sc.req, self.sc.data
        actor = self._actor(NET.attacker_exfil, Client(UA.ATTACKER_BOTO3, mbytes_per_s=30,
                                                       latency_ms=90))
        t = self._at(DESTROY)
        encrypted = data.readable("invoices/2026/10/", t)
        for obj in encrypted:
            call = self._add(req.copy_in_place_ssec(t, actor, DATA_BUCKET, obj), "destruction")
            obj.encrypted = call.time
            t = req.after(t + timedelta(milliseconds=call.total_ms or 0), 0.05, 0.4)
        sc.facts["encrypted_sample"] = encrypted[-3:]
        t = req.after(t, 30, 90)
        for prefix in ("exports/2026/10/", "uploads/"):
            doomed = [o for o in data.live(prefix, t) if o.key in self.stolen_keys]
            for i in range(0, len(doomed), 1000):
                batch = doomed[i:i + 1000]
                call = self._add(req.delete_objects(t, actor, DATA_BUCKET, batch), "destruction")
                for obj in batch:
                    obj.deleted = call.time
                t = req.after(t, 2, 8)
        t = req.after(t, 20, 60)
        call = self._add(req.put_object(t, actor, DATA_BUCKET, RANSOM_NOTE, 1_734), "destruction")
        data.add(StoredObject(RANSOM_NOTE, 1_734, call.time))
        sc.facts["ransom_note_keys"] = [RANSOM_NOTE]
