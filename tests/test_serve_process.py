"""`segpipe serve` as a process: what it says at start, where it listens, errors it cannot answer in JSON."""

from __future__ import annotations

import shutil
import time

import duckdb
import pytest

from tests.conftest import run_segpipe
from tests.conftest_serve import AS_OF
from tests.serve_server import ServeProcess, get


def test_without_tokens_it_listens_on_loopback_and_says_so(served_project, tmp_path):
    server = ServeProcess("--project-dir", served_project, log_dir=tmp_path)
    try:
        log = server.log()
        assert f"at http://127.0.0.1:{server.port}/" in log
        assert "No --tokens: every request sees every workspace, so serve listens on this machine only" in log
        assert f"Uvicorn running on http://127.0.0.1:{server.port}" in log
        status, _, body = get(f"{server.base_url}/api/dashboard/top-segments?as_of={AS_OF}")
        assert status == 200 and body["segments"]  # no token needed without --tokens
    finally:
        server.stop()


LOOPBACK_ONLY = ("without --tokens, serve answers only requests to localhost, *.localhost, 127.x.x.x or [::1] (any "
                 "port): another host name pointing here may be a web page's DNS rebinding; open it by one of those "
                 "names, or start serve with --tokens")


def test_without_tokens_it_answers_only_this_machines_host_names(served_project, tmp_path):
    """DNS rebinding: a page on evil.example that points its own name at 127.0.0.1 could read a
    loopback serve from the user's browser, which still sends `Host: evil.example`. Every worker
    (the setting reaches them through the environment) answers it 403; this machine's names pass."""
    server = ServeProcess("--project-dir", served_project, "--workers", "2", log_dir=tmp_path)
    try:
        assert "answers only requests to localhost, *.localhost, 127.x.x.x or [::1]" in server.log()
        url, port = f"{server.base_url}/api/dashboard/top-segments?as_of={AS_OF}", server.port
        for host in (f"localhost:{port}", f"127.0.0.1:{port}", "127.0.0.1", "LOCALHOST", "127.1.2.3:80",
                     f"[::1]:{port}", "[::1]", f"dashboard.localhost:{port}", "a.b.LOCALHOST", "localhost."):
            assert get(url, headers={"Host": host})[0] == 200, host
        for host in ("evil.example", f"evil.example:{port}", "localhost.evil.example", "127.0.0.1.evil.example",
                     "[::2]", "", "evillocalhost", "localhost.localhost.evil.example", *["evil.example"] * 4):
            status, headers, body = get(url, headers={"Host": host})
            assert (status, body) == (403, {"detail": LOOPBACK_ONLY}), host
            assert headers["x-content-type-options"] == "nosniff"  # through the access log's middleware
        assert get(server.base_url + "/", headers={"Host": "evil.example"})[0] == 403  # the widget's page too
        assert '"GET /api/dashboard/top-segments?as_of=2025-01-31 HTTP/1.1" 403' in server.log()
    finally:
        server.stop()


def test_with_tokens_any_host_name_is_answered(server):
    """The token protects the API (a rebinding page has none), so a proxy's own host name is fine."""
    url = f"{server.base_url}/api/segments"
    assert get(url, "tok-all", headers={"Host": "dashboard.example"})[0] == 200
    assert get(url, headers={"Host": "dashboard.example"})[0] == 401


def test_workers_are_processes_that_each_answer(served_project, tmp_path):
    server = ServeProcess("--project-dir", served_project, "--workers", "2", log_dir=tmp_path)
    try:
        answers = [get(f"{server.base_url}/api/dashboard/top-segments?as_of={AS_OF}") for _ in range(6)]
        assert {status for status, _, _ in answers} == {200} and len({str(body) for _, _, body in answers}) == 1
        assert "2 workers" in server.log()
        deadline = time.monotonic() + 20  # the second worker may still be starting
        while server.log().count("Started server process") < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert server.log().count("Started server process") == 2
    finally:
        server.stop()


def test_an_unexpected_error_is_a_one_line_500_and_a_logged_traceback(served_project, tmp_path):
    broken = tmp_path / "broken.duckdb"
    shutil.copyfile(served_project / "out.duckdb", broken)
    with duckdb.connect(str(broken)) as con:
        con.execute("ALTER TABLE main.segments ALTER filters TYPE VARCHAR")
        con.execute("UPDATE main.segments SET filters = '{not json'")
    server = ServeProcess("--project-dir", served_project, "--db", broken, log_dir=tmp_path)
    try:
        status, _, body = get(server.base_url + "/api/segments")
        assert (status, body) == (500, {"detail": "unexpected JSONDecodeError — the server log has the details"})
        log = server.log()
        assert "Traceback (most recent call last)" in log and "json.decoder.JSONDecodeError" in log
        assert get(server.base_url + "/api/dashboard/top-segments")[0] == 200  # the server goes on
    finally:
        server.stop()


def test_before_the_first_run_it_answers_503_then_serves_what_a_run_publishes(served_project, tmp_path):
    server = ServeProcess("--project-dir", served_project, "--db", tmp_path / "later.duckdb", log_dir=tmp_path)
    try:
        assert "Warning: no published database at" in server.log()
        status, _, body = get(server.base_url + "/healthz")
        assert status == 503 and body["status"] == "unavailable"
        status, _, body = get(server.base_url + "/api/segments")
        assert (status, body) == (503, {"detail": f"no published database at {tmp_path / 'later.duckdb'} — "
                                                  "run `segpipe run` first"})
        built = run_segpipe("run", "--project-dir", served_project, "--db", tmp_path / "later.duckdb", "--as-of", AS_OF)
        assert built.returncode == 0, built.stderr
        assert get(server.base_url + "/api/segments")[0] == 200
        assert get(server.base_url + "/healthz")[2]["status"] == "ok"
    finally:
        server.stop()


