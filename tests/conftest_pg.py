"""pytest plugin: a real PostgreSQL server for the session (see tests/pg_server.py).

Enable it from tests/conftest.py with `pytest_plugins = ["tests.conftest_pg"]`.
Fixtures: `postgres_server` (the PostgresServer) and `postgres_dsn`
(`postgresql://segpipe@127.0.0.1:PORT/segpipe`). When no server can be started
the tests using them are skipped with the reason; set
SEGPIPE_REQUIRE_POSTGRES=1 to make that a failure instead.
"""

from __future__ import annotations

import os

import pytest

from tests.pg_server import PostgresServer, ServerUnavailable


@pytest.fixture(scope="session")
def postgres_server():
    server = PostgresServer()
    try:
        server.start()
    except ServerUnavailable as exc:
        if os.environ.get("SEGPIPE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL test server unavailable: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL test server unavailable: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_dsn(postgres_server) -> str:
    return postgres_server.dsn
