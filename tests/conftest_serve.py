"""pytest plugin: one `segpipe serve` process for the session, with tokens (tests/serve_server.py).

The project is tests/datasets.py's (workspaces 1, 2 and 3, global and
workspace segments, SPEC edge cases) plus a segment of workspace 2 and one more
of workspace 1, built once with `--as-of 2025-01-31`.
"""

from __future__ import annotations

import pytest
import yaml

from tests import datasets
from tests.conftest import make_project, run_segpipe
from tests.serve_server import ServeProcess

AS_OF = "2025-01-31"
SEGMENTS = [*datasets.SEGMENTS,
            {"id": 8, "name": "Workspace 2 CMOs", "workspace_id": 2, "filters": {"roles": ["CMO"]}},
            {"id": 9, "name": "Acme founders", "workspace_id": 1, "filters": {"roles": ["Founder", "CEO"]}}]
TOKENS = {"tok-all": "all", "tok-ws1": [1], "tok-ws2": [2], "tok-ws12": [1, 2]}
#: token → the workspace ids it sees (None: all)
SCOPES = {token: None if value == "all" else set(value) for token, value in TOKENS.items()}


@pytest.fixture(scope="session")
def served_project(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("served"), leads=datasets.LEADS, campaigns=datasets.CAMPAIGNS,
                        campaign_leads=datasets.SENDS, segments=SEGMENTS)
    built = run_segpipe("run", "--project-dir", root, "--as-of", AS_OF)
    assert built.returncode == 0, built.stderr
    (root / "tokens.yml").write_text(yaml.safe_dump(TOKENS))
    return root


@pytest.fixture(scope="session")
def server(served_project, tmp_path_factory):
    """The shared server: the project above, `--tokens tokens.yml`."""
    process = ServeProcess("--project-dir", served_project, "--tokens", served_project / "tokens.yml",
                           log_dir=tmp_path_factory.mktemp("serve-log"))
    try:
        yield process
    finally:
        process.stop()
