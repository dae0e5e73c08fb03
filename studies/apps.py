from __future__ import annotations

from django.apps import AppConfig


class StudiesConfig(AppConfig):
    """Studies in a project: participant codes, conditions, baselines, comparisons and their exports."""

    name = "studies"
    verbose_name = "Studies"
