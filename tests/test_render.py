"""Rendering and the DAG: one-line errors naming the file, and the selection grammar."""

from __future__ import annotations

import pytest

from segpipe.dag import build_order, select
from segpipe.overrides import builtin_root
from segpipe.project import load_project
from segpipe.pipeline import compile_plan as compile_project
from tests.conftest import make_project
from tests.datasets import LEADS, SEGMENTS


@pytest.fixture
def project_root(tmp_path):
    return make_project(tmp_path / "proj", leads=LEADS, segments=SEGMENTS)


def compile_error(cli, root) -> tuple[int, str]:
    result = cli("compile", "--project-dir", root, "--as-of", "2025-01-31")
    return result.exit_code, result.stderr


def test_unknown_ref_names_file_line_and_closest_model(project_root, cli):
    (project_root / "models" / "x.sql").write_text("-- first\nselect * from {{ ref('segment_lead') }}\n")
    assert compile_error(cli, project_root) == (2, "Error: models/x.sql:2: ref('segment_lead') not found (did you mean 'segment_leads'?)\n")


def test_cycle_is_listed(project_root, cli):
    (project_root / "models" / "a.sql").write_text("select * from {{ ref('b') }}\n")
    (project_root / "models" / "b.sql").write_text("select * from {{ ref('a') }}\n")
    code, stderr = compile_error(cli, project_root)
    assert code == 2
    assert stderr in ("Error: dependency cycle: a -> b -> a — break it by removing one of these ref() calls\n",
                      "Error: dependency cycle: b -> a -> b — break it by removing one of these ref() calls\n")


def test_undefined_var(project_root, cli):
    (project_root / "models" / "x.sql").write_text("select {{ var('dayz') }}\n")
    assert compile_error(cli, project_root) == (2, "Error: models/x.sql:1: undefined var 'dayz' (did you mean 'days'?) — set it under 'vars' in project.yml or pass --vars\n")


def test_jinja_syntax_error_has_its_line(project_root, cli):
    (project_root / "models" / "x.sql").write_text("select 1\n{% if %}\n")
    assert compile_error(cli, project_root) == (2, "Error: models/x.sql:2: Jinja syntax error: Expected an expression, got 'end of statement block'\n")


def test_undefined_name_in_template(project_root, cli):
    (project_root / "models" / "x.sql").write_text("select 1\n\nselect {{ nothing_here }}\n")
    assert compile_error(cli, project_root) == (2, "Error: models/x.sql:3: 'nothing_here' is undefined\n")


def test_macro_syntax_error_names_the_macro_file(project_root, cli):
    (project_root / "macros" / "bad.sql").write_text("{% macro oops() %}\n{{ }}\n{% endmacro %}\n")
    code, stderr = compile_error(cli, project_root)
    assert code == 2 and stderr.startswith("Error: macros/bad.sql:2: Jinja syntax error:")


@pytest.mark.parametrize("folder, text, message", [
    ("models", b"select 1\n{{ 7 // 0 }}\n", "models/x.sql:2: integer division or modulo by zero"),
    ("models", b"select {{ [1][5] }}\n", "models/x.sql:1: list object has no element 5"),
    ("models", b"{% macro again() %}{{ again() }}{% endmacro %}select {{ again() }}\n",
     "models/x.sql: rendering recursed too deep \u2014 a macro that calls itself without end?"),
    ("models", b"select 1\n-- caf\xe9\n", "models/x.sql:2: not UTF-8 text (byte 0xe9) \u2014 save it as UTF-8"),
    ("macros", b"{% macro m() %}\xff{% endmacro %}\n", "macros/x.sql:1: not UTF-8 text (byte 0xff) \u2014 save it as UTF-8"),
])
def test_a_template_that_cannot_render_is_one_line_naming_its_file(project_root, cli, folder, text, message):
    """A mistake inside a template, or a file that is not UTF-8, is the project's: exit 2 and its
    file, not 'unexpected ZeroDivisionError' (exit 1)."""
    (project_root / folder / "x.sql").write_bytes(text)
    assert compile_error(cli, project_root) == (2, f"Error: {message}\n")


def test_macros_see_each_other_and_the_model_context(project_root):
    (project_root / "macros" / "z_helpers.sql").write_text(
        "{% macro shout(x) %}upper({{ x }}){% endmacro %}\n"
        "{% macro days_plus_one() %}{{ var('days') + 1 }}{% endmacro %}\n")
    (project_root / "macros" / "a_uses.sql").write_text("{% macro loud_name() %}{{ shout('segment_name') }}{% endmacro %}\n")
    (project_root / "models" / "x.sql").write_text("select {{ loud_name() }}, {{ days_plus_one() }} from {{ ref('segments') }}\n")
    plan = compile_project(load_project(project_root), selection="x")
    assert plan.models["x"].sql == "select upper(segment_name), 31 from main.segments\n"


def test_build_order_and_selection(project_root):
    plan = compile_project(load_project(project_root))
    order = plan.order
    assert order.index("stg_leads") < order.index("lead_segments") < order.index("segment_leads")
    assert order.index("segment_performance_daily") < order.index("segment_performance")
    models, models_dir = plan.models, [project_root / "models", builtin_root() / "models"]
    assert select(models, "segment_leads", models_dir) == {"segment_leads"}
    assert select(models, "+segment_leads", models_dir) == {"segment_leads", "lead_segments", "stg_leads"}
    assert select(models, "stg_sends+", models_dir) == {"stg_sends", "segment_performance_hourly",
                                                        "segment_campaign_daily", "segment_performance_daily",
                                                        "segment_performance", "send_problems", "segment_set_sends_daily",
                                                        "workspace_performance_hourly"}
    assert select(models, "staging/", models_dir) == {"stg_campaigns", "stg_leads", "stg_sends"}
    assert select(models, "segments stg_leads", models_dir) == {"segments", "stg_leads"}
    assert build_order({}) == []


def test_unknown_selector(project_root, cli):
    result = cli("compile", "--project-dir", project_root, "--select", "segment_perf")
    assert (result.exit_code, result.stderr) == (2, "Error: --select: no model named 'segment_perf' (did you mean 'segment_performance'?)\n")


def test_this_is_the_configured_relation(project_root):
    (project_root / "models" / "x.sql").write_text("{{ config(schema='internal') }}select '{{ this }}' as me\n")
    plan = compile_project(load_project(project_root), selection="x")
    assert plan.models["x"].sql == "select 'internal.x' as me\n"
