"""Flag stored people whose tracks disagree (possibly wrong merges): ``manage.py flag_identity_conflicts``."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from people import identity_flags
from people.models import Person


class Command(BaseCommand):
    help = (
        "Check stored people (all, or those of --user) and flag those whose tracks disagree: possibly several "
        "people joined by a wrong merge. Their owners see the flag, with the tracks to split, on the person's "
        "page. --dry-run prints what would be flagged and stores nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", action="append", default=[], metavar="USERNAME", help="only this owner's people")
        parser.add_argument("--dry-run", action="store_true", help="report only; store no flag")

    def handle(self, *args, user: list[str], dry_run: bool, **options):
        persons = Person.objects.select_related("owner").order_by("owner_id", "number")
        if user:
            found = set(get_user_model().objects.filter(username__in=user).values_list("username", flat=True))
            if missing := sorted(set(user) - found):
                raise CommandError(f"no user named {', '.join(map(repr, missing))}")
            persons = persons.filter(owner__username__in=user)
        checked = flagged = 0
        for person in persons.iterator(chunk_size=200):
            checked += 1
            if dry_run:
                conflict = identity_flags.find_conflict(person)
                groups = conflict.groups if conflict else None
            else:
                flag = identity_flags.check_person(person)
                groups = flag.groups if flag else None
            if groups:
                flagged += 1
                sizes = " + ".join(str(len(g)) for g in groups)
                self.stdout.write(
                    f"{person.owner.get_username()}: {person.display_name} (#{person.pk}) tracks in groups of {sizes}"
                )
        verb = "would flag" if dry_run else "flagged"
        self.stdout.write(f"checked {checked} people; {verb} {flagged}")
