"""Where evidence copies live in a case: names the file system can hold, temporary files apart.

A copy goes under the object's own name (`evidence/<bucket>/<key>`, or
`evidence/local/<folder>/<path>` for local files) when the file system can hold that name. Names
are written by whoever controls the bucket or the folder, so a name it cannot hold is stored under
a safe encoded name instead: a component longer than the file system allows, bytes that are not
UTF-8, an empty, `.` or `..` component (absolute paths, doubled slashes), a backslash, NUL or
another control character, or a name that another object already uses as a folder (`a/b` beside
`a/b/c`). The encoded name is `evidence/@encoded/<hh>/<SHA-256 of the object's identity>`: the same
object gets the same name on every run, no two objects share one (the identity includes the
bytes' SHA-256), and no bucket name contains `@`. `case_path` in the evidence table and the
manifest says where the copy is; `stored_as` says which rule chose it. Nothing is skipped.

Copies are first written to a uniquely named file in `<case>/tmp/` (inside the case, so on the
same file system) and then linked to their final name, which fails rather than replace anything
there: a temporary name never shares a namespace with evidence names, and no copy overwrites
another.

Since issue 15, `ingest` keeps the objects it copies in packs instead: one uncompressed,
append-only tar file per ingest, `evidence/@packs/<UTC time>-<random>.tar`, whose members are
the objects' exact bytes under the names a copy would have had (relative to `evidence/`, chosen
by the same rules), so `tar -xf PACK -C DIR` gives the same tree with any standard tool. Creating
one file per object cost more than parsing it. A packed object's `case_path` is
`evidence/@packs/<pack>.tar/<member>`: it ends with the object's own name, and `read_evidence`
and `locate_evidence` read either form. Cases made before keep their one-file copies.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import shutil
import tarfile
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, NamedTuple

__all__ = [
    "ENCODED_DIR",
    "PACKS_DIR",
    "EvidenceSpan",
    "Pack",
    "locate_evidence",
    "read_evidence",
    "sha256_span",
    "TMP_DIR",
    "StoredAs",
    "display_name",
    "encoded_path",
    "file_destinations",
    "object_destinations",
    "escape_name",
    "holdable",
    "is_name_error",
    "new_temp_file",
    "place",
    "remove_stale_temp_files",
    "sha256_file",
    "store_copy",
]

#: Folder under evidence/ holding copies whose own names the file system cannot hold.
ENCODED_DIR = "@encoded"
#: Folder under evidence/ holding the packs ingest writes ('@' is in no bucket name).
PACKS_DIR = "@packs"
#: Folder of the case holding copies being written (never evidence, never read as such).
TMP_DIR = "tmp"
#: How a copy's case path was chosen: its own name; a sibling name because its own holds other
#: bytes; an encoded name; or another object's copy of the same bytes.
StoredAs = Literal["name", "renamed", "encoded", "identical"]

# Linux file systems take 255 bytes per component and 4096 per path; the name is refused below
# these, so that a copy never depends on what one file system happens to accept.
NAME_MAX = 255
PATH_MAX = 4000
_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")
_SUFFIX = re.compile(r"(\.[a-z0-9]{1,8}){1,2}$")
# Errors that mean "this name cannot be held here", as opposed to a full disk or a permission.
_NAME_ERRORS = {errno.ENAMETOOLONG, errno.ENOTDIR, errno.EISDIR, errno.EILSEQ, errno.EINVAL,
                errno.EEXIST}


def holdable(parts: Sequence[str]) -> bool:
    """True when every component can be a file or folder name on any usual file system."""
    for part in parts:
        if part in ("", ".", "..") or "/" in part or _CONTROL.search(part):
            return False
        try:
            encoded = part.encode("utf-8")  # strict: a name with undecodable bytes is refused
        except UnicodeEncodeError:
            return False
        if len(encoded) > NAME_MAX:
            return False
    return True


def encoded_path(evidence_root: str, identity: bytes, name: str) -> str:
    """The encoded path of an object: a hash of its identity, keeping a short plain extension."""
    digest = hashlib.sha256(identity).hexdigest()
    last = name.rsplit("/", 1)[-1]
    suffix = m.group(0) if (m := _SUFFIX.search(last)) and holdable([last]) else ""
    return os.path.join(evidence_root, ENCODED_DIR, digest[:2], digest + suffix)


Destinations = tuple[list[tuple[str | None, StoredAs]], str]


def object_destinations(
    evidence_root: str, sha256: str, *, bucket: str, key: str, version_id: str | None
) -> Destinations:
    """Names an S3 object's copy may take, in order, and its encoded name (see `store_copy`).

    Its own name `<bucket>/<key>` (None when the file system cannot hold it), then
    `<bucket>@<sha>/<key>` for when the own name already holds other bytes ('@' is in no bucket
    name).
    """
    parts = [bucket, *key.split("/")]
    own = os.path.join(evidence_root, *parts) if holdable(parts) else None
    renamed = os.path.join(evidence_root, f"{bucket}@{sha256[:16]}", *parts[1:])
    identity = [b"s3", bucket.encode(), key.encode("utf-8", "surrogateescape"),
                (version_id or "").encode(), sha256.encode()]
    return [(own, "name"), (renamed, "renamed")], encoded_path(
        evidence_root, b"\0".join(identity), key)


def file_destinations(evidence_root: str, sha256: str, *, path: str, root: str) -> Destinations:
    """Names a local file's copy may take, in order, and its encoded name (see `store_copy`).

    Its own name `local/<folder ingested>/<path below it>`, then `local/<sha>/<file name>`.
    """
    rel = path[len(root) + 1:] if path.startswith(root + os.sep) else os.path.basename(path)
    parts = ["local", os.path.basename(root) or "root", *rel.split(os.sep)]
    own = os.path.join(evidence_root, *parts) if holdable(parts) else None
    renamed = os.path.join(evidence_root, "local", sha256[:16], parts[-1])
    identity = [b"local", os.fsencode(path), sha256.encode()]
    return [(own, "name"), (renamed, "renamed")], encoded_path(
        evidence_root, b"\0".join(identity), rel)


def escape_name(name: str) -> tuple[str, bool]:
    """A name as text: unchanged when it is UTF-8, else with invalid bytes and '%' as %XX.

    Python hands over undecodable file-name bytes as lone surrogates, which no database or JSON
    text can hold. The escaped form is exact: `urllib.parse.unquote_to_bytes` gives the bytes back.
    """
    try:
        name.encode("utf-8")
        return name, False
    except UnicodeEncodeError:
        pass
    raw = os.fsencode(name)
    out: list[str] = []
    text = raw.decode("utf-8", "surrogateescape")
    for char in text:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte
            out.append(f"%{code - 0xDC00:02X}")
        elif char == "%":
            out.append("%25")
        else:
            out.append(char)
    return "".join(out), True


def display_name(name: str) -> str:
    """A name safe to print in a message (escaped the same way when it is not UTF-8)."""
    return escape_name(name)[0]


def new_temp_file(case_root: str | os.PathLike[str]) -> tuple[int, str]:
    """A new, uniquely named file in `<case>/tmp/`, open for writing: (descriptor, path)."""
    folder = os.path.join(case_root, TMP_DIR)
    os.makedirs(folder, exist_ok=True)
    return tempfile.mkstemp(prefix="copy-", suffix=".tmp", dir=folder)


def remove_stale_temp_files(case_root: str | os.PathLike[str]) -> None:
    """Delete what an interrupted run left in `<case>/tmp/` (only a writer that holds the case)."""
    shutil.rmtree(os.path.join(case_root, TMP_DIR), ignore_errors=True)


def place(tmp: str, dest: str) -> bool:
    """Give the temporary file `tmp` the name `dest`, never replacing what is there.

    Returns False when something already holds `dest` (the caller decides what that means).
    Raises OSError with a name error (`is_name_error`) when the file system cannot hold `dest`.
    """
    try:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        # A file holds the name of one of the folders: another object's key is a prefix of this one.
        raise NotADirectoryError(errno.ENOTDIR, "a file holds a folder name of this path",
                                 dest) from exc
    try:
        os.link(tmp, dest)  # fails if anything holds the name: never overwrites
    except FileExistsError:
        if os.path.isdir(dest) and not os.path.islink(dest):
            raise IsADirectoryError(errno.EISDIR, "a folder holds this name", dest) from None
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV,
                             errno.EMLINK, errno.ENOSYS):
            raise
        # No hard links on this file system: reserve the name exclusively, then rename over it.
        try:
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        os.close(fd)
        os.replace(tmp, dest)
        return True
    os.unlink(tmp)
    return True


def is_name_error(exc: OSError) -> bool:
    """True when an OSError says the file system cannot hold a name (not a full disk, say)."""
    return exc.errno in _NAME_ERRORS


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def store_copy(
    tmp: str, sha256: str, candidates: Sequence[tuple[str | None, StoredAs]], encoded: str
) -> tuple[str, StoredAs, bool]:
    """Name the temporary copy `tmp` (SHA-256 `sha256`): (final path, how chosen, made now).

    The first candidate that is free takes it; one that already holds these bytes (a copy by an
    interrupted run) is used as it is and `tmp` is deleted; one that holds other bytes is passed
    over. A candidate of None (a name the file system cannot hold), a name error, or no
    candidate left sends the copy to `encoded`. Other errors (a full disk) are raised, `tmp`
    removed.
    """
    try:
        for dest, how in candidates:
            if dest is None or len(os.fsencode(dest)) > PATH_MAX:
                break
            try:
                placed = place(tmp, dest)
            except OSError as exc:
                if not is_name_error(exc):
                    raise
                break  # a sibling name would fail alike: straight to the encoded one
            if placed:
                return dest, how, True
            if os.path.isfile(dest) and sha256_file(dest) == sha256:
                os.unlink(tmp)
                return dest, how, False
        if place(tmp, encoded):
            return encoded, "encoded", True
        if os.path.isfile(encoded) and sha256_file(encoded) == sha256:
            os.unlink(tmp)
            return encoded, "encoded", False
        raise FileExistsError(
            errno.EEXIST, "the encoded name holds other bytes (was that copy changed?)", encoded
        )
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


# -- packs: many objects' exact bytes in one tar file -----------------------------------------------

_BLOCK = 512


class Pack:
    """One append-only tar file of evidence objects, written by one ingest (not thread-safe).

    Each member is a PAX header and the object's exact bytes; `close` writes the end-of-archive
    blocks. `sync` makes what was appended durable: ingest calls it before the rows pointing at
    the members commit, so a committed row never points at bytes a crash could lose.
    """

    def __init__(self, evidence_root: str | os.PathLike[str]) -> None:
        self.evidence_root = os.fspath(evidence_root)
        self.path = ""
        self._fd = -1
        self._offset = 0
        #: member names used, and the folders they imply (a member may not be both)
        self._files: set[str] = set()
        self._folders: set[str] = set()
        self._lock = threading.Lock()  # sync and close may come from another thread

    def _open(self) -> None:
        folder = os.path.join(self.evidence_root, PACKS_DIR)
        os.makedirs(folder, exist_ok=True)
        while True:
            name = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}.tar"
            path = os.path.join(folder, name)
            try:
                self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
            except FileExistsError:
                continue
            self.path = path
            return

    def member_name(self, candidates: Sequence[tuple[str | None, StoredAs]],
                    encoded: str) -> tuple[str, StoredAs]:
        """The first candidate name free in this pack (relative to evidence/), else the encoded one.

        A name is free when no member has it and it is neither a folder of another member nor
        has a member as one of its folders, so that extracting the pack gives every member.
        """
        root = self.evidence_root + os.sep
        for dest, how in candidates:
            if dest is None or len(os.fsencode(dest)) > PATH_MAX or not dest.startswith(root):
                break
            member = dest[len(root):].replace(os.sep, "/")
            if self._free(member):
                return member, how
        return encoded[len(root):].replace(os.sep, "/"), "encoded"

    def _free(self, member: str) -> bool:
        if member in self._files or member in self._folders:
            return False
        parts = member.split("/")
        return not any("/".join(parts[:i]) in self._files for i in range(1, len(parts)))

    def append(self, member: str, data: bytes) -> str:
        """Append `data` as `member`; return its case path relative to the case folder's parent."""
        with self._lock:
            if self._fd < 0:
                self._open()
            info = tarfile.TarInfo(member)
            info.size = len(data)
            info.mtime = 0  # the pack records bytes, not times (those are in the evidence table)
            info.mode = 0o444
            header = info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="strict")
            pad = b"\0" * (-len(data) % _BLOCK)
            os.writev(self._fd, [header, data, pad]) if data else os.write(self._fd, header)
            self._offset += len(header) + len(data) + len(pad)
            self._files.add(member)
            parts = member.split("/")
            self._folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
            return os.path.join(self.path, *parts)

    def sync(self) -> None:
        """Flush what was appended to the disk."""
        with self._lock:
            if self._fd >= 0:
                os.fsync(self._fd)

    def close(self) -> None:
        """Write the end-of-archive blocks, flush and close."""
        with self._lock:
            if self._fd >= 0:
                os.write(self._fd, b"\0" * (2 * _BLOCK))
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = -1


