"""Typed readers for settings taken from environment variables.

Every reader also accepts ``NAME_FILE``: the path of a file holding the value (Docker/Kubernetes
secrets), which wins over ``NAME`` itself so that secrets need not sit in the process environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f", ""}


def _raw(name: str) -> str | None:
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text().strip()
    return os.environ.get(name)


def env_str(name: str, default: str = "") -> str:
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool = False) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{name}={value!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def env_int(name: str, default: int) -> int:
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ValueError(f"{name}={value!r} is not an integer") from exc


def env_list(name: str, default: list[str] | None = None, sep: str = ",") -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(sep) if item.strip()]


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    value = env_str(name, default).strip().lower()
    if value not in choices:
        raise ValueError(f"{name}={value!r} must be one of {', '.join(choices)}")
    return value


_PERIODS = {
    **dict.fromkeys(("s", "sec", "second"), 1),
    **dict.fromkeys(("m", "min", "minute"), 60),
    **dict.fromkeys(("h", "hour"), 3600),
    **dict.fromkeys(("d", "day"), 86400),
}


def parse_rate(text: str) -> tuple[int, int] | None:
    """``"10/hour"`` -> (10, 3600): at most 10 per hour; ``"off"``/``"0"``/empty -> None (no limit)."""
    value = str(text).strip().lower()
    if value in {"", "0", "off", "none"}:
        return None
    count, _, unit = (part.strip() for part in value.partition("/"))
    seconds = _PERIODS.get(unit) or _PERIODS.get(unit.removesuffix("s"))  # "hours" as well as "hour"
    if not (count.isascii() and count.isdigit()) or seconds is None:
        raise ValueError(f"{text!r} is not a rate: write it as N/second, N/minute, N/hour or N/day, or off")
    return (int(count), seconds) if int(count) > 0 else None


def env_rate(name: str, default: str) -> str:
    """A rate such as ``10/hour`` (see :func:`parse_rate`), checked here so a typo fails at start-up."""
    value = env_str(name, default).strip()
    try:
        parse_rate(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    return value


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a ``KEY=value`` file such as the one the embedded-services supervisor writes."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, val = line.partition("=")
        values[key.strip()] = val.strip()
    return values


def read_secret_file(path: Path) -> str:
    """The value in a generated secret file (``scripts/make_secrets.py``), or "" when there is none."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


def parse_database_url(url: str) -> dict[str, object]:
    """``postgres://user:pass@host:port/name?host=/socket/dir`` -> a Django DATABASES entry."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ValueError(f"DATABASE_URL scheme {parts.scheme!r} is not supported (use postgres://)")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    host = query.pop("host", None) or unquote(parts.hostname or "")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")) or "postgres",
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(parts.port or ""),
        "OPTIONS": query,
    }


def with_database_name(url: str, name: str) -> str:
    """The same server URL pointing at another database (the test database, for example)."""
    parts = urlsplit(url)
    return parts._replace(path=f"/{name}").geturl()


def s3_origin(url: str) -> str:
    """``http://127.0.0.1:9000/path`` -> ``http://127.0.0.1:9000``: the origin a page's CSP must allow."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"{url!r} is not an http(s) URL")
    return f"{parts.scheme}://{parts.netloc}"
