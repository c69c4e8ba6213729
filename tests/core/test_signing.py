"""Signed links: bound to their fields, purpose and expiry, under a key that survives restarts."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsdesk.core.settings import Settings
from opsdesk.core.signing import SECRET_FILE, BadLink, app_secret, sign, verify

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def test_without_a_configured_key_one_is_generated_once_and_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    token = sign(settings, "p", {"t": 1}, expires=NOW + timedelta(days=1))
    key_file = tmp_path / "var" / SECRET_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and len(app_secret(settings)) >= 48
    restarted = Settings(data_dir=tmp_path / "var")
    assert verify(restarted, "p", token, now=NOW) == {
        "t": 1,
        "exp": int((NOW + timedelta(days=1)).timestamp()),
    }
    with pytest.raises(BadLink):
        verify(Settings(data_dir=tmp_path / "elsewhere"), "p", token, now=NOW)


def test_the_configured_key_wins(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="configured")
    assert app_secret(settings) == b"configured" and not (tmp_path / SECRET_FILE).exists()


@pytest.mark.parametrize("token", ["", ".", "abc", "abc.def", "!!!.???", "e30.", "bnVsbA.x"])
def test_garbage_is_refused_not_crashed(tmp_path: Path, token: str) -> None:
    with pytest.raises(BadLink):
        verify(Settings(data_dir=tmp_path, secret_key="k"), "p", token, now=NOW)
