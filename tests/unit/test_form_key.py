"""The approval forms' key: created once outside the database, private, stable across starts."""

import stat

import pytest

from hub.adapters.form_key import load_or_create
from hub.config import Settings


def test_the_key_is_created_private_and_read_back_unchanged(tmp_path):
    path = Settings(data_dir=tmp_path / "data").form_key_path()
    assert path == tmp_path / "data" / "form-key"
    key = load_or_create(path)
    assert len(key) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create(path) == key


def test_a_configured_key_file_is_used_and_a_bad_one_is_a_clear_error(tmp_path):
    path = tmp_path / "elsewhere.key"
    assert Settings(data_dir=tmp_path, form_key_file=path).form_key_path() == path
    path.write_text("not hex\n")
    with pytest.raises(ValueError, match="hex"):
        load_or_create(path)
    path.write_text("abcd\n")
    with pytest.raises(ValueError, match="shorter"):
        load_or_create(path)