class EvidenceSpan(NamedTuple):
    """Where an evidence object's bytes are: a file of the case, and a byte range of it."""

    file: str
    offset: int
    size: int | None  # None: the whole file


def pack_parts(case_path: str) -> tuple[str, str] | None:
    """(pack's case path, member name) when `case_path` names a member of a pack, else None."""
    prefix = f"evidence/{PACKS_DIR}/"
    if not case_path.startswith(prefix):
        return None
    pack, sep, member = case_path[len(prefix):].partition("/")
    if not sep or not pack.endswith(".tar") or not member:
        return None
    return prefix + pack, member


@dataclass
class _Index:
    stamp: tuple[int, int, int]
    members: dict[str, tuple[int, int]]


_INDEXES: dict[str, _Index] = {}
_INDEX_LOCK = threading.Lock()


def _pack_index(path: str) -> dict[str, tuple[int, int]]:
    """Member name -> (offset of its bytes, size), read from the pack's headers (cached)."""
    st = os.stat(path)
    stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
    with _INDEX_LOCK:
        hit = _INDEXES.get(path)
        if hit is not None and hit.stamp == stamp:
            return hit.members
    members: dict[str, tuple[int, int]] = {}
    # A pack an interrupted ingest left has no end blocks: read the members it has.
    with tarfile.open(path, "r:", encoding="utf-8", errors="strict") as tar:
        try:
            for info in tar:
                members.setdefault(info.name, (info.offset_data, info.size))
        except tarfile.ReadError:
            pass
    with _INDEX_LOCK:
        _INDEXES[path] = _Index(stamp, members)
    return members


