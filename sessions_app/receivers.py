"""What sessions_app adds to the lower rooms' pages, through their signals."""

from __future__ import annotations

from typing import Any


def project_storage(sender: Any, project: Any, **kwargs: Any) -> dict[str, Any]:
    """The project page shows the project's storage use (projects.signals.project_page)."""
    from sessions_app.services import storage_quota

    return {"storage": storage_quota.usage(project.pk)}
