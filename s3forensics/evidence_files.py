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
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from typing import Literal

__all__ = [
    "ENCODED_DIR",
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