def locate_evidence(case_root: str | os.PathLike[str], case_path: str) -> EvidenceSpan:
    """The file and byte range holding an evidence object; OSError (ENOENT) when absent."""
    root = os.fspath(case_root)
    parts = pack_parts(case_path)
    if parts is None:
        path = os.path.join(root, *case_path.split("/"))
        if not os.path.isfile(path):
            raise FileNotFoundError(errno.ENOENT, "no such evidence file", case_path)
        return EvidenceSpan(path, 0, None)
    pack, member = parts
    path = os.path.join(root, *pack.split("/"))
    if not os.path.isfile(path):
        raise FileNotFoundError(errno.ENOENT, "no such evidence pack", pack)
    try:
        hit = _pack_index(path).get(member)
    except tarfile.TarError as exc:
        raise OSError(errno.EIO, f"not a readable tar file ({exc})", pack) from exc
    if hit is None:
        raise FileNotFoundError(errno.ENOENT, f"no member {member} in the pack", pack)
    return EvidenceSpan(path, hit[0], hit[1])


def read_evidence(case_root: str | os.PathLike[str], case_path: str) -> bytes:
    """The exact bytes of an evidence object, a file of its own or a member of a pack."""
    span = locate_evidence(case_root, case_path)
    with open(span.file, "rb") as fh:
        if span.size is None:
            return fh.read()
        fh.seek(span.offset)
        data = fh.read(span.size)
    if len(data) != span.size:
        raise OSError(errno.EIO, "the pack ends inside this member (truncated)", case_path)
    return data


def sha256_span(span: EvidenceSpan) -> str:
    """Hex SHA-256 of the bytes an EvidenceSpan names."""
    if span.size is None:
        return sha256_file(span.file)
    digest = hashlib.sha256()
    left = span.size
    with open(span.file, "rb") as fh:
        fh.seek(span.offset)
        while left:
            chunk = fh.read(min(left, 1 << 20))
            if not chunk:
                break
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()
