"""The secret key the approval forms' verification codes are computed with: a file outside the database, created on
first use (32 random bytes, readable by the hub's user only). Whoever can read the database cannot forge a form."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

KEY_BYTES = 32


def load_or_create(path: Path) -> bytes:
    """The key in ``path`` (hex), created there when missing. Two processes starting together agree: the file is
    created exclusively and a loser reads the winner's key."""
    path = Path(path)
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    with os.fdopen(fd, "w") as f:
        f.write(key.hex() + "\n")
    return key


def _read(path: Path) -> bytes:
    text = path.read_text(encoding="ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"form key file {path} does not hold a hex key") from None
    if len(key) < 16:
        raise ValueError(f"form key file {path} holds a key shorter than 16 bytes")
    return key
