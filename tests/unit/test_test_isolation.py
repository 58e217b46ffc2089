"""The README's first command (`bash scripts/up.sh`) leaves .hub-data/ in the checkout, with an audit key; its second
(`bash scripts/test.sh`) must not read it: the in-process commands of the tests found DATA_DIR/audit.key there and
refused their own unkeyed databases ("the operation log has 5 links written without a key"). tests/conftest.py gives
the session a data directory of its own and drops the hub settings of the operator's shell."""

from pathlib import Path

from hub.config import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_tests_read_no_hub_data_of_the_checkout():
    settings = load_settings()
    assert settings.data_dir.resolve() != (ROOT / ".hub-data").resolve()
    assert settings.data_dir.resolve() != (Path.cwd() / ".hub-data").resolve()
    assert not settings.audit_key_configured() and settings.database_url is None
