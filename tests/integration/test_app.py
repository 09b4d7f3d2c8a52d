"""What create_app() says and refuses before it serves anything."""

from __future__ import annotations

import logging

import pytest

from threadline.app import create_app
from threadline.settings import Settings, SettingsError


@pytest.mark.parametrize(
    ("host", "auth_mode", "warned"),
    [
        ("0.0.0.0", "none", True),
        ("192.168.1.5", "none", True),
        ("127.0.0.1", "none", False),
        ("::1", "none", False),
        ("localhost", "none", False),
        ("0.0.0.0", "api_key", False),
    ],
)
def test_serving_beyond_loopback_without_authentication_is_warned_about(
    caplog: pytest.LogCaptureFixture, host: str, auth_mode: str, warned: bool
) -> None:
    with caplog.at_level(logging.WARNING, logger="threadline.app"):
        create_app(Settings(host=host, auth_mode=auth_mode))  # type: ignore[arg-type]
    assert any(r.getMessage() == "auth.disabled" for r in caplog.records) is warned


def test_an_unusable_public_key_stops_start_up() -> None:
    with pytest.raises(SettingsError, match="JWT_PUBLIC_KEY"):
        create_app(Settings(auth_mode="jwt", jwt_public_key="/no/such/key.pem"))
