"""An owner's people changed: tell the live workers, whose cached copy of them is then reloaded.

Every write of a person (renamed, merged, split, deleted, new or updated references at a session's end)
and of a suggestion (a "not the same" answer) bumps the owner's people version after the commit (see
``live.state.bump_people``); a live process compares it with its copy per frame.
Bulk ``QuerySet.update`` sends no signals: the services save people one by one.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from redis.exceptions import RedisError

from live import state as live_state
from people.models import Person, PersonSuggestion

logger = logging.getLogger(__name__)


def _bump_later(project_id: int | None) -> None:
    if project_id is None:
        return

    def bump() -> None:
        try:
            live_state.bump_people(project_id)
        except RedisError:  # Redis away: live recordings need it too; the change itself is saved
            logger.warning("could not tell live workers that the people of project %s changed", project_id)

    transaction.on_commit(bump)


@receiver(post_save, sender=Person, dispatch_uid="sessions_app.people_changed.save")
@receiver(post_delete, sender=Person, dispatch_uid="sessions_app.people_changed.delete")
@receiver(post_save, sender=PersonSuggestion, dispatch_uid="sessions_app.suggestion_changed.save")
@receiver(post_delete, sender=PersonSuggestion, dispatch_uid="sessions_app.suggestion_changed.delete")
def people_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    if isinstance(instance, Person):
        _bump_later(instance.project_id)
    else:  # a suggestion: its person's project (a person deleted with it has bumped it already)
        _bump_later(Person.objects.filter(pk=instance.person_id).values_list("project_id", flat=True).first())
