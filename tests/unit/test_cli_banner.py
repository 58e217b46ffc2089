"""`hub up`'s next steps name the `hub` command as it must be typed: `hub` when that name on PATH is this very
program, else its full path (scripts/up.sh installs into .venv/bin, which is not on PATH)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from hub.cli import _hub_command


def _program(folder: Path) -> Path:
    folder.mkdir(parents=True)
    exe = folder / "hub"
    exe.write_text("#!/bin/sh\n", encoding="utf-8")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe


def test_off_path_the_full_path(tmp_path, monkeypatch):
    exe = _program(tmp_path / "venv" / "bin")
    monkeypatch.setattr(sys, "argv", [str(exe), "up"])
    monkeypatch.setenv("PATH", str(tmp_path / "elsewhere"))
    assert _hub_command() == str(exe.resolve())


def test_another_hub_on_path_is_not_this_one(tmp_path, monkeypatch):
    exe, other = _program(tmp_path / "venv" / "bin"), _program(tmp_path / "usr" / "bin")
    monkeypatch.setattr(sys, "argv", [str(exe), "up"])
    monkeypatch.setenv("PATH", str(other.parent))
    assert _hub_command() == str(exe.resolve())


def test_on_path_the_bare_name(tmp_path, monkeypatch):
    exe = _program(tmp_path / "venv" / "bin")
    monkeypatch.setattr(sys, "argv", [str(exe), "up"])
    monkeypatch.setenv("PATH", os.pathsep.join([str(exe.parent), "/usr/bin"]))
    assert _hub_command() == "hub"


def test_python_dash_m_names_hub(monkeypatch):
    monkeypatch.setattr(sys, "argv", [str(Path("hub") / "cli.py"), "up"])
    assert _hub_command() == "hub"
