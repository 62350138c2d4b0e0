"""The optional parts of an install, and a clear error when one a command needs is absent."""

from __future__ import annotations

from importlib.util import find_spec

from .errors import MissingExtraError

__all__ = ["EXTRAS", "require"]

#: Extra name -> the importable modules it brings (as in pyproject.toml's optional-dependencies).
EXTRAS: dict[str, tuple[str, ...]] = {
    "notebooks": ("altair", "vl_convert", "papermill", "nbconvert", "nbformat", "jupyterlab",
                  "ipykernel"),
    "lake": ("sqlglot",),
    "spark": ("pyspark", "sqlglot"),
}


def require(extra: str, *, needed_for: str) -> None:
    """Raise MissingExtraError naming `extra` when any of its modules cannot be imported."""
    missing = [name for name in EXTRAS[extra] if find_spec(name) is None]
    if missing:
        raise MissingExtraError(extra, needed_for, missing)
