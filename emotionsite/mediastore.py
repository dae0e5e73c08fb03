"""Reading stored media the same way whichever storage holds it (docs/architecture.md "Media storage").

``default_storage`` is the local disk (``FileSystemStorage``) or an S3-compatible bucket (django-storages'
``S3Storage``, ``EMOTION_MEDIA_STORAGE=s3``). Its ``open()`` suits small files, but on S3 it downloads the
whole object into a spooled temporary file first: a seek into a 2 GB video would fetch 2 GB. So ranges are
read with a ranged ``GetObject``, and workers' local copies are written straight from the object.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import IO, Any

from django.conf import settings
from django.core.files.storage import default_storage

CHUNK = 256 * 1024


def is_remote() -> bool:
    """True when media live in a bucket rather than on this machine's disk."""
    return settings.EMOTION_MEDIA_STORAGE == "s3"


def signed_urls() -> bool:
    return bool(settings.EMOTION_MEDIA_SIGNED_URLS) and is_remote()


def _s3(name: str) -> tuple[Any, str, str]:
    """boto3's client, the bucket and the object key of a stored name (the storage's own prefix applied)."""
    from storages.utils import clean_name, safe_join

    storage: Any = default_storage
    key = safe_join(storage.location, clean_name(name))  # as S3Storage names its objects
    return storage.connection.meta.client, storage.bucket_name, key


def read_range(name: str, start: int, length: int, chunk: int = CHUNK) -> Iterator[bytes]:
    """``length`` bytes of the stored file from ``start``, ``chunk`` at a time (the range, never the file)."""
    if length <= 0:
        return
    if is_remote():
        client, bucket, key = _s3(name)
        body = client.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{start + length - 1}")["Body"]
        try:
            yield from body.iter_chunks(chunk)
        finally:
            body.close()
        return
    with default_storage.open(name, "rb") as fh:
        fh.seek(start)
        left = length
        while left > 0:
            data = fh.read(min(chunk, left))
            if not data:
                break
            left -= len(data)
            yield data


def download(name: str, out: IO[bytes]) -> None:
    """Copy the stored file into the open binary file ``out`` (a worker's local copy)."""
    if is_remote():
        client, bucket, key = _s3(name)
        client.download_fileobj(bucket, key, out)
        return
    with default_storage.open(name, "rb") as src:
        shutil.copyfileobj(src, out, 1 << 20)


def signed_url(name: str, content_type: str, content_disposition: str) -> str:
    """A presigned GET of the object for ``EMOTION_MEDIA_SIGNED_URL_SECONDS``, answered by the bucket with
    the given ``Content-Type`` and ``Content-Disposition`` (S3 sets no other headers: no CSP, no nosniff)."""
    client, bucket, key = _s3(name)
    params = {
        "Bucket": bucket,
        "Key": key,
        "ResponseContentType": content_type,
        "ResponseContentDisposition": content_disposition,
        "ResponseCacheControl": "private, max-age=0",
    }
    return client.generate_presigned_url(
        "get_object", Params=params, ExpiresIn=settings.EMOTION_MEDIA_SIGNED_URL_SECONDS
    )
