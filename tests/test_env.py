from __future__ import annotations

import pytest

from emotionsite.env import (
    env_bool,
    env_int,
    env_list,
    env_rate,
    env_str,
    parse_database_url,
    parse_rate,
    with_database_name,
)


def test_readers_and_defaults(monkeypatch):
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_LIST", " a, b ,,c ")
    monkeypatch.delenv("X_MISSING", raising=False)
    assert env_bool("X_BOOL") is True
    assert env_int("X_INT", 1) == 42
    assert env_list("X_LIST") == ["a", "b", "c"]
    assert env_str("X_MISSING", "dflt") == "dflt"
    assert env_bool("X_MISSING", True) is True


def test_file_variant_wins(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-file\n")
    monkeypatch.setenv("X_SECRET", "from-env")
    monkeypatch.setenv("X_SECRET_FILE", str(secret))
    assert env_str("X_SECRET") == "from-file"


def test_bad_values_are_reported(monkeypatch):
    monkeypatch.setenv("X_BOOL", "maybe")
    monkeypatch.setenv("X_INT", "ten")
    with pytest.raises(ValueError, match="X_BOOL"):
        env_bool("X_BOOL")
    with pytest.raises(ValueError, match="X_INT"):
        env_int("X_INT", 1)


def test_database_urls():
    tcp = parse_database_url("postgres://u:p%40ss@db.example:5433/emotion")
    assert (tcp["HOST"], tcp["PORT"], tcp["NAME"], tcp["USER"], tcp["PASSWORD"]) == (
        "db.example", "5433", "emotion", "u", "p@ss",
    )  # fmt: skip
    sock = parse_database_url("postgres://postgres@/emotion?host=/srv/pg")
    assert sock["HOST"] == "/srv/pg" and sock["NAME"] == "emotion" and sock["OPTIONS"] == {}
    assert with_database_name("postgres://postgres@/emotion?host=/srv/pg", "test_emotion") == (
        "postgres://postgres@/test_emotion?host=/srv/pg"
    )
    with pytest.raises(ValueError):
        parse_database_url("mysql://x/y")


def test_rates(monkeypatch):
    assert parse_rate("10/hour") == (10, 3600) and parse_rate("5/minutes") == (5, 60) and parse_rate("2/s") == (2, 1)
    assert parse_rate("off") is None and parse_rate("0/day") is None and parse_rate("") is None
    for bad in ("10", "x/hour", "10/week", "²/hour"):
        with pytest.raises(ValueError, match="not a rate"):
            parse_rate(bad)
    monkeypatch.setenv("X_RATE", "ten/hour")
    with pytest.raises(ValueError, match="X_RATE"):
        env_rate("X_RATE", "1/hour")
    assert env_rate("X_UNSET_RATE", "3/day") == "3/day"
