from __future__ import annotations

import pytest
from cryptography.fernet import Fernet, InvalidToken

from emotionsite import crypto


def test_round_trip_and_rotation(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FERNET_KEYS = [old]
    token = crypto.encrypt("sk-secret")
    assert "sk-secret" not in token and crypto.decrypt(token) == "sk-secret"

    settings.FERNET_KEYS = [new, old]
    rotated = crypto.rotate(token)
    settings.FERNET_KEYS = [new]
    assert crypto.decrypt(rotated) == "sk-secret"
    with pytest.raises(InvalidToken):
        crypto.decrypt(token)
