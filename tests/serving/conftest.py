"""The serving tests meet the web tier as users run it: ``web_stack`` is ``scripts/run.sh`` on plain HTTP
(its Daphne under its supervisor, and its workers), on the test database and Redis, started once for the
package. Tests that create rows it must see use ``django_db(transaction=True)``; ``daphne_process`` gives
the Daphne process to read its memory from.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.runstack import RunSh, stack_env


@pytest.fixture(scope="session")
def web_stack(service_env, tmp_path_factory) -> Iterator[RunSh]:
    tmp = tmp_path_factory.mktemp("serving")
    stack = RunSh(stack_env(service_env, tmp), tmp / "run.log")
    yield stack
    stack.stop()
