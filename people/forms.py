"""Forms for the people and privacy pages and the admin's face naming: ids and numbers are parsed by
Django's fields, never by ``str.isdigit`` + ``int`` ("²".isdigit() is true, int("²") raises), and ids
are looked up only among the objects the user may reach."""

from __future__ import annotations

from typing import Any

from django import forms

from people.selectors import visible_people
from people.services import NAME_MAX
from projects.access import Action

SPLIT_ERROR = "Choose one of this person's tracks to split off."
MERGE_ERROR = "Choose the person to keep and the person to merge into them."
PICK_ERROR = "Pick exactly two people to merge."


def first_error(form: forms.Form) -> str:
    return next((e for errors in form.errors.values() for e in errors), "Check the form.")


def _choice(message: str) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(queryset=None, error_messages={"required": message, "invalid_choice": message})


class SplitForm(forms.Form):
    """One or several of ``person``'s tracks (any other id is invalid)."""

    track = forms.ModelMultipleChoiceField(
        queryset=None,
        error_messages={k: SPLIT_ERROR for k in ("required", "invalid_choice", "invalid_pk_value", "invalid_list")},
    )

    def __init__(self, person: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["track"].queryset = person.tracks.all()


class MergeForm(forms.Form):
    keep = _choice(MERGE_ERROR)
    other = _choice(MERGE_ERROR)

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["keep"].queryset = self.fields["other"].queryset = visible_people(user, Action.PEOPLE)


class MergePickForm(forms.Form):
    """Two people picked in the face grid (which stays is chosen on the confirmation page)."""

    pick = forms.ModelMultipleChoiceField(
        queryset=None,
        error_messages={k: PICK_ERROR for k in ("required", "invalid_choice", "invalid_pk_value", "invalid_list")},
    )

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pick"].queryset = visible_people(user, Action.PEOPLE)

    def clean_pick(self) -> list[Any]:
        picked = list(self.cleaned_data["pick"])
        if len(picked) != 2:
            raise forms.ValidationError(PICK_ERROR)
        return picked


class NameFacesForm(forms.Form):
    """One optional name per face shown on the admin's naming page (fields ``name_<person pk>``)."""

    def __init__(self, people: list[Any], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.people = {f"name_{p.pk}": p for p in people}
        for key in self.people:
            self.fields[key] = forms.CharField(required=False, max_length=NAME_MAX)

    def names(self) -> list[tuple[Any, str]]:
        return [(p, self.cleaned_data[key]) for key, p in self.people.items() if self.cleaned_data.get(key)]


class SuggestionAnswerForm(forms.Form):
    """The owner's answer to "possibly the same person": merge them, or remember they are different."""

    CONFIRM, REJECT = "confirm", "reject"
    answer = forms.ChoiceField(choices=[(CONFIRM, "Confirm (merge)"), (REJECT, "Not the same")])
