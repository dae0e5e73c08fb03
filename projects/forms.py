"""Forms of the project pages; numbers are parsed by Django's fields (never ``str.isdigit`` + ``int``)."""

from __future__ import annotations

from django import forms

DAYS_ERROR = "Give the number of days as a whole number, or leave it empty."


class RetentionForm(forms.Form):
    # the range is the service's rule (projects.services.check_retention_days), with its own message
    retention_days = forms.IntegerField(required=False, error_messages={"invalid": DAYS_ERROR})
    retention_keep_results = forms.BooleanField(required=False)


def first_error(form: forms.Form) -> str:
    return next((e for errors in form.errors.values() for e in errors), "Check the form.")
