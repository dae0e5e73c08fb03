"""The Study page in Chromium through Daphne: a viewer's page draws the bars with their intervals per
condition, a line per participant across sessions and the event-locked band, from the API's figures, with
no edit control and nothing the Content-Security-Policy refuses."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import chromium_page, log_in
from projects.models import Membership
from sessions_app.models import Marker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_viewer_sees_the_comparison_charts(study, user, password, daphne_server):
    rng = np.random.default_rng(2)
    s1 = study.add_session("first", 6, 5, rng, ["P01", "P02", "P03"])
    s2 = study.add_session("second", 6, 5, rng, ["P01", "P02", "P03"])
    study.condition("rest", (s1, None, None))
    study.condition("task", (s2, None, None))
    Marker.objects.create(session=s1, author=study.owner, time=3.1, note="beep")
    Membership.objects.create(project=study.project, user=user, role="viewer")
    project = study.project.pk
    errors: list[str] = []
    with chromium_page(errors=errors) as page:
        log_in(page, daphne_server, user.username, password)
        page.goto(f"{daphne_server}/projects/{project}/study/")
        page.wait_for_selector("#study-compare[data-ready='1']")
        assert page.locator("form[action$='/study/edit/']").count() == 0  # a viewer: no edit control
        api = page.request.get(f"{daphne_server}/api/projects/{project}/study/comparison/?conditions=rest,task"
                               "&measures=angry&baseline=0&all=0").json()  # fmt: skip
        for cond in api["conditions"]:
            bar = page.locator(f"#chart-bars g.cond[data-condition='{cond['condition']}']")
            assert float(bar.locator("rect.study-bar").get_attribute("data-mean")) == pytest.approx(
                cond["across"]["angry"]["mean"], abs=1e-9
            )
            assert bar.locator("line.study-ci").count() == 1
            assert f"n={cond['n_participants']}" in bar.text_content()
        assert page.locator("#chart-lines g.participant").count() == 3
        assert page.locator("#chart-lines circle.study-dot").count() == 6  # three people in two sessions
        assert page.locator("#chart-events path.study-band").count() == 1
        assert page.inner_text("#compare-status") == ""
    assert not errors, errors
