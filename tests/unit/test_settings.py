"""Settings come from the environment and `.env`; bad values name their variable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from threadline.settings import (
    DEFAULT_MODEL,
    Secret,
    Settings,
    SettingsError,
    env_name,
    load_settings,
)


def test_defaults_serve_on_port_8000_with_the_current_groq_model() -> None:
    settings = load_settings({}, dotenv=None)

    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.groq_model == DEFAULT_MODEL == "openai/gpt-oss-20b"
    assert settings.offline
    assert settings.database_url is None
    assert settings.data_dir == ".threadline"
    assert settings.max_message_bytes == 16 * 1024


def test_dotenv_fills_in_and_the_real_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# comment\n"
        "export PORT=9001\n"
        "GROQ_MODEL='llama-3.3-70b-versatile'\n"
        'SYSTEM_PROMPT="Be brief. Be kind."\n'
        "GROQ_API_KEY=from-dotenv\n"
    )
    settings = load_settings({"GROQ_API_KEY": "from-env", "THREADLINE_DATA_DIR": "/srv/tl"}, dotenv)

    assert settings.port == 9001
    assert settings.groq_model == "llama-3.3-70b-versatile"
    assert settings.system_prompt == "Be brief. Be kind."
    assert settings.groq_api_key == Secret("from-env")
    assert settings.data_dir == "/srv/tl"
    assert not settings.offline


def test_empty_values_count_as_unset() -> None:
    settings = load_settings({"GROQ_API_KEY": "", "PORT": " "}, dotenv=None)

    assert settings.offline
    assert settings.port == 8000


def test_secrets_never_show_in_the_settings_repr() -> None:
    settings = load_settings(
        {"GROQ_API_KEY": "gsk_supersecret", "DATABASE_URL": "postgresql://u:pw@db/x"}, dotenv=None
    )

    assert "gsk_supersecret" not in repr(settings)
    assert "pw@db" not in repr(settings)
    assert settings.groq_api_key is not None
    assert settings.groq_api_key.get() == "gsk_supersecret"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PORT": "eighty"}, "invalid setting PORT: Expected `int`, got `str`"),
        ({"PORT": "70000"}, "invalid setting PORT: Expected `int` <= 65535"),
        ({"WORKERS": "0"}, "invalid setting WORKERS: Expected `int` >= 1"),
        ({"GROQ_TEMPERATURE": "3"}, "invalid setting GROQ_TEMPERATURE: Expected `float` <= 2.0"),
        ({"MAX_MESSAGE_BYTES": "0"}, "invalid setting MAX_MESSAGE_BYTES: Expected `int` >= 1"),
        ({"LOG_LEVEL": "LOUD"}, "invalid setting LOG_LEVEL: Invalid enum value 'LOUD'"),
        ({"DB_PREPARE_THRESHOLD": "never"}, "invalid setting DB_PREPARE_THRESHOLD"),
        (
            {"DB_POOL_MIN_SIZE": "20", "DB_POOL_MAX_SIZE": "5"},
            "invalid setting DB_POOL_MIN_SIZE: must not exceed DB_POOL_MAX_SIZE",
        ),
        (
            # A fifth of the default CONTEXT_TOKENS (6400) is reserved for each reply.
            {"DAILY_TOKEN_QUOTA": "1000"},
            "invalid setting DAILY_TOKEN_QUOTA: 1000 is not above the 6400 tokens reserved "
            "for a reply (CONTEXT_TOKENS / 5)",
        ),
        (
            {"DAILY_TOKEN_QUOTA": "1000", "GROQ_MAX_TOKENS": "1000"},
            "invalid setting DAILY_TOKEN_QUOTA: 1000 is not above the 1000 tokens reserved "
            "for a reply (GROQ_MAX_TOKENS)",
        ),
    ],
)
def test_an_invalid_value_is_reported_naming_its_variable(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(environ, dotenv=None)

    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(("value", "expected"), [("off", "off"), ("0", 0), ("5", 5)])
def test_prepare_threshold_can_be_switched_off_for_pgbouncer(value: str, expected: object) -> None:
    settings = load_settings({"DB_PREPARE_THRESHOLD": value}, dotenv=None)

    assert settings.db_prepare_threshold == expected


def test_env_example_documents_every_setting_with_its_default() -> None:
    example = Path(__file__).parent.parent.parent / ".env.example"
    text = example.read_text()
    for field in Settings.__struct_fields__:
        name = env_name(field)
        assert re.search(rf"^#? ?{name}=", text, re.MULTILINE), f"{name} is not in .env.example"
    # The uncommented values are the defaults, so copying the file changes nothing.
    assert load_settings({}, example) == load_settings({}, dotenv=None)


def test_the_settings_reference_has_a_row_for_every_setting_and_no_other() -> None:
    page = Path(__file__).parent.parent.parent / "docs" / "configuration.md"
    rows = [line for line in page.read_text().splitlines() if line.startswith("| `")]
    # A row's first cell names its variables: `HOST` / `PORT`.
    named = {name for row in rows for name in re.findall(r"`(\w+)`", row.split(" | ")[0])}
    settings = {env_name(field) for field in Settings.__struct_fields__}

    assert sorted(settings - named) == [], "settings without a row in docs/configuration.md"
    assert sorted(named - settings) == [], "rows in docs/configuration.md that no setting has"


@pytest.mark.parametrize(
    "keys",
    [{}, {"JWT_SECRET": "s", "JWT_JWKS_URL": "http://idp/jwks.json"}],
    ids=["none", "two"],
)
def test_jwt_mode_needs_exactly_one_key_source(keys: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match="AUTH_MODE: jwt needs exactly one of"):
        load_settings({"AUTH_MODE": "jwt", **keys}, dotenv=None)


def test_allowed_origins_are_normalized() -> None:
    settings = load_settings(
        {"ALLOWED_ORIGINS": " https://Chat.example.com/ , http://localhost:3000"}, dotenv=None
    )
    assert settings.origins == {"https://chat.example.com", "http://localhost:3000"}


@pytest.mark.parametrize(
    "value",
    [
        "chat.example.com",  # no scheme
        "https://chat.example.com/app",  # a path
        "https://chat.example.com?x=1",
        "https://chat.example.com#top",
        "https://user@chat.example.com",
        "https://chat.example.com:99999",
        "https://chat example.com",
        "https://",
        "null",  # what sandboxed frames and files send: never to be trusted by name
        "*, https://chat.example.com",  # `*` means any, alone
    ],
)
def test_an_allowed_origin_that_is_no_origin_stops_start_up(value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({"ALLOWED_ORIGINS": value}, dotenv=None)

    assert str(raised.value).startswith("invalid setting ALLOWED_ORIGINS: ")
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    "value", ["*", "http://localhost:3000", "https://[::1]:8443", "capacitor://localhost"]
)
def test_origins_as_browsers_send_them_are_allowed(value: str) -> None:
    assert load_settings({"ALLOWED_ORIGINS": value}, dotenv=None).origins == {value}


def test_a_daily_quota_above_a_replys_reservation_is_taken() -> None:
    environ = {"DAILY_TOKEN_QUOTA": "1000", "GROQ_MAX_TOKENS": "500"}
    settings = load_settings(environ, dotenv=None)
    assert (settings.daily_token_quota, settings.reply_max_tokens) == (1000, 500)
