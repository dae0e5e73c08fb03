from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from audit import services as audit


@login_required
def audit_log(request):
    # person_merge: the merge an entry recorded, when it was one (people.PersonMerge), for its undo button
    entries = audit.entries_for(request.user).select_related("person_merge", "project")[:500]
    return render(request, "audit/log.html", {"entries": entries})
