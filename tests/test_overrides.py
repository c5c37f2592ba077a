"""SPEC §1, the built-in segment package: a project uses segpipe's own models and macros,
replaces one by giving a model or macro of its own the same name, and adds others."""

from __future__ import annotations

import json
import shutil
import textwrap

import duckdb
import pytest

from segpipe import overrides
from tests.conftest import REPO, make_project, run_segpipe
from tests.datasets import AS_OF, CAMPAIGNS, LEADS, SEGMENTS, SENDS

RUN = ("--as-of", AS_OF.isoformat())


def project(tmp_path, name="p"):
    return make_project(tmp_path / name, leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS)


def run_ok(root):
    done = run_segpipe("run", "--project-dir", root, *RUN)
    assert done.returncode == 0, done.stderr
    return done


def top_json(root) -> dict:
    done = run_segpipe("top", "--project-dir", root, *RUN, "--format", "json", "--limit", 100, "--min-sent", 0)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def ls_models(root) -> dict[str, dict]:
    done = run_segpipe("ls", "--project-dir", root, "--format", "json")
    assert done.returncode == 0, done.stderr
    return {row["name"]: row for row in json.loads(done.stdout) if row["type"].startswith("model")}


def columns(db, relation: str) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return [row[0] for row in con.execute(f"describe {relation}").fetchall()]


def test_a_project_with_no_models_of_its_own_builds_every_built_in_one(tmp_path):
    root = project(tmp_path)
    assert not any((root / "models").iterdir())
    run_ok(root)
    built_in = {path.stem for path in (REPO / "models").rglob("*.sql")}
    models = ls_models(root)
    assert set(models) == built_in
    assert {row["origin"] for row in models.values()} == {"builtin"}


def test_replacing_segment_performance_with_an_extra_column(tmp_path):
    plain, replaced = project(tmp_path, "plain"), project(tmp_path, "replaced")
    # the built-in model's rows, plus a column of the project's own
    (replaced / "models" / "segment_performance.sql").write_text(textwrap.dedent("""\
        -- our segment_performance: the built-in one plus twice the sends
        select *, leads_sent * 2 as sends_doubled
        from (
        """) + (REPO / "models" / "segment_performance.sql").read_text() + ")\n")
    run_ok(plain)
    run_ok(replaced)

    models = ls_models(replaced)
    assert models["segment_performance"]["origin"] == "models/segment_performance.sql"
    assert models["segments"]["origin"] == "builtin"
    assert sum(name == "segment_performance" for name in models) == 1  # the built-in one is not built
    assert columns(replaced / "out.duckdb", "segment_performance") == [
        *columns(plain / "out.duckdb", "segment_performance"), "sends_doubled"]
    with duckdb.connect(str(replaced / "out.duckdb"), read_only=True) as con:
        rows = con.execute("select leads_sent, sends_doubled from segment_performance").fetchall()
    assert rows and all(doubled == 2 * sent for sent, doubled in rows)
    assert top_json(replaced) == top_json(plain)


def test_a_project_macro_replaces_the_built_in_one_everywhere(tmp_path):
    """`rate` is a built-in macro the built-in segment_performance calls: the project's
    version (rates in whole percent) is the one that model gets."""
    root = project(tmp_path)
    (root / "macros" / "rates.sql").write_text(
        "{% macro rate(numerator, denominator) -%}\n"
        "round(100 * {{ numerator }} / nullif({{ denominator }}, 0))\n"
        "{%- endmacro %}\n")
    run_ok(root)
    with duckdb.connect(str(root / "out.duckdb"), read_only=True) as con:
        rows = con.execute("select replied, leads_sent, reply_rate from segment_performance").fetchall()
    assert any(sent for _, sent, _ in rows)
    for replied, sent, rate in rows:
        assert rate == (round(100 * replied / sent) if sent else None)
    # the other built-in macros still come from segpipe: the window is the built-in one
    with duckdb.connect(str(root / "out.duckdb"), read_only=True) as con:
        assert con.execute("select distinct window_end from segment_performance").fetchall() == [(AS_OF,)]


def test_ls_says_where_each_macro_comes_from(tmp_path):
    """A replaced built-in macro is listed once, from the project's file, as a replaced model is."""
    root = project(tmp_path)
    (root / "macros" / "ours.sql").write_text(
        "{% macro rate(numerator, denominator) %}round({{ numerator }} / {{ denominator }}){% endmacro %}\n"
        "{% macro helper(x) %}{{ x }}{% endmacro %}\n")
    done = run_segpipe("ls", "--project-dir", root, "--format", "json")
    assert done.returncode == 0, done.stderr
    macros = [row for row in json.loads(done.stdout) if row["type"] == "macro"]
    origins = {row["name"]: row["origin"] for row in macros}
    assert len(macros) == len(origins)
    assert origins.pop("rate") == origins.pop("helper") == "macros/ours.sql"
    assert {"match_key", "send_counts", "window_start"} <= set(origins)
    assert set(origins.values()) == {"builtin"}
    done = run_segpipe("ls", "--project-dir", root, "--select", "segments", "--format", "json")
    assert [row["type"] for row in json.loads(done.stdout)] == ["model (table)"]  # --select: models only



