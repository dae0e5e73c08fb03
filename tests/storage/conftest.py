"""The storage tests reuse the sessions tests' shared-media fixture (skips without the data folder)."""

from tests.sessions.conftest import media_dir  # noqa: F401 - a fixture
