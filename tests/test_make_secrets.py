"""scripts/make_secrets.py: this install's keys, made once, private, kept across runs."""

from __future__ import annotations

import stat
import sys

from cryptography.fernet import Fernet

from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
from make_secrets import make_secrets  # noqa: E402


def test_secrets_are_made_once_private_and_kept(tmp_path):
    folder = tmp_path / "var" / "secrets"
    assert make_secrets(folder) == ["secret_key", "fernet_keys"]
    values = {p.name: p.read_text() for p in folder.iterdir()}
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in folder.iterdir())
    Fernet(values["fernet_keys"].strip())  # a valid key
    assert len(values["secret_key"].strip()) >= 50
    (folder / "fernet_keys").unlink()
    assert make_secrets(folder) == ["fernet_keys"]  # only the missing one; the other is kept
    assert (folder / "secret_key").read_text() == values["secret_key"]
    assert (folder / "fernet_keys").read_text() != values["fernet_keys"]
    assert sorted(p.name for p in folder.iterdir()) == ["fernet_keys", "secret_key"]  # no temporary left
