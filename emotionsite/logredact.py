"""Secrets that travel in URL paths stay out of the logs: an invitation link (``/invite/<token>/``) is
written ``/invite/[token]/`` by Django's request log (a refused link is logged "Gone: <path>") and by
Daphne's access log (``emotionsite.daphne_server``)."""

from __future__ import annotations

import logging
import re

# paths whose segment after the prefix is a bearer secret
SECRET_PATH = re.compile(r"(/invite/)[^/\s\"?]+")


def redact(text: str) -> str:
    return SECRET_PATH.sub(r"\1[token]", text)


class SecretPaths(logging.Filter):
    """A handler filter: the record's message with secret path segments replaced (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is the handler's to report
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True