def test_healthz_tells_a_stranger_no_server_path(served_project, tmp_path):
    """/healthz needs no token; with --tokens, its 503 names the missing file only to a known token."""
    tokens = tmp_path / "tokens.yml"
    tokens.write_text("tok-all: all\n")
    server = ServeProcess("--project-dir", served_project, "--db", tmp_path / "later.duckdb", "--tokens", tokens,
                          log_dir=tmp_path)
    try:
        status, _, body = get(server.base_url + "/healthz")
        assert status == 503 and body["status"] == "unavailable" and str(tmp_path) not in body["detail"]
        status, _, body = get(server.base_url + "/healthz", "tok-all")
        assert status == 503 and str(tmp_path / "later.duckdb") in body["detail"]
    finally:
        server.stop()


@pytest.mark.parametrize("content,line", [
    ("tok: [1, x]", "--tokens: {path}:1: token 'tok…' must map to a list of workspace ids (integers) or to 'all', got [1, 'x']"),
    # the token's own line; a mapping is shown as written; a workspace id past 64 bits is refused
    ("ok: all\ntok:\n  a: 1", "--tokens: {path}:2: token 'tok…' must map to a list of workspace ids (integers) or to "
                             "'all', got {{'a': 1}}"),
    ("ok: all\n\ntok: [1, 99999999999999999999]", "--tokens: {path}:3: token 'tok…' must map to a list of workspace ids "
                                                 "(integers) or to 'all', got [1, 99999999999999999999]"),
    ("tok: [\xe9]", "--tokens: {path}:1:7: the tokens file is not UTF-8 text (byte 0xe9) — save it as UTF-8"),
    # a token YAML reads as a number is shown as every token is, its first four characters only
    ("ok: all\n1234567890: [1]", "--tokens: {path}: a token must be a string, but the one beginning '1234' reads as "
                                "int: put it in quotes"),
    ("ok: all\n'': [1]", "--tokens: {path}:2: a token must be a non-empty string, got an empty one"),
    ("- tok", "--tokens: {path} must map each token to a list of workspace ids or to 'all', e.g. 'sk_team_a: [1]'"),
    ("tok: [1", "--tokens: {path}:2: invalid YAML in the tokens file: did not find expected ',' or ']'"),
    # a token written twice is refused, not granted its last line's scope; the message hides it
    ("sk_team_a: [1]\nsk_other: [2]\nsk_team_a: all", "--tokens: {path}:3: invalid YAML in the tokens file: "
                                                      "the key 'sk_t…' is written twice (first on line 1); keep one of them"),
])
def test_a_bad_tokens_file_is_one_line(served_project, tmp_path, content, line):
    path = tmp_path / "tokens.yml"
    path.write_bytes(content.encode("latin-1"))
    done = run_segpipe("serve", "--project-dir", served_project, "--tokens", path, "--port", "1")
    assert (done.returncode, done.stderr, done.stdout) == (2, f"Error: {line.format(path=path)}\n", "")


def test_a_port_in_use_is_a_one_line_usage_error(served_project):
    """SPEC §7: an error is one line on stderr and a usage or configuration error exits 2
    (uvicorn alone logs five lines and exits 3)."""
    import errno
    import os
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_segpipe("serve", "--project-dir", served_project, "--port", port, timeout=30)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"Error: cannot listen on 127.0.0.1:{port}: {os.strerror(errno.EADDRINUSE)}\n"


def test_a_host_that_does_not_resolve_is_a_one_line_usage_error(served_project):
    done = run_segpipe("serve", "--project-dir", served_project, "--host", "no-such-host.invalid", "--port", 1,
                       timeout=30)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("Error: cannot listen on no-such-host.invalid:1: ") and done.stderr.count("\n") == 1


@pytest.mark.parametrize("content,line,character", [
    ("ok: all\nsk_t\u00ebam: [1]\n", 2, "a non-ASCII character (U+00EB) at character 5"),
    ('ok: all\n\n"sk team": [1]\n', 3, "a space at character 3"),
    ('"sk\\tteam": all\n', 1, "a tab at character 3"),
    ('ok: all\n"sk_team\\x07": all\n', 2, "a control character (U+0007) at character 8"),
    ("sk_team_a\u200b: [1]\n", 1, "a non-ASCII character (U+200B) at character 10"),  # pasted with a zero-width space
])
def test_a_token_a_header_cannot_carry_is_refused_at_start(served_project, tmp_path, content, line, character):
    """A browser refuses to send such a token (fetch throws), curl sends bytes no token matches:
    serve would start and then answer 401 to a token the file grants. The message names its line."""
    path = tmp_path / "tokens.yml"
    path.write_text(content, encoding="utf-8")
    done = run_segpipe("serve", "--project-dir", served_project, "--tokens", path, "--port", "1")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (f"Error: --tokens: {path}:{line}: the token has {character}, which an 'Authorization: "
                           "Bearer' header cannot carry; use printable ASCII only (letters, digits, punctuation, "
                           "no spaces), e.g. 'sk_team_a_5f2c9e'\n")
