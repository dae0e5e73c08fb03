"""Owner actions on a session: rename, delete (with its media)."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.db import transaction

from sessions_app.models import Session


def rename_session(session: Session, title: str) -> Session:
    title = (title or "").strip()[:200]
    if title:
        session.title = title
        session.save(update_fields=["title", "updated"])
    return session


def delete_session(session: Session) -> None:
    """Delete the rows (observations, tracks, segments cascade) and then the stored media.

    People stay: they belong to the owner and may appear in other sessions.
    """
    names = {n for n in (session.original.name, session.playable.name) if n}
    with transaction.atomic():
        session.delete()

        def remove_files() -> None:
            for name in names:
                default_storage.delete(name)

        transaction.on_commit(remove_files)
