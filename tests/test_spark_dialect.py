"""Every built-in model renders for Spark inside the supported subset; the known
sqlglot traps are refused or translated right (engines/spark_dialect.py).

Rendering and checking needs no Spark; the weekday translations are also run on
the shared Spark session and compared with DuckDB's own answers.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from segpipe.engines.spark_dialect import check_supported, to_spark
from segpipe.errors import CompileError
from segpipe.project import load_project
from segpipe.pipeline import compile_plan as compile_project
from tests.conftest import make_project
from tests.datasets import CAMPAIGNS, LEADS, SEGMENTS, SENDS

sqlglot = pytest.importorskip("sqlglot")


@pytest.mark.parametrize("attribution", ["matching", "campaign"])
@pytest.mark.parametrize("with_campaigns", [True, False])
def test_every_builtin_model_renders_for_spark(tmp_path, attribution, with_campaigns):
    root = make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS,
                        with_campaigns=with_campaigns,
                        project={"engine": "spark", "vars": {"days": 30, "attribution": attribution}})
    plan = compile_project(load_project(root), as_of=dt.date(2025, 1, 31))
    assert len(plan.models) >= 7
    for name, model in plan.models.items():
        spark_sql = to_spark(model.sql, name)  # raises CompileError outside the subset
        assert "UBIGINT" not in spark_sql and "LIST_POSITION" not in spark_sql.upper()
        # only CTEs and segpipe's views, never a schema-qualified DuckDB relation
        tree = sqlglot.parse_one(spark_sql, read="spark")
        ctes = {cte.alias for cte in tree.find_all(sqlglot.exp.CTE)}
        for table in tree.find_all(sqlglot.exp.Table):
            assert not table.db and (table.name in ctes or "__" in table.name), (name, table.sql())


def test_duckdb_builds_keep_the_bitmask_membership(tmp_path):
    root = make_project(tmp_path / "p", leads=LEADS, segments=SEGMENTS)
    plan = compile_project(load_project(root), as_of=dt.date(2025, 1, 31))
    assert "UBIGINT" in plan.models["lead_segments"].sql


@pytest.mark.parametrize("sql, refused", [
    ("select len(tags) from t", "array_length"),                       # LENGTH is a type error on arrays
    ("select length(segment_ids) from t", "array_length"),
    ("select list(x order by y) from t", "loses its order"),            # COLLECT_LIST has no order
    ("select array_agg(x order by y) from t", "loses its order"),
    ("select date_diff('day', a, b) from t", "boundaries"),             # boundaries vs whole days
    ("select cast(x as ubigint) from t", "type UBIGINT"),
    ("select cast(x as hugeint) from t", "type INT128"),
    ("select list_position(['a'], x) from t", "list_position"),         # unknown to sqlglot: passed through
    ("select cast(unnest(ids) as bigint) from t", "inside an expression"),
    ("select extract(week from d) from t", "extract(week"),
])
def test_constructs_outside_the_subset_are_refused(sql, refused):
    with pytest.raises(CompileError) as error:
        check_supported(sqlglot.parse_one(sql, read="duckdb"), "model m (m.sql)")
    assert str(error.value).startswith("model m (m.sql): not supported on Spark") and refused in str(error.value)


def test_text_length_passes():
    check_supported(sqlglot.parse_one("select length(lower(name)), length(cast(x as varchar)) from t", read="duckdb"), "m")


def test_weekdays_mean_the_same_on_spark(spark):
    """DuckDB: dayofweek Sunday = 0, isodow Monday = 1; sqlglot alone gets both wrong for Spark."""
    days = [dt.date(2025, 1, 5) + dt.timedelta(days=i) for i in range(7)]  # Sunday … Saturday
    values = ", ".join(f"(DATE '{d}')" for d in days)
    sql = (f"select d, dayofweek(d) as dow, isodow(d) as iso, extract(isodow from d) as iso2, "
           f"extract(dow from d) as dow2 from (values {values}) as v(d) order by d")
    expected = duckdb.connect().execute(sql).fetchall()
    assert [row[1] for row in expected] == [0, 1, 2, 3, 4, 5, 6]
    got = [tuple(r) for r in spark.sql(to_spark(sql, "weekdays")).collect()]
    assert got == expected


def test_list_overlap_and_microsecond_differences_match_duckdb(spark):
    sql = ("select list_has_any(['a', 'b'], ['b']) as overlap, list_has_any(['a'], ['c']) as disjoint, "
           "date_diff('microsecond', TIMESTAMP '2025-01-01 10:00:00', TIMESTAMP '2025-01-02 11:30:00.000001') as us, "
           "array_length([1, 2, 3]) as n")
    expected = duckdb.connect().execute(sql).fetchall()
    assert [tuple(r) for r in spark.sql(to_spark(sql, "lists")).collect()] == expected


def test_lower_cases_each_letter_alone_as_duckdb_does(spark):
    """Java's lower() ends a word's Σ as ς and turns İ into i + U+0307; DuckDB's maps each
    letter alone. The leads' match keys, and so membership, must not depend on the engine."""
    words = ["ΔΙΕΥΘΥΝΤΗΣ", "İzmir", "τραπεζικός", "ΣΑΣ Σ", "Straße", "ǅemal", "CEO"]
    values = ", ".join(f"('{w}')" for w in words)
    sql = f"select w, lower(w) as key from (values {values}) as v(w) order by w"
    expected = duckdb.connect().execute(sql).fetchall()
    assert dict(expected)["ΔΙΕΥΘΥΝΤΗΣ"] == "διευθυντησ" and dict(expected)["İzmir"] == "izmir"
    assert [tuple(r) for r in spark.sql(to_spark(sql, "lower")).collect()] == expected


