"""SPEC §12: a mistake in project.yml is reported at the line of the key at fault."""

from __future__ import annotations

import pytest

from segpipe.errors import ConfigError
from segpipe.project import load_project


@pytest.mark.parametrize("text, message", [
    ("name: x\n\nthreds: 2\n", "3: unknown key 'threds' (did you mean 'threads'?)"),
    ("name: x\nthreads: -1\n", "2: 'threads' must be a positive integer"),
    ("name: x\nthreads: 99999999999999999999\n", "2: 'threads' must be from 1 to 4096, got 99999999999999999999"),
    ("name: x\nmemory_limit: 99999999999999999999GB\n",
     "2: 'memory_limit' '99999999999999999999GB' is beyond what a 64-bit number holds — give a size such as 4GB"),
    ("name: x\nsources:\n  leads:\n    path: a.csv\n    colum_types: {}\n",
     "5: sources.leads: unknown key 'colum_types' (did you mean 'column_types'?)"),
    ("name: x\nsources:\n  leads:\n    path: a.csv\n    column_types:\n      id: BIGINT\n      score: 'DOUBLE; x'\n",
     "7: sources.leads.column_types.score: 'DOUBLE; x' is not a type name such as BIGINT, DOUBLE or VARCHAR"),
    ("name: x\nsources:\n  leads:\n    path: a.csv\n    column_types:\n      score: INTEGR\n",
     "6: sources.leads.column_types.score: 'INTEGR' is not a type name such as BIGINT, DOUBLE or VARCHAR"),
    ("name: x\nconnections:\n  app:\n    type: mysql\n", "4: connections.app: 'type' must be one of duckdb, postgres, sqlite"),
    ("name: x\n\ndatabase: 5\n", "3: 'database' must be text, got 5"),
    ("name: x\nvars: [1]\n", "2: 'vars' must be a mapping"),
    ("name: x\nvars:\n  attribution: matching\n  days: abc\n",
     "4: vars.days: must be a whole number of days from 1 to 365, got 'abc'"),
    ("name: x\nvars:\n  attribution: matchin\n", "3: vars.attribution: must be 'matching' or 'campaign', got 'matchin'"),
    ("name: x\nvars:\n  lookback_days: abc\n", "3: vars.lookback_days: must be a whole number from 0, such as 3, got 'abc'"),
    ("name: x\nvars:\n  sends_per_batch: 0\n",
     "3: vars.sends_per_batch: must be a whole number from 1, such as 4000000, got 0"),
])
def test_project_yml_errors_name_the_keys_own_line(tmp_path, text, message):
    (tmp_path / "project.yml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    assert str(caught.value) == f"{tmp_path / 'project.yml'}:{message}"


def test_vars_on_the_command_line_replace_a_bad_one_in_project_yml(tmp_path):
    (tmp_path / "project.yml").write_text("name: x\nvars:\n  days: abc\n")
    assert load_project(tmp_path, cli_vars={"days": 7}).vars["days"] == 7


@pytest.mark.parametrize("text, message", [
    ("models:\n  - name: a\n    descripton: typo\n", "3: model a: unknown key 'descripton' (did you mean 'description'?)"),
    ("models:\n  - name: a\n  - name: b\n    columns:\n      - name: x\n      - name: y\n        tests: [unique]\n"
     "        descriptoin: typo\n",
     "8: model b, column y: unknown key 'descriptoin' (did you mean 'description'?)"),
    ("models:\n  - name: a\n    columns:\n      - name: x\n        tests:\n          - accepted_values:\n"
     "              values: [1]\n              config: {severity: loud}\n",
     "8: model a, column x: accepted_values: severity must be error or warn"),
    ("models:\n  - name: a\n    columns:\n      - name: x\n        tests:\n          - not_null\n          - uniqe\n",
     "7: model a, column x: unknown key 'uniqe' (did you mean 'unique'?)"),
])
def test_model_doc_errors_name_the_line_of_the_entry_or_key(tmp_path, text, message):
    from segpipe.docs import load_docs

    (tmp_path / "models").mkdir()
    doc = tmp_path / "models" / "docs.yml"
    doc.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_docs(tmp_path, [doc])
    assert str(caught.value) == f"models/docs.yml:{message}"
