#!/usr/bin/env python
"""Create this install's secrets once, so that no public development key is ever in use.

Usage: python scripts/make_secrets.py DIR

Writes DIR/secret_key (Django's SECRET_KEY) and DIR/fernet_keys (EMOTION_FERNET_KEYS, which encrypts
stored secrets such as users' LLM API keys), each readable by its owner only (0600), in a folder only
the owner can enter (0700). Files already there are kept: a new SECRET_KEY would log everyone out, a
new Fernet key would make the stored secrets unreadable. The settings read these files when
SECRET_KEY / EMOTION_FERNET_KEYS are not given, so `manage.py` beside the stack uses the same keys.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from cryptography.fernet import Fernet


def _create(path: Path, value: str) -> bool:
    """Write ``value`` to ``path`` unless it exists; True when written. The file appears complete or
    not at all (a hard link of a finished temporary file), and never replaces one written meanwhile."""
    if path.exists():
        return False
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(value + "\n")
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


def make_secrets(folder: Path) -> list[str]:
    """Create the missing secret files in ``folder``; the names of those created."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    wanted = {
        "secret_key": secrets.token_urlsafe(50),
        "fernet_keys": Fernet.generate_key().decode(),
    }
    return [name for name, value in wanted.items() if _create(folder / name, value)]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.split("\n\n")[1])
    target = Path(sys.argv[1])
    for created in make_secrets(target):
        print(f"generated {target / created}")