def test_trim_strips_what_duckdb_strips(spark):
    """DuckDB's trim() strips every Unicode space separator (a no-break space, U+3000), not a tab;
    Spark's TRIM only ' '. has_email and every match key go through it."""
    words = ["\u00a0US\u00a0", "\u3000", "DE\t", " x ", "\u2007a\u202f", "plain", "US \n"]
    values = ", ".join(f"('{w}')" for w in words)
    sql = f"select w, trim(w) as t, ltrim(w) as l, rtrim(w) as r from (values {values}) as v(w) order by w"
    expected = duckdb.connect().execute(sql).fetchall()
    assert dict((w, t) for w, t, _, _ in expected)["\u00a0US\u00a0"] == "US"
    assert [tuple(r) for r in spark.sql(to_spark(sql, "trim")).collect()] == expected


@pytest.mark.parametrize("duck_type,spark_type", [("DOUBLE", "double"), ("DECIMAL(4,1)", "decimal(4,1)"),
                                                  ("INTEGER", "int")])
def test_a_number_is_a_flag_only_as_0_or_1_on_both_engines(spark, duck_type, spark_type):
    """A flag column typed as a number (pandas writes one with gaps as doubles): 1 and 0 are true and
    false, and any other number is refused (NULL when not strict) on DuckDB and Spark alike."""
    from segpipe.engines.spark_sources import convert as spark_convert
    from segpipe.source_types import convert as duck_convert

    values = "(1), (0), (NULL), (2.5), (-1)"
    con = duckdb.connect()
    con.execute(f"create table t as select cast(v as {duck_type}) as sent from (values {values}) as x(v)")
    on_duckdb = con.execute(f"select {duck_convert('sent', duck_type, 'BOOLEAN', strict=False)} from t").fetchall()
    spark.sql(f"select cast(v as {spark_type}) as sent from values {values} as x(v)").createOrReplaceTempView("flags")
    on_spark = [tuple(r) for r in spark.sql(
        f"select {spark_convert('sent', spark_type, 'BOOLEAN', strict=False)} from flags").collect()]
    assert on_duckdb == on_spark == [(True,), (False,), (None,), (None,), (None,)]  # 2.5 as INTEGER is 2 or 3
