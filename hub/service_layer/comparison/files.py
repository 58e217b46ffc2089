"""Which snapshot file a GraphQL ``startComparison`` may name: one inside the comparison directory."""

from __future__ import annotations

from pathlib import Path


def snapshot_file(directory: Path, given: str) -> Path | None:
    """The file ``given`` names under ``directory`` (relative to it, or absolute inside it), or None when it names
    nothing readable there: a missing file, a `..` component, a NUL, a path outside the directory, a symbolic link
    (anywhere along the path) that leads out of it, or a directory. Callers answer every None alike, so a refusal
    does not tell whether something exists outside the directory."""
    if not given or "\x00" in given or ".." in Path(given).parts:
        return None
    try:
        base = directory.resolve(strict=True)
        target = (base / given).resolve(strict=True)  # follows every symbolic link
    except (OSError, RuntimeError, ValueError):  # missing, a link loop, unreadable
        return None
    if not target.is_relative_to(base) or not target.is_file():
        return None
    return target
