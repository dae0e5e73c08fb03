"""REST API and replay-page actions for summaries: list, create, read, cancel; another user's ids → 404."""

from __future__ import annotations

import pytest

from summaries.models import Summary
from summaries.services import run_summary

pytestmark = pytest.mark.django_db


def _url(session_id, summary_id=None, suffix=""):
    base = f"/api/sessions/{session_id}/summaries/"
    return base + (f"{summary_id}/" if summary_id else "") + suffix


def test_api_create_list_read_cancel(api, summary_session, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        r = api.post(_url(summary_session.pk), {"backend": "heuristic"}, format="json")
    assert r.status_code == 201, r.content
    assert len(callbacks) == 1
    body = r.json()
    assert body["status"] == "queued" and body["backend"] == "heuristic" and body["requested_by"] == user.username
    first = body["id"]
    assert run_summary(first) == "done"
    with django_capture_on_commit_callbacks(execute=False):
        second = api.post(_url(summary_session.pk), {"backend": "heuristic"}, format="json").json()["id"]

    listed = api.get(_url(summary_session.pk)).json()
    assert [s["id"] for s in listed] == [second, first]  # every summary is kept, newest first
    one = api.get(_url(summary_session.pk, first)).json()
    assert one["status"] == "done" and one["text"].startswith("00:12.0 of video") and one["finished"]

    r = api.post(_url(summary_session.pk, second, "cancel/"))
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = api.post(_url(summary_session.pk, first, "cancel/"))
    assert r.status_code == 400 and r.json()["detail"] == "This summary is already done."


def test_api_refusals(api, summary_session):
    r = api.post(_url(summary_session.pk), {"backend": "nope"}, format="json")
    assert r.status_code == 400 and "heuristic" in r.json()["detail"]
    r = api.post(_url(summary_session.pk), {"backend": "remote"}, format="json")
    assert r.status_code == 400 and r.json()["detail"]  # the reason the backend is unavailable
    assert api.get(_url(summary_session.pk, 999999)).status_code == 404
    assert not Summary.objects.exists()


def test_other_users_session_is_404(other_api, summary_session, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        mine = Summary.objects.create(session=summary_session, requested_by=user, backend="heuristic")
        assert other_api.get(_url(summary_session.pk)).status_code == 404
        assert other_api.post(_url(summary_session.pk), {"backend": "heuristic"}, format="json").status_code == 404
        assert other_api.get(_url(summary_session.pk, mine.pk)).status_code == 404
        assert other_api.post(_url(summary_session.pk, mine.pk, "cancel/")).status_code == 404
    assert list(Summary.objects.values_list("pk", "status")) == [(mine.pk, "queued")]


def test_api_says_when_a_summary_predates_a_merge(api, summary_session, user):
    """The page's "made before people changed" note, through the API: a merge after a finished summary
    flags it (with the time of the change); a summary made after the merge is not flagged."""
    from people.services import merge_people

    def listed() -> dict[int, tuple]:
        rows = api.get(_url(summary_session.pk)).json()
        return {s["id"]: (s["made_before_people_changed"], s["people_changed_at"]) for s in rows}

    old = Summary.objects.create(session=summary_session, requested_by=user, backend="heuristic")
    assert run_summary(old.pk) == "done"
    assert listed() == {old.pk: (False, None)}
    merge_people(summary_session.alice, summary_session.other, actor=user)
    summary_session.refresh_from_db()
    changed = summary_session.people_changed_at.isoformat()
    assert listed() == {old.pk: (True, changed)}
    assert api.get(_url(summary_session.pk, old.pk)).json()["made_before_people_changed"] is True
    new = Summary.objects.create(session=summary_session, requested_by=user, backend="heuristic")
    assert run_summary(new.pk) == "done"
    assert listed() == {old.pk: (True, changed), new.pk: (False, changed)}


def test_anonymous_is_refused(client, summary_session):
    assert client.get(_url(summary_session.pk)).status_code in (401, 403)


def test_schema_lists_summary_endpoints(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/sessions/{session_id}/summaries/"])
    assert "get" in paths["/api/sessions/{session_id}/summaries/{summary_id}/"]
    assert "post" in paths["/api/sessions/{session_id}/summaries/{summary_id}/cancel/"]
    fields = schema["components"]["schemas"]["Summary"]["properties"]
    flag = fields["made_before_people_changed"]
    assert flag["type"] == "boolean" and "merged" in flag["description"]
    assert fields["people_changed_at"]["format"] == "date-time" and fields["people_changed_at"]["nullable"] is True


# --------------------------------------------------------------------------- the replay page
def test_page_lists_summaries_and_posts(client, user, other_user, summary_session, django_capture_on_commit_callbacks):
    client.force_login(user)
    done = Summary.objects.create(
        session=summary_session, requested_by=user, backend="heuristic", status="done", text="<b>x</b> at 00:08"
    )
    page = client.get(summary_session.get_absolute_url()).content.decode()
    assert 'id="summaries"' in page and f'data-id="{done.pk}"' in page
    assert "&lt;b&gt;x&lt;/b&gt; at 00:08" in page and "<b>x</b>" not in page  # text escaped, times linked in JS
    assert '<option value="heuristic">Heuristic</option>' in page
    assert '<option value="remote" disabled>' in page  # no remote settings: shown disabled, with the reason
    assert '<li data-backend="remote">Remote LLM: ' in page and 'href="/settings/llm/"' in page

    with django_capture_on_commit_callbacks(execute=False):
        r = client.post(f"/sessions/{summary_session.pk}/summaries/", {"backend": "heuristic"})
    assert r.status_code == 302 and r["Location"].endswith("#summaries")
    queued = Summary.objects.exclude(pk=done.pk).get()
    assert queued.status == "queued"
    r = client.post(f"/sessions/{summary_session.pk}/summaries/", {"backend": "remote"}, follow=True)
    assert r.status_code == 200 and Summary.objects.count() == 2  # refused, with a message on the page
    r = client.post(f"/sessions/{summary_session.pk}/summaries/{queued.pk}/cancel/")
    assert r.status_code == 302 and Summary.objects.get(pk=queued.pk).status == "cancelled"

    client.force_login(other_user)
    assert client.post(f"/sessions/{summary_session.pk}/summaries/", {"backend": "heuristic"}).status_code == 404
    assert client.post(f"/sessions/{summary_session.pk}/summaries/{done.pk}/cancel/").status_code == 404
    assert Summary.objects.count() == 2
