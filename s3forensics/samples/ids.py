"""AWS-shaped identifiers (request ids, host ids, event ids, keys) from one seeded random stream."""

from __future__ import annotations

import base64
import random
import string
import uuid
from collections.abc import Callable

__all__ = ["IdMaker"]

_HEX_UPPER = "0123456789ABCDEF"
_B32 = string.ascii_uppercase + "234567"  # the alphabet of access key ids and unique ids
_ALNUM = string.ascii_letters + string.digits


class IdMaker:
    """Make identifiers shaped like AWS's, deterministic for a seed and never repeated."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._issued: set[str] = set()

    def _fresh(self, make: Callable[[], str]) -> str:
        while True:
            value = make()
            if value not in self._issued:
                self._issued.add(value)
                return value

    def _chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choices(alphabet, k=n))

    def s3_request_id(self) -> str:
        """An S3 request id: 16 upper-case hex characters."""
        return self._fresh(lambda: self._chars(_HEX_UPPER, 16))

    def host_id(self) -> str:
        """An S3 extended request id (x-amz-id-2): base64 of 56 bytes, 76 characters."""
        return self._fresh(lambda: base64.b64encode(self.rng.randbytes(56)).decode())

    def uuid(self) -> str:
        """A version-4 UUID string (CloudTrail eventID, STS request ids)."""
        return self._fresh(lambda: str(uuid.UUID(int=self.rng.getrandbits(128), version=4)))

    def access_key(self, prefix: str) -> str:
        """An access key id: AKIA (long-term) or ASIA (temporary) and 16 characters."""
        return self._fresh(lambda: prefix + self._chars(_B32, 16))

    def unique_id(self, prefix: str) -> str:
        """An IAM unique id: AIDA (user) or AROA (role) and 17 characters."""
        return self._fresh(lambda: prefix + self._chars(_B32, 17))

    def canonical_id(self) -> str:
        """An S3 canonical user id: 64 lower-case hex characters."""
        return self._fresh(lambda: self.rng.randbytes(32).hex())

    def sal_suffix(self) -> str:
        """The meaningless unique string ending an access log object key."""
        return self._fresh(lambda: self._chars(_HEX_UPPER, 16))

    def trail_suffix(self) -> str:
        """The meaningless unique string ending a CloudTrail log file name."""
        return self._fresh(lambda: self._chars(_ALNUM, 16))

    def version_id(self) -> str:
        """An S3 object version id: 32 URL-safe characters."""
        return self._fresh(lambda: self._chars(_ALNUM + "._", 32))

    def hex(self, n: int) -> str:
        """`n` lower-case hex characters (task ids, instance ids)."""
        return self._fresh(lambda: self.rng.randbytes((n + 1) // 2).hex()[:n])

    def upper(self, n: int) -> str:
        """`n` upper-case letters and digits (CloudFront ids)."""
        return self._fresh(lambda: self._chars(string.ascii_uppercase + string.digits, n))
