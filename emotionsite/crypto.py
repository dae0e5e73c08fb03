"""Encryption of secrets stored in the database (e.g. users' remote LLM API keys).

Uses EMOTION_FERNET_KEYS, not SECRET_KEY: the first key encrypts, every key decrypts, so a new key
can be put first and old values re-encrypted with :func:`rotate` at leisure.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.FERNET_KEYS])


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def rotate(token: str) -> str:
    """Re-encrypt ``token`` under the first (newest) key."""
    return _fernet().rotate(token.encode()).decode()
