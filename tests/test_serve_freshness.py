"""Freshness under load: `segpipe run` publishes while clients keep asking (SPEC §10).

Four client threads loop on top-segments for ~20 s while five runs publish
changed data. Every answer must be 200 and equal one published state (never a
mix), each new state must be served within 1 s of its run finishing, and every
run must succeed. Loopback only; the time bound is the test's length, not a
measurement.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests import datasets
from tests.conftest import SEND_COLUMNS, make_project, run_segpipe, write_csv
from tests.serve_server import ServeProcess, get

AS_OF = "2025-01-31"
QUERY = f"/api/dashboard/top-segments?as_of={AS_OF}&days=31&min_sent=0&limit=100"
#: sends in the window that did not reply; state k makes the first k of them replies
UNREPLIED = [send["id"] for send in datasets.SENDS if send["sent"] and not send["replied"]
             and send["id"] in (2, 3, 7, 9, 10, 13)]
RUNS, CLIENTS, PAUSE = 5, 4, 2.5


def write_state(root, k: int) -> None:
    flipped = set(UNREPLIED[:k])
    rows = [{**send, "replied": send["replied"] or send["id"] in flipped} for send in datasets.SENDS]
    write_csv(root / "seeds" / "campaign_leads.csv", SEND_COLUMNS, rows)


def cli_state(root) -> dict:
    done = run_segpipe("top", "--project-dir", root, "--as-of", AS_OF, "--days", 31, "--min-sent", 0,
                       "--limit", 100, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def fresh_server(tmp_path):
    root = make_project(tmp_path / "project", leads=datasets.LEADS, campaigns=datasets.CAMPAIGNS,
                        campaign_leads=datasets.SENDS, segments=datasets.SEGMENTS)
    assert run_segpipe("run", "--project-dir", root, "--as-of", AS_OF).returncode == 0
    server = ServeProcess("--project-dir", root, log_dir=tmp_path)
    try:
        yield root, server
    finally:
        server.stop()


def test_publishes_are_served_within_a_second_and_no_request_fails(fresh_server):
    root, server = fresh_server
    states = [cli_state(root)]
    answers: list[tuple[float, int, object]] = []  # (started, status, body)
    stop = threading.Event()

    def client():
        while not stop.is_set():
            started = time.monotonic()
            try:
                status, _, body = get(server.base_url + QUERY, timeout=10)
            except OSError as exc:  # a refused or reset connection is a failed request too
                status, body = 0, repr(exc)
            answers.append((started, status, body))

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    published, run_started = [], []
    try:
        for k in range(1, RUNS + 1):
            time.sleep(PAUSE)
            write_state(root, k)
            run_started.append(time.monotonic())
            # --full-refresh: the changed sends are older than an incremental run's lookback
            done = run_segpipe("run", "--project-dir", root, "--as-of", AS_OF, "--full-refresh")
            published.append(time.monotonic())
            assert done.returncode == 0, done.stderr
            states.append(cli_state(root))
        time.sleep(PAUSE)
    finally:
        stop.set()
        for thread in threads:
            thread.join()

    assert len({json.dumps(s, sort_keys=True) for s in states}) == RUNS + 1, "each run should change the ranking"
    failed = [(status, body) for _, status, body in answers if status != 200]
    assert failed == [] and len(answers) > 100
    unknown = [body for _, _, body in answers if body not in states]
    assert unknown == [], "an answer matched no published state"
    for k, at in enumerate(published, 1):
        until = run_started[k] if k < RUNS else float("inf")
        late = [states.index(body) for started, _, body in answers if at + 1.0 <= started < until and body != states[k]]
        assert late == [], f"state {k} was not served 1 s after its publish: got states {sorted(set(late))}"
        assert any(at + 1.0 <= started < until for started, _, _ in answers), f"no request checked state {k}"


def test_a_publish_first_seen_locked_is_served_once_the_lock_is_gone(fresh_server):
    """A process holding the freshly published file open read-write (the duckdb CLI's
    default) makes serve keep the old snapshot; once it lets go, the new run is served
    within a second, not only after yet another publish."""
    import duckdb

    root, server = fresh_server
    old = cli_state(root)
    assert get(server.base_url + QUERY)[2] == old
    write_state(root, 1)
    assert run_segpipe("run", "--project-dir", root, "--as-of", AS_OF, "--full-refresh").returncode == 0
    new = cli_state(root)
    assert new != old
    holder = duckdb.connect(str(root / "out.duckdb"))  # an exclusive lock on the new file
    try:
        status, _, body = get(server.base_url + QUERY)
        assert (status, body) == (200, old)  # the locked file cannot be attached yet: the old one is served
    finally:
        holder.close()
    time.sleep(1.0)
    assert get(server.base_url + QUERY)[2] == new
