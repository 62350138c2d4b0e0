"""Where the bundled sample scenario lives."""

from __future__ import annotations

from pathlib import Path

__all__ = ["bundled_samples"]


def bundled_samples() -> Path | None:
    """The repository's `data/samples` folder, or None when the package is installed without it."""
    candidate = Path(__file__).resolve().parent.parent / "data" / "samples"
    return candidate if (candidate / "answers.json").exists() else None
