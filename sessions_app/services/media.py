"""A session's stored files: the format they are served as, and server-chosen names for old files.

Files stored before ``Session.original_format``/``playable_format`` existed kept the name the user gave
(``x.html``): until ``manage.py secure_media_names`` has renamed them, they are served by their sniffed
first bytes (never their name). The rename copies first, points the row at the copies, and deletes the
old files only after that commit; a session still running is left for a later run.

Also: deleting a session's media (results kept) and removing stored files once a transaction commits.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from audit import services as audit
from sessions_app.mediatypes import OTHER, detect_format, extension, safe_name, sniff_file, storage_name
from sessions_app.models import Session

logger = logging.getLogger(__name__)

KINDS = ("original", "playable")


def stored_format(session: Session, kind: str) -> str:
    """The recorded format of ``kind`` ("original"/"playable"), else the stored file's sniffed one."""
    fmt = getattr(session, f"{kind}_format")
    if fmt:
        return fmt
    try:
        with default_storage.open(getattr(session, kind).name, "rb") as fh:
            return sniff_file(fh)
    except OSError:
        return OTHER


def needs_securing(session: Session) -> bool:
    for kind in KINDS:
        name, fmt = getattr(session, kind).name, getattr(session, f"{kind}_format")
        if name and (not fmt or not _is_server_name(name, fmt)):
            return True
    return False


def _is_server_name(name: str, fmt: str) -> bool:
    base = Path(name).name
    return safe_name(base) == base and base.endswith(f".{extension(fmt)}")


def _probe_format(session: Session, name: str) -> str:
    from sessions_app.services.analysis import local_copy

    with local_copy(name) as path:
        return detect_format(path, "image" if session.source == Session.Source.IMAGE else "video")


def secure_names(session_id: int) -> str:
    """Record the formats of a session's files and move them to server-chosen names, copy first.

    Returns "secured", "unchanged", or "skipped" (running, deleted, or changed while copying).
    """
    session = Session.objects.filter(pk=session_id).first()
    if session is None or session.is_running or not needs_securing(session):
        return "skipped" if session is None or session.is_running else "unchanged"
    old = {kind: getattr(session, kind).name for kind in KINDS}
    new: dict[str, tuple[str, str]] = {}  # kind -> (name, format)
    copies: list[str] = []
    try:
        for kind in KINDS:
            name = old[kind]
            if not name:
                new[kind] = ("", "")
            elif kind == "playable" and name == old["original"]:
                new[kind] = new["original"]  # an image or a playable upload is its own playable file
            elif not default_storage.exists(name):
                new[kind] = (name, getattr(session, f"{kind}_format") or OTHER)
            else:
                fmt = getattr(session, f"{kind}_format") or _probe_format(session, name)
                if _is_server_name(name, fmt):
                    new[kind] = (name, fmt)
                    continue
                field = getattr(session, kind).field
                with default_storage.open(name, "rb") as fh:
                    copy = default_storage.save(field.generate_filename(session, storage_name(kind, fmt)), fh)
                copies.append(copy)
                new[kind] = (copy, fmt)
        with transaction.atomic():
            row = Session.objects.select_for_update().filter(pk=session_id).first()
            if row is None or row.is_running or {kind: getattr(row, kind).name for kind in KINDS} != old:
                return "skipped"  # the copies are removed below
            Session.objects.filter(pk=session_id).update(
                original=new["original"][0],
                original_format=new["original"][1],
                playable=new["playable"][0],
                playable_format=new["playable"][1],
            )
            gone = {name for name in old.values() if name} - {name for name, _ in new.values()}
            delete_files_on_commit(gone)
            copies = []
    finally:
        for copy in copies:  # not committed: the row still points at the old files
            default_storage.delete(copy)
    logger.info("session %s: media stored as %s", session_id, [name for name, _ in new.values()])
    return "secured"


def delete_files_on_commit(names: set[str] | list[str]) -> None:
    """Remove stored files once the surrounding transaction commits (at once outside one)."""
    names = {n for n in names if n}

    def remove() -> None:
        for name in names:
            default_storage.delete(name)

    if names:
        transaction.on_commit(remove)


# sessions whose files are still being written or read: retention and the admin leave them alone
RUNNING = (Session.Status.RECEIVING, Session.Status.QUEUED, Session.Status.ANALYSING)


def delete_media(session: Session, *, actor: Any = None, request: Any = None, reason: str = "") -> bool:
    """Remove the session's stored files, keep its rows; False when there was nothing to remove."""
    with transaction.atomic():
        session = Session.objects.select_for_update().filter(pk=session.pk).first()
        if session is None:
            return False
        names = [n for n in (session.original.name, session.playable.name) if n]
        if not names and session.media_deleted:
            return False
        session.original, session.playable = "", ""
        session.media_deleted = timezone.now()
        session.stored_bytes = 0  # no longer counted against the owner's storage quota
        session.save(update_fields=["original", "playable", "media_deleted", "stored_bytes", "updated"])
        audit.record(actor, audit.Action.MEDIA_DELETED, session, request=request, detail=reason)
        delete_files_on_commit(names)
    return True
