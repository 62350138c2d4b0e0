"""Where the bundled sample scenario lives: the checkout's `data/samples`, or a generated copy."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from . import __version__

__all__ = ["bundled_samples", "checkout_root", "samples_cache_dir"]

#: Overrides where an installed package generates its copy of the samples.
CACHE_ENV = "S3FORENSICS_CACHE"


def checkout_root() -> Path | None:
    """The source checkout this package runs from, or None when it is installed from a wheel."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() and (root / "data").is_dir() else None


def samples_cache_dir() -> Path:
    """Where an installed package keeps the samples it generated ($S3FORENSICS_CACHE or ~/.cache)."""
    base = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "s3forensics")
    return Path(base).expanduser() / f"samples-{__version__}"


def bundled_samples(*, generate: bool = False) -> Path | None:
    """The sample breach logs, generated into the cache when asked and not already there.

    A wheel ships the generator, not the 600 files: the default seed writes the checkout's
    `data/samples` byte for byte, so both places hold the same evidence.
    """
    root = checkout_root()
    if root is not None and (root / "data" / "samples" / "answers.json").exists():
        return root / "data" / "samples"
    cached = samples_cache_dir()
    if (cached / "answers.json").exists():
        return cached
    if not generate:
        return None
    from .samples import generate as write_samples

    # Written beside the final name and renamed, so an interrupted run never leaves half a copy
    # that a later run would take for the samples.
    partial = cached.with_name(f"{cached.name}.writing-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    write_samples(partial)
    try:
        partial.rename(cached)
    except OSError:  # another process finished first: theirs is the same bytes
        shutil.rmtree(partial, ignore_errors=True)
    return cached
