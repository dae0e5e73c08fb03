"""Media in an S3-compatible bucket (EMOTION_MEDIA_STORAGE=s3): moto's server stands in for S3 (MinIO has no
PyPI package). One upload through Daphne and a Celery worker that share nothing but the bucket, the
database and Redis: stored in the bucket, not on disk; analysed; streamed with ranges; redirected to a
signed URL that carries the type and disposition, audited first; thumbnails; deletion removes the objects."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bench.stack import free_port, wait_serving
from conftest import ROOT, VENV_BIN, _stop
from tests.runstack import log_in
from tests.sessions.conftest import CLIP, wait_for_session

BUCKET = "emotion-media"


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory) -> Iterator[str]:
    """moto's S3-compatible server on a loopback port for the test session, with an empty bucket."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(VENV_BIN / "python"), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    try:
        if not wait_serving(f"{endpoint}/moto-api/", proc, 60):
            pytest.fail(f"moto did not start:\n{log_path.read_text(errors='replace')[-2000:]}")
        _client(endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        _stop(proc)


def _client(endpoint: str):
    import boto3

    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


def _keys(endpoint: str, prefix: str) -> set[str]:
    found = _client(endpoint).list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {o["Key"] for o in found}


def _object(endpoint: str, key: str) -> bytes:
    return _client(endpoint).get_object(Bucket=BUCKET, Key=key)["Body"].read()


def _use_bucket(settings, endpoint: str, *, signed: bool) -> None:
    """This test process's settings as EMOTION_MEDIA_STORAGE=s3 would make them (default_storage follows)."""
    settings.EMOTION_MEDIA_STORAGE = "s3"
    settings.EMOTION_MEDIA_SIGNED_URLS = signed
    options = {
        "bucket_name": BUCKET, "endpoint_url": endpoint, "region_name": "us-east-1", "access_key": "test",
        "secret_key": "test", "default_acl": None, "querystring_expire": settings.EMOTION_MEDIA_SIGNED_URL_SECONDS,
        "file_overwrite": False, "signature_version": "s3v4", "addressing_style": "path",
    }  # fmt: skip
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options},
    }


@pytest.fixture
def s3_stack(service_env, s3_endpoint, tmp_path) -> Iterator[dict]:
    """Daphne and one Celery worker on queues of their own, media in the bucket; MEDIA_ROOT is a folder
    that must stay empty. The secret key comes from a _FILE variant, as a deployment's secrets would."""
    secret = tmp_path / "s3-secret"
    secret.write_text("test\n")
    tag = uuid.uuid4().hex[:6]
    env = {
        **service_env,
        "EMOTION_MEDIA_STORAGE": "s3",
        "EMOTION_S3_ENDPOINT_URL": s3_endpoint,
        "EMOTION_S3_BUCKET": BUCKET,
        "EMOTION_S3_REGION": "us-east-1",
        "EMOTION_S3_ACCESS_KEY_ID": "test",
        "EMOTION_S3_SECRET_ACCESS_KEY_FILE": str(secret),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "EMOTION_STAGING_DIR": str(tmp_path / "staging"),
        "EMOTION_DEFAULT_SAMPLE_FPS": "1",
        **{f"EMOTION_QUEUE_{q}": f"s3-{tag}-{q.lower()}" for q in ("LIVE", "INFERENCE", "SUMMARIES", "DEFAULT")},
    }
    port = free_port()
    name = f"s3-{tag}@{socket.gethostname()}"
    queues = ",".join(f"s3-{tag}-{q}" for q in ("live", "inference", "summaries", "default"))
    logs = {k: tmp_path / f"{k}.log" for k in ("daphne", "worker")}
    cmds = {
        "daphne": [str(VENV_BIN / "python"), "-m", "emotionsite.daphne_server", "-b", "127.0.0.1", "-p", str(port),
                   "emotionsite.asgi:application"],
        "worker": [str(VENV_BIN / "celery"), "-A", "emotionsite", "worker", "-Q", queues, "--pool=solo", "-n", name,
                   "--without-gossip", "--without-mingle", "-l", "info"],
    }  # fmt: skip
    procs = {}
    for key, cmd in cmds.items():
        with open(logs[key], "wb") as log:
            procs[key] = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_serving(f"{base}/accounts/login/", procs["daphne"], 60):
            pytest.fail(f"daphne did not start:\n{logs['daphne'].read_text(errors='replace')[-3000:]}")
        yield {"base": base, "media_root": tmp_path / "media", "staging": tmp_path / "staging", "logs": logs}
    finally:
        for proc in procs.values():
            _stop(proc)


