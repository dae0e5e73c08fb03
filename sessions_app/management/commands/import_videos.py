"""Import a folder of videos and images into a project: ``manage.py import_videos <folder> --project <id>
--user <username> [--recursive] [--dry-run] [--again]``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from sessions_app.services.bulk_import import ImportRefused, check_member, import_folder, media_files


class Command(BaseCommand):
    help = (
        "Import every video and image file of a folder into a project as one of its members (whose role must "
        "allow recording), as uploads are: each file's content is checked and the storage quota applies; a "
        "file refused is reported and the rest go on. Files already in the project (same name and size) are "
        "skipped unless --again. Prints one line per file and a summary."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)
        parser.add_argument("--project", required=True, type=int, help="the project's id")
        parser.add_argument("--user", required=True, help="the member the sessions are made by (username)")
        parser.add_argument("--recursive", action="store_true", help="include sub-folders")
        parser.add_argument("--dry-run", action="store_true", help="check and list, store nothing")
        parser.add_argument("--again", action="store_true", help="import files already imported once more")

    def handle(self, *args, folder: Path, project: int, user: str, **options):
        member = get_user_model().objects.filter(username=user, is_active=True).first()
        if member is None:
            raise CommandError(f"No active user named {user!r}.")
        try:
            check_member(member, project)
            files, others = media_files(folder, options["recursive"])
        except ImportRefused as exc:
            raise CommandError(str(exc)) from None
        counts: Counter[str] = Counter()
        outcomes = import_folder(
            member,
            project,
            folder,
            recursive=options["recursive"],
            dry_run=options["dry_run"],
            again=options["again"],
        )
        for outcome in outcomes:
            counts[outcome.result] += 1
            shown = outcome.path.relative_to(folder)
            line = f"{outcome.result:<12} {shown}" + (f": {outcome.message}" if outcome.message else "")
            self.stdout.write(self.style.ERROR(line) if outcome.result == "refused" else line)
        done = "would import" if options["dry_run"] else "imported"
        summary = (
            f"{counts[done]} {done}, {counts['refused']} refused, {counts['skipped']} already imported "
            f"(of {len(files)} video or image files"
            + (f"; {others} other files passed over" if others else "")
            + f") into project {project}"
        )
        self.stdout.write(summary)