def test_a_project_macro_replaces_a_built_in_one_called_from_its_own_file(tmp_path):
    """`sends_since` is called by the built-in `narrow_sends`, in the same file: Jinja binds
    such a call to that file's definition, so the project's version was silently ignored."""
    plain, root = project(tmp_path, "plain"), project(tmp_path, "replaced")
    built_in = (REPO / "macros" / "sends.sql").read_text()
    start = built_in.index("{% macro sends_since(since)")
    macro = built_in[start:built_in.index("{%- endmacro %}", start) + len("{%- endmacro %}")]
    ours = macro.replace("{{ ref('stg_sends') }} where", "{{ ref('stg_sends') }} where not bounced and")
    assert ours != macro
    (root / "macros" / "sends.sql").write_text(ours + "\n")  # our sends leave the bounced ones out
    run_ok(plain)
    run_ok(root)
    bounced = "select sum(bounced), sum(leads_sent) from segment_performance_hourly"
    with duckdb.connect(str(plain / "out.duckdb"), read_only=True) as con:
        plain_bounced, plain_sent = con.execute(bounced).fetchone()
    with duckdb.connect(str(root / "out.duckdb"), read_only=True) as con:
        assert con.execute(bounced).fetchone() == (0, plain_sent - plain_bounced)
    assert plain_bounced > 0


def test_a_project_macro_named_close_to_a_built_in_one_that_nothing_calls_is_a_warning(tmp_path):
    """`rates` meant to replace `rate` replaces nothing: the run says which name it takes."""
    root = project(tmp_path)
    (root / "macros" / "ours.sql").write_text(
        "{% macro rates(numerator, denominator) -%}\nround({{ numerator }} / nullif({{ denominator }}, 0), 2)\n"
        "{%- endmacro %}\n"
        "{% macro helper(x) %}{{ x }}{% endmacro %}\n")  # not close to a built-in macro: no warning
    (root / "models" / "mine.sql").write_text("select {{ helper('1') }} as x\n")
    done = run_ok(root)
    warnings = [line for line in done.stdout.splitlines() if line.startswith("WARN  macro")]
    assert len(warnings) == 1
    assert warnings[0].split()[:3] == ["WARN", "macro", "rates"]
    assert warnings[0].endswith("macros/ours.sql: nothing calls it (did you mean 'rate', to replace the built-in one?)")

def test_docs_go_with_their_model(tmp_path):
    """A replaced model loses the built-in docs and tests; the project documents its own."""
    root = project(tmp_path)
    (root / "models" / "segments.sql").write_text(
        "select segment_id, segment_name, workspace_id, description, filters from {{ source('segments') }}\n")
    (root / "models" / "lead_count.sql").write_text("select count(*) as leads from {{ ref('segment_leads') }}\n")
    (root / "models" / "ours.yml").write_text(textwrap.dedent("""\
        models:
          - name: lead_count
            description: How many segment memberships there are.
            columns:
              - name: leads
                description: Memberships.
                tests: [not_null]
        """))
    done = run_ok(root)
    assert "not_null_lead_count_leads" in done.stdout
    assert "unique_segments_segment_id" not in done.stdout  # the built-in test of a replaced model
    assert "not_null_segment_leads_segment_id" in done.stdout  # a built-in model keeps its own
    with duckdb.connect(str(root / "out.duckdb"), read_only=True) as con:
        comments = dict(con.execute("select table_name, comment from duckdb_tables() "
                                    "where table_name in ('lead_count', 'segments')").fetchall())
    assert comments == {"lead_count": "How many segment memberships there are.", "segments": None}



def test_a_project_entry_for_a_built_in_model_adds_to_its_docs_and_tests(tmp_path):
    """Documenting or testing a model that is still built in keeps its built-in tests and the
    column comments BI tools show; the project's descriptions win where it gives them."""
    plain, root = project(tmp_path, "plain"), project(tmp_path, "ours")
    (root / "models" / "ours.yml").write_text(textwrap.dedent("""\
        models:
          - name: segments
            description: Our ICPs.
            columns:
              - name: segment_name
                description: As sales calls it.
                tests: [not_null]
              - name: description
                tests:
                  - not_null: {name: every_segment_is_described, config: {severity: warn}}
        """))
    ran_plain, ran = run_ok(plain), run_ok(root)
    assert "unique_segments_segment_id" in ran_plain.stdout
    assert "unique_segments_segment_id" in ran.stdout  # the built-in test stays
    assert "every_segment_is_described" in ran.stdout
    assert ran.stdout.count("not_null_segments_segment_name") == 1  # the same test is not run twice

    def comments(db):
        with duckdb.connect(str(db), read_only=True) as con:
            table = con.execute("select comment from duckdb_tables() where table_name = 'segments'").fetchone()[0]
            return table, dict(con.execute("select column_name, comment from duckdb_columns() "
                                           "where table_name = 'segments' and schema_name = 'main'").fetchall())

    (_, built_in), (table, ours) = comments(plain / "out.duckdb"), comments(root / "out.duckdb")
    assert table == "Our ICPs."
    assert all(built_in.values())
    assert ours == {**built_in, "segment_name": "As sales calls it."}

