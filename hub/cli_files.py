"""Files the `hub` commands write: refused before the command reads anything, not after (a report's or a pack's
person reads are written to the access log before the file is; a file that could not be written must not leave
reads behind that nobody received)."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def check_out_file(out: Path, option: str = "--out") -> None:
    """Raise ValueError, worded for the operator, when ``out`` cannot be written as a file."""
    if out.is_dir():
        raise ValueError(f"{option} {out}: is a directory; give a file name")
    parent = out.parent
    if not parent.exists():
        raise ValueError(f"{option} {out}: the folder {parent} does not exist; create it or give another path")
    if not parent.is_dir():
        raise ValueError(f"{option} {out}: {parent} is not a folder; give another path")
    if not os.access(parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise ValueError(f"{option} {out}: permission denied; give a path the hub may write")


def relative_sqlite_note(url: str | None) -> str | None:
    """A note for a configured SQLite URL with a relative path whose file does not exist yet (the command is about to
    create an empty database there): ``sqlite:///var/hub.db`` is ``./var/hub.db``, an absolute path takes four
    slashes. None otherwise (no URL, another database, an absolute path, a file that exists)."""
    prefix = "sqlite:///"
    if not url or not url.startswith(prefix) or url.startswith(prefix + ":memory:"):
        return None
    path = url[len(prefix):].split("?", 1)[0]
    if not path or path.startswith("/") or Path(path).exists():
        return None
    return (f"note: {url} names {path} relative to the current folder; no database was there, so a new empty one is "
            f"made at {Path(path).resolve()} (an absolute path takes four slashes: sqlite:////{path})")


class StagedFile:
    """An output file written whole under a hidden name beside ``out`` first, and given its name only by ``publish``
    (after the access log has the reads it shows): a full disk, a file-size limit or a Ctrl-C while writing leaves
    neither a cut-off file nor a truncated earlier one, and no logged reads for a file nobody received. A special
    file that exists (/dev/stdout, a pipe) cannot be staged: it is written at ``publish``."""

    def __init__(self, out: Path, data: bytes, option: str = "--out"):
        self.out, self.data, self.option = out, data, option
        self.tmp: Path | None = None
        if out.exists() and (out.is_symlink() or not out.is_file()):
            return
        self.tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
        try:
            with open(self.tmp, "wb") as f:
                if out.exists():  # an earlier file's permissions stay (a 0600 report does not become 0644)
                    os.fchmod(f.fileno(), stat.S_IMODE(out.stat().st_mode))
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except BaseException as e:
            self.discard()
            if isinstance(e, OSError):
                raise ValueError(f"{option} {out}: {e.strerror or e}; nothing was written (and no reads logged)") from e
            raise

    def publish(self) -> None:
        if self.tmp is None:
            with open(self.out, "wb") as f:
                f.write(self.data)
            return
        os.replace(self.tmp, self.out)
        self.tmp = None

    def discard(self) -> None:
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)
            self.tmp = None
