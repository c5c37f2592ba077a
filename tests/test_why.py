"""`segpipe why SEGMENT LEAD_ID`, run as a user runs it, against a plain-Python reading of SPEC §3.

One segment sets every rule (its workspace and all eight filter keys). Lead 1
passes them all, with values that only match after trimming and case-folding;
each other lead differs from it in one attribute and so fails exactly one rule
(or, for the STILL_PASSING leads, changes a value and still passes). What each
check should say is computed here by tests/reference.py's naive matcher, applied
to the segment cut down to that one rule.
"""

from __future__ import annotations

import json

import pytest

from tests import reference
from tests.conftest import make_project, run_segpipe

SEGMENT = {"id": 7, "name": "All rules 'quoted' -- {{ x }}", "workspace_id": 1,
           "filters": {"sources": ["LinkedIn"], "countries": ["US", "ca"], "roles": ["Founder", "CEO"],
                       "company_sizes": ["1-10"], "industries": ["SaaS"], "tags": ["webinar", "Hiring"],
                       "min_score": 60, "has_email": True}}
NO_EMAIL = {"id": 8, "name": "No email", "filters": {"has_email": False}}
PASSING = {"id": 1, "workspace_id": 1, "email": "a@x.io", "source": " linkedin", "score": 80, "country": "US ",
           "role": "FOUNDER", "company_size": "1-10", "industry": "saas", "tags": "x; Hiring"}
#: lead id → (attribute, value): the one change, and the rule it makes fail
FAILING = {
    2: ("workspace_id", 2, "workspace_id"), 3: ("source", "apollo", "sources"), 4: ("source", None, "sources"),
    5: ("country", "DE", "countries"), 6: ("role", "cmo", "roles"), 7: ("company_size", "11-50", "company_sizes"),
    8: ("industry", "fintech", "industries"), 9: ("tags", "x;funding", "tags"), 10: ("tags", None, "tags"),
    11: ("score", 59.5, "min_score"), 12: ("score", None, "min_score"), 13: ("email", "  ", "has_email"),
    14: ("email", None, "has_email"), 15: ("email", "\t\r\n", "has_email"),  # tabs and line breaks are blank too
}
STILL_PASSING = {20: ("country", "CA", None), 21: ("score", 60, None), 22: ("role", " ceo ", None)}
LEADS = [PASSING, *({**PASSING, "id": i, column: value} for i, (column, value, _) in {**FAILING, **STILL_PASSING}.items())]
RULES = ("workspace_id", "sources", "countries", "roles", "company_sizes", "industries", "tags", "min_score", "has_email")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("why") / "p", leads=LEADS, segments=[SEGMENT, NO_EMAIL])
    done = run_segpipe("run", "--as-of", "2025-01-31", cwd=root)
    assert done.returncode == 0, done.stderr
    return root


def why(root, *args) -> tuple[int, str, str]:
    done = run_segpipe("why", *map(str, args), cwd=root)
    return done.returncode, done.stdout, done.stderr


def expected_check(segment: dict, rule: str, lead: dict) -> dict:
    """The check as SPEC §3 reads it: the lead's value as loaded, the segment's values as
    stored (trimmed, lower-cased), and the naive matcher's answer for this rule alone."""
    if rule == "workspace_id":
        alone = {"workspace_id": segment.get("workspace_id"), "filters": {}}
        return {"rule": rule, "lead_value": lead["workspace_id"], "segment_values": segment.get("workspace_id"),
                "passes": reference.lead_matches(alone, lead)}
    wanted = segment["filters"][rule]
    column = {**reference.LIST_FILTERS, "tags": "tags", "min_score": "score", "has_email": "email"}[rule]
    value = lead.get(column)
    if rule == "tags":  # loaded as a list of trimmed, non-blank tags
        value = [t.strip() for t in (value or "").split(";") if t.strip()]
    if rule == "min_score" and value is not None:
        value = float(value)
    return {"rule": rule, "lead_value": value,
            "segment_values": [v.strip().lower() for v in wanted] if isinstance(wanted, list) else wanted,
            "passes": reference.lead_matches({"filters": {rule: wanted}}, lead)}


@pytest.mark.parametrize("lead", LEADS, ids=lambda lead: f"lead{lead['id']}")
def test_each_rule_its_values_and_the_verdict(project, lead):
    code, out, err = why(project, SEGMENT["id"], lead["id"], "--format", "json")
    assert (code, err) == (0, "")
    result = json.loads(out)
    member = reference.lead_matches(SEGMENT, lead)
    assert result == {"segment_id": 7, "segment_name": SEGMENT["name"], "lead_id": lead["id"], "member": member,
                      "in_segment_leads": member,
                      "checks": [expected_check(SEGMENT, rule, lead) for rule in RULES]}
    failing = [check["rule"] for check in result["checks"] if not check["passes"]]
    assert failing == ([FAILING[lead["id"]][2]] if lead["id"] in FAILING else [])


def test_a_whole_score_reads_as_segpipe_leads_shows_it(project):
    """The score column is a DOUBLE; a score of 80 is shown as 80, as `segpipe leads` shows it
    (and as the leads file has it), and 59.5 as 59.5."""
    for lead_id, shown in ((1, "80"), (11, "59.5")):
        out = why(project, SEGMENT["id"], lead_id, "--format", "json")[1]
        check = next(c for c in json.loads(out)["checks"] if c["rule"] == "min_score")
        assert json.dumps(check["lead_value"]) == shown
    listed = json.loads(run_segpipe("leads", SEGMENT["id"], "--format", "json", cwd=project).stdout)["leads"]
    assert json.dumps(next(lead["score"] for lead in listed if lead["lead_id"] == 1)) == "80"


def test_every_rule_is_failed_by_some_lead():
    assert {rule for *_, rule in FAILING.values()} == set(RULES)


def test_has_email_false_and_a_segment_named_by_name(project):
    code, out, _ = why(project, "No email", 13, "--format", "json")
    assert code == 0
    assert json.loads(out)["checks"] == [
        {"rule": "workspace_id", "lead_value": 1, "segment_values": None, "passes": True},
        {"rule": "has_email", "lead_value": "  ", "segment_values": False, "passes": True}]
    code, out, _ = why(project, "No email", 1, "--format", "json")
    assert (code, json.loads(out)["member"]) == (0, False)


def test_the_table_says_the_verdict_first(project):
    code, out, _ = why(project, 7, 5)
    lines = out.splitlines()
    assert code == 0
    assert lines[0] == f"Lead 5 is not in segment 7 {SEGMENT['name']}: it fails countries (segment_leads: not listed)"
    assert lines[1].split() == ["rule", "lead_value", "segment_values", "passes"]
    assert lines[5].split() == ["countries", "DE", "us,", "ca", "NO"]
    code, out, _ = why(project, 7, 1)
    assert out.splitlines()[0] == f"Lead 1 is in segment 7 {SEGMENT['name']}: it passes every rule (segment_leads: listed)"


def test_unknown_lead_or_segment_is_one_line(project):
    assert why(project, 7, 999) == (2, "", "Error: no lead with id 999 in the published leads — "
                                           "`segpipe leads 7` lists the segment's leads\n")
    code, out, err = why(project, "No emails", 1)
    assert (code, out) == (2, "")
    assert err.startswith("Error: no segment with id or name 'No emails' (did you mean 'No email'?)")
    code, _, err = why(project, 7, "x")
    assert code == 2 and err.startswith("Error: Invalid value for 'LEAD_ID'")