@pytest.mark.django_db(transaction=True)
def test_media_flow_through_the_bucket(s3_stack, s3_endpoint, media_dir, user, django_user_model, settings):
    from api_tokens.services import create_token
    from audit.models import AuditEntry
    from people.models import PersonThumbnail
    from sessions_app.models import Session

    base = s3_stack["base"]
    _, key = create_token(user)
    clip = (media_dir / CLIP).read_bytes()
    answer = httpx.post(
        f"{base}/api/sessions/",
        headers={"Authorization": f"Token {key}"},
        files={"file": ("clip.mp4", clip, "video/mp4")},
        timeout=60,
    )
    assert answer.status_code == 201, answer.text[:500]
    session = wait_for_session(answer.json()["id"], timeout=240)
    worker_log = s3_stack["logs"]["worker"].read_text(errors="replace")
    assert session.status == Session.Status.DONE, (session.error, worker_log[-3000:])
    prefix = f"sessions/{user.pk}/{session.pk}/"
    assert session.original.name.startswith(prefix)
    assert _keys(s3_endpoint, prefix) == {session.original.name}  # the playable file is the original here
    assert _object(s3_endpoint, session.original.name) == clip
    on_disk = [p for p in (*Path(s3_stack["media_root"]).rglob("*"), *Path(s3_stack["staging"]).rglob("*"))]
    assert [p for p in on_disk if p.is_file()] == []  # neither the web machine nor the worker kept a copy
    thumbs = list(PersonThumbnail.objects.filter(person__owner=user))
    assert thumbs and all(_object(s3_endpoint, t.image.name)[:2] == b"\xff\xd8" for t in thumbs)

    with httpx.Client(timeout=30) as browser:  # streamed through Daphne from the bucket, by ranges
        assert log_in(browser, base, user.username).status_code == 302
        url = f"{base}/sessions/{session.pk}/media/playable/"
        part = browser.get(url, headers={"Range": "bytes=1000-1999"})
        assert part.status_code == 206 and part.content == clip[1000:2000]
        assert part.headers["content-range"] == f"bytes 1000-1999/{len(clip)}"
        assert part.headers["content-security-policy"] == "sandbox"
        tail = browser.get(url, headers={"Range": "bytes=-100"})
        assert tail.status_code == 206 and tail.content == clip[-100:]
        assert browser.get(url, headers={"Range": f"bytes={len(clip)}-"}).status_code == 416
        thumb = browser.get(f"{base}/people/thumbnails/{thumbs[0].pk}/")
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        assert thumb.content == _object(s3_endpoint, thumbs[0].image.name)

    # signed URLs (this process, same bucket): staff read another user's video -> audited, then a redirect
    _use_bucket(settings, s3_endpoint, signed=True)
    staff = django_user_model.objects.create_user(username=f"{user.username}-staff", password="x", is_staff=True)
    from django.test import Client

    viewer = Client()
    viewer.force_login(staff)
    for kind, disposition in (
        ("playable", f'inline; filename="session-{session.pk}.mp4"'),
        ("original", f'attachment; filename="session-{session.pk}.mp4"'),
    ):
        redirect = viewer.get(f"/sessions/{session.pk}/media/{kind}/")
        assert redirect.status_code == 302 and redirect["Cache-Control"] == "private, no-store"
        signed = redirect["Location"]
        query = parse_qs(urlsplit(signed).query)
        assert signed.startswith(f"{s3_endpoint}/{BUCKET}/{session.original.name}?")
        assert query["response-content-type"] == ["video/mp4"]
        assert query["response-content-disposition"] == [disposition]
        assert query["X-Amz-Expires"] == [str(settings.EMOTION_MEDIA_SIGNED_URL_SECONDS)]
        fetched = httpx.get(signed, headers={"Range": "bytes=0-99"}, timeout=30)
        assert fetched.status_code == 206 and fetched.content == clip[:100]
        assert fetched.headers["content-type"] == "video/mp4"
        assert fetched.headers["content-disposition"] == disposition
    assert AuditEntry.objects.filter(actor=staff, object_type="session", object_id=str(session.pk)).exists()
    thumb_redirect = viewer.get(f"/people/thumbnails/{thumbs[0].pk}/")
    assert thumb_redirect.status_code == 302
    assert parse_qs(urlsplit(thumb_redirect["Location"]).query)["response-content-type"] == ["image/jpeg"]

    owner = Client()
    owner.force_login(user)
    assert owner.post(f"/sessions/{session.pk}/delete/").status_code == 302
    deadline = time.monotonic() + 10
    while _keys(s3_endpoint, prefix) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _keys(s3_endpoint, prefix) == set()
