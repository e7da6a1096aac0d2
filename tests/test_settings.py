from __future__ import annotations

import pytest

from backend.errors import ConfigError
from backend.settings import DEFAULT_SCL_MASK, load_settings


def test_demo_secrets_refused_outside_demo_mode():
    with pytest.raises(ConfigError) as err:
        load_settings(demo_mode=False)
    msg = str(err.value)
    assert "CBM_SECRET_KEY" in msg and "CBM_ADMIN_PASSWORD" in msg and "CBM_DEMO_MODE" in msg


def test_real_secrets_accepted_outside_demo_mode():
    s = load_settings(demo_mode=False, secret_key="k" * 32, admin_password="a-real-one",
                      database_url="postgresql://u:p@db.example/cbm")
    assert not s.demo_mode
    assert "p@db" not in repr(s)  # secrets never shown


def test_external_url_does_not_need_embedded_password():
    s = load_settings(demo_mode=False, secret_key="k" * 32, admin_password="x" * 12,
                      database_url="postgresql://u@h/cbm")
    assert not s.uses_embedded_db


def test_scl_classes_from_environment(monkeypatch):
    monkeypatch.setenv("CBM_SCL_MASK_CLASSES", "3, 8,9")
    assert load_settings(demo_mode=True).scl_mask_classes == [3, 8, 9]
    monkeypatch.delenv("CBM_SCL_MASK_CLASSES")
    assert load_settings(demo_mode=True).scl_mask_classes == list(DEFAULT_SCL_MASK)


@pytest.mark.parametrize(
    ("env", "value", "expected"),
    [
        ("CBM_PG_PORT", "not-a-port", "CBM_PG_PORT"),
        ("CBM_PG_PORT", "80", "CBM_PG_PORT"),
        ("CBM_SCL_MASK_CLASSES", "3,42", "0..11"),
        ("CBM_NEGATIVE_BUFFER_M", "-5", "CBM_NEGATIVE_BUFFER_M"),
        ("CBM_PG_SYSTEM_USER", "Bad User", "CBM_PG_SYSTEM_USER"),
        ("CBM_DEMO_MODE", "perhaps", "CBM_DEMO_MODE"),
    ],
)
def test_bad_values_give_one_clear_error(monkeypatch, env, value, expected):
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError, match=expected):
        load_settings()


def test_dotenv_file_is_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CBM_PG_PORT", raising=False)  # the environment wins over .env
    (tmp_path / ".env").write_text("CBM_DEMO_MODE=true\nCBM_PG_PORT=55999\n")
    assert load_settings().pg_port == 55999
