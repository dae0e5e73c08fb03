from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm


class SignUpForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ("username",)


class SuggestionAnswerForm(forms.Form):
    """The owner's answer to "possibly the same person": merge them, or remember they are different."""

    CONFIRM, REJECT = "confirm", "reject"
    answer = forms.ChoiceField(choices=[(CONFIRM, "Confirm (merge)"), (REJECT, "Not the same")])
