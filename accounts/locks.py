"""The one per-user lock."""

from __future__ import annotations

from django.contrib.auth import get_user_model


def lock_owner(owner_id: int) -> None:
    """Lock the owner's user row for the transaction: the one per-user lock. finalize_session serialises
    people creation and linking per owner on it, and so do writes to the owner's people (take it before
    other rows), the queueing of the owner's segments and counting their summaries in progress (storing a
    file against the storage quota takes the project's row lock: projects.services.lock_project)."""
    get_user_model().objects.select_for_update().filter(pk=owner_id).first()
