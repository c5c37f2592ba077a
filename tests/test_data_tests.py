"""Data tests declared in models/*.yml: the send-time warning the SPEC asks for, and `config`."""

from __future__ import annotations

import re

from tests.conftest import make_project
from tests.datasets import CAMPAIGNS, LEADS, SEGMENTS, SENDS

AS_OF = ("--as-of", "2025-01-31")


def warning_count(stdout: str, test: str) -> int | None:
    """The failing-row count of a WARN line, None when the test passed."""
    for line in stdout.splitlines():
        if re.match(rf"(PASS|WARN)\s+test\s+{test}\s", line):
            match = re.search(r"(\d+) failing rows?\b", line)
            return int(match.group(1)) if line.startswith("WARN") else None
    raise AssertionError(f"{test} not run:\n{stdout}")


def test_sends_without_a_send_time_are_counted_in_a_warning(tmp_path, cli):
    campaign_time = {c["id"]: c["sent_at"] for c in CAMPAIGNS}
    sends = [*SENDS, {**SENDS[-1], "id": 99, "campaign_id": 30, "sent_at": None, "sent": False}]  # not a send
    expected = sum(1 for s in sends if s["sent"] and s["sent_at"] is None and campaign_time[s["campaign_id"]] is None)
    assert expected == 1  # send 12: its campaign has no time either
    root = make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=sends, segments=SEGMENTS)

    result = cli("run", "--project-dir", root, *AS_OF)
    assert result.exit_code == 0, result.stderr
    assert warning_count(result.stdout, "sends_without_a_send_time") == expected
    assert ", 1 warning in " in result.stdout.splitlines()[-1]


def checks_project(tmp_path, test_config: str):
    root = make_project(tmp_path / "p", leads=LEADS, segments=SEGMENTS)
    (root / "models" / "checks.sql").write_text("select * from (values (1, null), (2, 5)) as t(id, v)\n")
    (root / "models" / "checks.yml").write_text(
        "models:\n  - name: checks\n    columns:\n      - name: v\n"
        f"        tests:\n          - not_null: {{config: {test_config}}}\n")
    return root


def test_where_limits_the_rows_a_test_sees(tmp_path, cli):
    passing = cli("run", "--project-dir", checks_project(tmp_path / "a", "{where: id = 2}"), *AS_OF)
    assert passing.exit_code == 0, passing.stderr
    assert warning_count(passing.stdout, "not_null_checks_v") is None

    failing = cli("run", "--project-dir", checks_project(tmp_path / "b", "{where: id >= 1}"), *AS_OF)
    assert failing.exit_code == 1
    assert failing.stderr.startswith("Error: 1 data test failed, nothing published: not_null_checks_v (1 failing row, e.g. id=1, v=NULL)")


def test_where_and_severity_together(tmp_path, cli):
    result = cli("run", "--project-dir", checks_project(tmp_path, "{severity: warn, where: id < 2}"), *AS_OF)
    assert result.exit_code == 0, result.stderr
    assert warning_count(result.stdout, "not_null_checks_v") == 1


def test_an_unknown_config_key_is_named_with_the_closest(tmp_path, cli):
    result = cli("run", "--project-dir", checks_project(tmp_path, "{whre: id = 2}"), *AS_OF)
    assert result.exit_code == 2
    assert result.stderr == ("Error: models/checks.yml:6: model checks, column v: not_null: config: "
                             "unknown key 'whre' (did you mean 'where'?)\n")


def test_where_must_be_a_condition(tmp_path, cli):
    result = cli("run", "--project-dir", checks_project(tmp_path, "{where: [1]}"), *AS_OF)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: models/checks.yml:6: model checks, column v: not_null: config.where must be a SQL condition")


def test_a_relationships_warning_is_retested_and_reported_when_nothing_changed(tmp_path, cli):
    """A relationships test reads another model: a run that skips its model tests it again; a run
    with nothing to do reports the kept warning (nothing it reads has changed)."""
    root = make_project(tmp_path / "p", leads=LEADS, segments=SEGMENTS)
    (root / "models" / "refs.sql").write_text("select * from (values (1), (999)) as t(segment_id)\n")
    (root / "models" / "refs.yml").write_text(
        "models:\n  - name: refs\n    columns:\n      - name: segment_id\n        tests:\n"
        "          - relationships: {to: ref('segments'), field: segment_id, config: {severity: warn}}\n")
    first = cli("run", "--project-dir", root, *AS_OF)
    test = next(line.split()[2] for line in first.stdout.splitlines() if line.startswith("WARN  test   relationships"))
    assert warning_count(first.stdout, test) == 1  # 999 is no segment
    leads = root / "seeds" / "leads.csv"
    leads.write_text(leads.read_text().replace("linkedin", "LinkedIn", 1))  # rebuilds the leads, not refs
    again = cli("run", "--project-dir", root, *AS_OF)
    assert re.search(r"^SKIP\s+model\s+refs\s", again.stdout, re.M)
    assert warning_count(again.stdout, test) == 1 and "not rebuilt since tested" not in again.stdout
    nothing = cli("run", "--project-dir", root, *AS_OF)
    assert warning_count(nothing.stdout, test) == 1 and "not rebuilt since tested" in nothing.stdout
    assert nothing.stdout.splitlines()[-1].startswith("Nothing to do: ")
