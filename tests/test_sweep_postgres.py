"""The sweep's reliability scenarios against a real PostgreSQL server.

The server's URL comes from HIVLATENT_TEST_POSTGRES_URL (CI: postgresql+psycopg2://postgres@
127.0.0.1:55432/postgres). In CI (CI=true) a missing URL is a failure, never a skip; locally the
tests are skipped. Every test uses a study name of its own, so reruns never collide.
"""

from __future__ import annotations

import os
import uuid

import pytest

from test_sweep import killed_worker_scenario, small, two_workers_scenario  # noqa: F401

URL = os.environ.get("HIVLATENT_TEST_POSTGRES_URL", "")


@pytest.fixture
def pg_url() -> str:
    if not URL:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI=true but HIVLATENT_TEST_POSTGRES_URL is not set: the sweep's "
                        "PostgreSQL tests must run in CI")
        pytest.skip("set HIVLATENT_TEST_POSTGRES_URL to run the PostgreSQL sweep tests")
    return URL


def _study(tag: str) -> str:
    return f"test-{tag}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(autouse=True)
def one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_postgres_storage_is_reachable_and_errors_are_one_line(pg_url):
    from hivlatent.errors import ConfigError
    from hivlatent.sweep import SearchLock, open_storage
    from hivlatent.sweep.storage import open_storage_locked

    open_storage(pg_url)
    lock = SearchLock(pg_url, _study("lock"))
    with lock, lock:                      # re-entrant within one worker
        pass
    lock.close()
    bad = pg_url.rsplit("/", 1)[0] + "/no_such_database_" + uuid.uuid4().hex[:6]
    for opener in (open_storage, open_storage_locked):
        with pytest.raises(ConfigError, match=r"cannot open the database") as err:
            opener(bad)
        assert "\n" not in str(err.value)
    refused = "postgresql+psycopg2://postgres:secret@127.0.0.1:1/postgres"
    with pytest.raises(ConfigError, match=r"127.0.0.1:1/postgres: cannot open the database") as err:
        open_storage_locked(refused)
    assert "secret" not in str(err.value) and "\n" not in str(err.value)


def test_two_workers_share_one_postgres_study(small, tmp_path, pg_url):  # noqa: F811
    # the --workers (spawn) path does not depend on the database: tested on SQLite only
    two_workers_scenario(small, tmp_path, pg_url, _study("two"), spawn=False)


def test_killed_worker_leaves_a_usable_postgres_study(small, tmp_path, pg_url):  # noqa: F811
    killed_worker_scenario(small, tmp_path, pg_url, _study("kill"))


def test_a_bare_postgresql_url_opens_with_the_installed_driver(pg_url):
    """The README's form, postgresql://, works whichever driver SQLAlchemy defaults to."""
    from sqlalchemy.engine import make_url

    from hivlatent.sweep import SearchLock, open_storage

    bare = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    assert bare.startswith("postgresql://")
    open_storage(bare)
    lock = SearchLock(bare, _study("bare"))
    with lock:
        pass
    lock.close()
