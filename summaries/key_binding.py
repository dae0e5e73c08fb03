"""What is encrypted for a stored LLM API key: the key together with the URL it was entered with.

Encrypting both together (rather than keeping the URL in a column beside the ciphertext) means the
binding cannot be changed without the Fernet key: whoever can edit the row, through the admin, a shell
or the database, can change ``remote_url`` but not the URL inside the ciphertext, and the remote backend
sends the key only where the two match. Framework-free, so the data migration can use it as well.
"""

from __future__ import annotations

import json

VERSION = 1


def pack(key: str, url: str) -> str:
    return json.dumps({"v": VERSION, "key": key, "url": url.strip()})


def unpack(plaintext: str) -> tuple[str, str | None]:
    """(key, bound URL); a value from before keys were bound gives (key, None): bound to nothing."""
    try:
        data = json.loads(plaintext)
    except ValueError:
        return plaintext, None
    if isinstance(data, dict) and data.get("v") == VERSION and isinstance(data.get("key"), str):
        url = data.get("url")
        return data["key"], url if isinstance(url, str) else None
    return plaintext, None


def same_url(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.strip() == b.strip()
