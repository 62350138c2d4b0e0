"""Typed exceptions: one base class, each message names what went wrong and where."""

from __future__ import annotations

from collections.abc import Callable, Sequence


class S3ForensicsError(Exception):
    """Base class for every error s3forensics raises on purpose.

    A message that advises passing a parameter writes it `{name}` and lists it in `mentions`:
    `str()` gives the library's name (`profile`), the CLI renders its flag (`--profile`).
    """

    def __init__(self, message: str = "", *, mentions: Sequence[str] = ()) -> None:
        self.template = message
        self.mentions = tuple(mentions)
        super().__init__(self.render())

    def render(self, name: Callable[[str], str] = str) -> str:
        """The message, each parameter written as `name` writes it (the CLI: its flag)."""
        text = self.template
        for other in self.mentions:
            text = text.replace("{" + other + "}", name(other))
        return text


class InputError(S3ForensicsError):
    """An input file or object cannot be read as the kind of log it claims to be."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


class ParameterError(S3ForensicsError, ValueError):
    """A call was given a value one of its parameters cannot take.

    The message names the parameter as the library knows it (`bucket`, `kind`); the CLI names it
    as the flag a person typed (`--bucket`, `--kind`). Other parameters the problem speaks of are
    written `{name}` in it and listed in `mentions`, so each is named the same way.
    """

    def __init__(self, parameter: str, problem: str, *, mentions: Sequence[str] = ()) -> None:
        self.parameter = parameter
        self.problem = problem
        super().__init__("{" + parameter + "} " + problem, mentions=(parameter, *mentions))


class CaseError(S3ForensicsError):
    """A case folder or database is missing, locked or inconsistent."""


class CaseBusyError(CaseError):
    """Another process holds the case database in a way that excludes this opening."""

    def __init__(self, message: str, *, holder: str) -> None:
        super().__init__(message)
        self.holder = holder


class TimeRangeError(S3ForensicsError):
    """A time window is invalid: naive timestamps, start after end, unparseable text."""


class AcquisitionError(S3ForensicsError):
    """Listing or downloading from S3 failed in a way the user must act on."""


class QueryError(S3ForensicsError):
    """A named query is unknown, malformed, or was given wrong parameters."""


class MissingExtraError(S3ForensicsError):
    """An optional part of the install (an extra such as `notebooks`) is needed but absent."""

    def __init__(self, extra: str, needed_for: str, missing: list[str]) -> None:
        super().__init__(
            f"{needed_for} needs the optional '{extra}' dependencies (missing: {', '.join(missing)}); "
            f"install them with: pip install 's3forensics[{extra}]'")
        self.extra = extra
        self.missing = missing