def test_a_project_cannot_document_a_model_that_does_not_exist(tmp_path):
    root = project(tmp_path)
    (root / "models" / "ours.yml").write_text("models:\n  - name: nothing_here\n")
    done = run_segpipe("run", "--project-dir", root, *RUN)
    assert (done.returncode, done.stderr) == (
        2, "Error: models/ours.yml: documents model 'nothing_here', which does not exist\n")


@pytest.mark.parametrize("selection, expected", [
    ("staging/", {"stg_campaigns", "stg_leads", "stg_sends", "stg_extra"}),
    ("models/staging/", {"stg_campaigns", "stg_leads", "stg_sends", "stg_extra"}),
])
def test_a_path_selection_covers_built_in_and_project_models(tmp_path, selection, expected):
    root = project(tmp_path)
    (root / "models" / "staging").mkdir()
    (root / "models" / "staging" / "stg_extra.sql").write_text("select 1 as x\n")
    done = run_segpipe("ls", "--project-dir", root, "--select", selection, "--format", "json")
    assert done.returncode == 0, done.stderr
    assert {row["name"] for row in json.loads(done.stdout)} == expected


@pytest.mark.parametrize("model_file", [None, "mine.sql"])
def test_a_seed_named_like_a_model_is_refused(tmp_path, model_file):
    """As in dbt, a seed and a model cannot share a name: ref() would silently pick the seed,
    here in place of the built-in `segments` model every performance model reads."""
    root = project(tmp_path)
    name = "segments"
    if model_file:
        name = model_file.removesuffix(".sql")
        (root / "models" / model_file).write_text("select 1 as one\n")
    (root / "seeds" / f"{name}.csv").write_text("segment_id,note\n1,hello\n")
    done = run_segpipe("run", "--project-dir", root, *RUN)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"Error: seeds/{name}.csv: seed '{name}' ")
    assert not (root / "out.duckdb").exists()


@pytest.fixture
def installed_in_project(tmp_path, monkeypatch):
    """A project holding the segpipe it runs with, as a `.venv/` inside the project folder
    does: the built-in models and macros live under the project's own folder."""
    root = project(tmp_path)
    packaged = root / ".venv" / "lib" / "site-packages" / "segpipe" / "builtin"
    for folder in ("models", "macros"):
        shutil.copytree(REPO / folder, packaged / folder)
    monkeypatch.setattr(overrides, "PACKAGED", packaged)
    overrides.builtin_root.cache_clear()
    yield root
    overrides.builtin_root.cache_clear()


def test_built_in_files_are_shown_as_built_in_when_segpipe_is_installed_in_the_project(installed_in_project, cli):
    root = installed_in_project
    done = cli("compile", "--project-dir", root, "--select", "segments", *RUN)
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines()[0] == "-- main.segments (builtin:models/segments.sql)"
    assert (root / "target" / "compiled" / "builtin" / "models" / "segments.sql").is_file()
    assert not (root / "target" / "compiled" / ".venv").exists()


def test_a_failing_built_in_model_is_named_as_built_in(tmp_path):
    """The user has no segment_performance.sql of their own (their rate() macro broke the built-in
    model): the message points at the built-in file."""
    root = project(tmp_path)
    (root / "macros" / "rate.sql").write_text(
        "{% macro rate(numerator, denominator) -%} no_such_function({{ numerator }}) {%- endmacro %}\n")
    done = run_segpipe("run", "--project-dir", root, *RUN)
    assert done.returncode == 1
    assert done.stderr.startswith("Error: model segment_performance (builtin:models/segment_performance.sql) failed: ")


def test_a_project_match_key_is_used_and_warned_about(tmp_path):
    """SPEC §1: a project macro replaces the built-in one of its name, match_key() too. Segment
    filter values are still normalised by segpipe (segments.match_key), so one that also drops
    spaces makes leads miss filters: a run warning names its line, not a silent difference. A
    copy of the built-in one (a project copied from the repository) is no replacement."""
    root = project(tmp_path)
    keys = (REPO / "macros" / "match_keys.sql").read_text()
    (root / "macros" / "keys.sql").write_text(keys)
    assert "WARN  macro" not in run_ok(root).stdout
    ours = keys.replace("nullif(lower(trim({{ column }})), '')", "nullif(replace(lower(trim({{ column }})), ' ', ''), '')")
    assert ours != keys
    (root / "macros" / "keys.sql").write_text(ours)
    done = run_ok(root)
    line = keys[:keys.index("{% macro match_key")].count("\n") + 1
    assert f"WARN  macro  match_key" in done.stdout
    assert (f"macros/keys.sql:{line}: leads' values follow it; filter values stay only trimmed and lower-cased"
            in done.stdout)
    compiled = run_segpipe("compile", "--project-dir", root, "--select", "stg_leads")
    assert "nullif(replace(lower(trim(role)), ' ', ''), '')" in compiled.stdout  # and it is the one used
