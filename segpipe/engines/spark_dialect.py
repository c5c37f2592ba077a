"""Model SQL, written once in DuckDB's dialect, as Spark SQL — by sqlglot, within a checked subset.

Why transpiling: the built-in models are the example users copy, so they stay
one plain SQL file each; sqlglot (a maintained parser/transpiler) turns them
into Spark SQL. It is not perfect, so every rendered model is first checked
against the constructs known to come out right (`SUPPORTED`) and a few known
traps are refused with the spelling to use instead, or translated by a small
override of sqlglot's Spark generator:

- `len(list)` becomes Spark's LENGTH, a type error on arrays: write
  `array_length(x)` (Spark SIZE) for a list and `length(x)` for text.
- DuckDB's `dayofweek`/`dow` counts Sunday = 0, Spark's Sunday = 1, and
  sqlglot's ISO weekday for Spark is off by one: `isodow(d)`, `extract(isodow …)`
  and `dayofweek(d)` are generated here as Spark `WEEKDAY(d) + 1` and `DAYOFWEEK(d) - 1`.
- DuckDB's `trim()` strips every Unicode space separator, Spark's only ' ': generated
  as `TRIM(BOTH '<the 17 of them>' FROM …)`.
- DuckDB's `lower()` maps each character alone, Java's applies Unicode's final-sigma
  rule and maps İ to two characters: generated as Spark `LOWER` after those two are
  lower-cased alone.
- `chr(n)` is Spark's chr of n modulo 256: only a literal code below 256 passes.
- `list(x ORDER BY y)` becomes COLLECT_LIST, which loses the order: refused.
- `date_diff(unit, …)` counts unit boundaries in DuckDB and whole units in Spark:
  only microseconds (where both agree) pass.
- unsigned and 128-bit integer types do not exist in Spark: refused.
- a function sqlglot does not know is passed through unchanged, which Spark
  rarely has: refused, naming it.

What differs for good reasons (membership bitmasks, say) goes through
`adapter.dispatch` or `target.type` in the model instead (see render.py).
Relations `schema.name` become Spark temporary views `schema__name`.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.dialects.spark import Spark

from ..errors import CompileError
from ..sql import SPACE_SEPARATORS


class SegpipeSpark(Spark):
    """Spark SQL, with sqlglot's known DuckDB→Spark slips fixed."""

    class Generator(Spark.Generator):
        # DuckDB's TIMESTAMP is naive and TIMESTAMPTZ an instant: Spark's NTZ and LTZ
        TYPE_MAPPING = {
            **Spark.Generator.TYPE_MAPPING,
            exp.DataType.Type.TIMESTAMP: "TIMESTAMP_NTZ",
            exp.DataType.Type.TIMESTAMPTZ: "TIMESTAMP_LTZ",
        }
        TRANSFORMS = {
            **Spark.Generator.TRANSFORMS,
            # DuckDB list_has_any / && on lists; Spark's && is no array operator
            exp.ArrayOverlaps: lambda self, e: self.func("ARRAYS_OVERLAP", e.this, e.expression),
            # ISO weekday, Monday = 1 … Sunday = 7 (Spark WEEKDAY: Monday = 0)
            exp.DayOfWeekIso: lambda self, e: f"(WEEKDAY({self.sql(e, 'this')}) + 1)",
            # DuckDB dayofweek: Sunday = 0 (Spark DAYOFWEEK: Sunday = 1)
            exp.DayOfWeek: lambda self, e: f"(DAYOFWEEK({self.sql(e, 'this')}) - 1)",
            # DuckDB lower-cases each character alone; Java ends a word's Σ as ς and turns İ
            # into i + U+0307, so the match keys of the leads would differ between engines:
            # those two are lower-cased alone first
            exp.Lower: lambda self, e: f"LOWER(REPLACE(REPLACE({self.sql(e, 'this')}, 'Σ', 'σ'), 'İ', 'i'))",
        }

        def cast_sql(self, expression: exp.Cast, safe_prefix: str | None = None) -> str:
            """A time cast to an instant (DuckDB's TIMESTAMPTZ) reads a repeated local hour as
            DuckDB does (later_reading); TRY_CAST, which only tests the text, is left as it is."""
            sql = super().cast_sql(expression, safe_prefix)
            if safe_prefix or not expression.to.is_type(exp.DataType.Type.TIMESTAMPTZ):
                return sql
            return later_reading(sql, self.sql(expression, "this"))

        def trim_sql(self, expression: exp.Trim) -> str:
            """DuckDB's trim() strips every Unicode space separator (a no-break space, U+3000),
            Spark's only ' ': without characters of its own, a trim names them all."""
            if expression.args.get("expression") is not None:
                return super().trim_sql(expression)
            side = expression.args.get("position") or "BOTH"
            return f"TRIM({side} '{SPACE_SEPARATORS}' FROM {self.sql(expression, 'this')})"


#: how far clocks go back when daylight saving ends, largest first (Antarctica/Troll: 2 hours,
#: Australia/Lord_Howe: 30 minutes)
SETBACKS = ("2 HOURS", "1 HOUR", "30 MINUTES")


def later_reading(instant: str, text: str) -> str:
    """Spark SQL: `instant`, the text `text` cast to TIMESTAMP_LTZ, read as DuckDB (ICU) and
    PostgreSQL read a local time that happens twice, in the hour repeated when clocks go back:
    the later instant (standard time). Java, so Spark, takes the earlier one: `2024-10-27
    02:30:00 Europe/Berlin` was 00:30 UTC on Spark, 01:30 UTC on DuckDB. Only text naming a
    zone can be such a time; a skipped local time (clocks going forward) already agrees."""
    zone = f"regexp_extract(CAST({text} AS STRING), ' ([A-Za-z_]+/[A-Za-z0-9_/+-]+) *$', 1)"
    later = " ".join(f"WHEN from_utc_timestamp(p.t + INTERVAL {shift}, p.z) = from_utc_timestamp(p.t, p.z) "
                     f"THEN p.t + INTERVAL {shift}" for shift in SETBACKS)
    # a lambda over a one-item array names the instant and zone once, not in every branch
    return (f"element_at(transform(array(named_struct('t', {instant}, 'z', {zone})), "
            f"p -> CASE WHEN p.z = '' THEN p.t {later} ELSE p.t END), 1)")


#: sqlglot expression types whose DuckDB → Spark translation is known to keep the meaning.
SUPPORTED = {
    # query structure
    exp.Select, exp.From, exp.Join, exp.Where, exp.Group, exp.Having, exp.Order, exp.Ordered, exp.Limit,
    exp.With, exp.CTE, exp.Subquery, exp.Union, exp.Except, exp.Intersect, exp.Distinct, exp.Table,
    exp.TableAlias, exp.Alias, exp.Column, exp.Identifier, exp.Star, exp.Paren, exp.Tuple, exp.Var,
    exp.Window, exp.WindowSpec, exp.Exists, exp.In, exp.Values,
    # values and operators
    exp.Literal, exp.Boolean, exp.Null, exp.Interval, exp.DataType, exp.Cast, exp.TryCast,
    exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Neg, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE,
    exp.And, exp.Or, exp.Not, exp.Is, exp.Between, exp.Like, exp.ILike, exp.DPipe, exp.NullSafeEQ, exp.NullSafeNEQ,
    exp.BitwiseAnd, exp.BitwiseOr, exp.Case, exp.If, exp.Coalesce, exp.Nullif, exp.Greatest, exp.Least, exp.IsNan,
    # aggregates and windows
    exp.Count, exp.Sum, exp.Min, exp.Max, exp.Avg, exp.CountIf, exp.Filter, exp.RowNumber,
    exp.ArgMax, exp.ArgMin, exp.AnyValue, exp.GroupingSets, exp.Grouping, exp.Rollup, exp.Cube,
    # text
    exp.Lower, exp.Upper, exp.Trim, exp.Substring, exp.Concat, exp.Replace, exp.StartsWith, exp.Translate, exp.Chr,
    exp.JSONExtractScalar, exp.JSONExtract, exp.JSONPath, exp.JSONPathRoot, exp.JSONPathKey,
    # dates and times (see the traps above)
    exp.DateDiff, exp.DateTrunc, exp.TimestampTrunc, exp.Extract, exp.DayOfWeek, exp.DayOfWeekIso,
    exp.Hour, exp.Day, exp.Month, exp.Year, exp.AtTimeZone, exp.CurrentDate,
    # lists (Spark arrays)
    exp.Array, exp.ArrayFilter, exp.Transform, exp.Lambda, exp.Explode, exp.Unnest, exp.ArraySize,
    exp.ArrayOverlaps, exp.ArrayContains, exp.Bracket, exp.Round, exp.Abs, exp.Floor,
}
#: EXTRACT fields both engines count alike
EXTRACT_UNITS = {"YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "QUARTER", "ISODOW", "DOW", "DAYOFWEEK", "EPOCH"}
#: types that exist in Spark with the same meaning
TYPES = {
    exp.DataType.Type.BIGINT, exp.DataType.Type.INT, exp.DataType.Type.SMALLINT, exp.DataType.Type.TINYINT,
    exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT, exp.DataType.Type.DECIMAL, exp.DataType.Type.BOOLEAN,
    exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT, exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMP,
    exp.DataType.Type.TIMESTAMPNTZ, exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.ARRAY, exp.DataType.Type.JSON,
}
#: functions that give text, so `length()` over them is a string length
TEXT_FUNCTIONS = (exp.Lower, exp.Upper, exp.Trim, exp.Substring, exp.Concat, exp.DPipe, exp.Replace,
                  exp.JSONExtractScalar)


def to_spark(sql: str, where: str, keep_order: bool = True) -> str:
    """Spark SQL for one rendered DuckDB statement; CompileError naming `where` and
    the construct when it is outside the supported subset. Without `keep_order`, a
    final ORDER BY (no LIMIT) is dropped: a table's rows have no order, and on
    Spark the sort costs a sampling job and a shuffle."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise CompileError(f"{where}: cannot parse the SQL for Spark: {str(exc).splitlines()[0]}") from None
    check_supported(tree, where)
    if not keep_order and isinstance(tree, exp.Select) and not tree.args.get("limit"):
        tree.set("order", None)
    tree = tree.transform(_spark_relations)
    return tree.sql(dialect=SegpipeSpark, pretty=True)


def view_name(relation: str) -> str:
    """`schema.name` (as models write relations) → the Spark temporary view `schema__name`."""
    schema, _, name = relation.rpartition(".")
    return f"{schema.strip(chr(34))}__{name.strip(chr(34))}" if schema else name.strip('"')


def _spark_relations(node):
    if isinstance(node, exp.Table) and node.args.get("db"):
        return exp.Table(this=exp.to_identifier(f"{node.db}__{node.name}"), alias=node.args.get("alias"))
    if isinstance(node, exp.Extract):  # ISO / DuckDB weekday: the generator's fixed forms
        unit = node.this.name.upper()
        if unit == "ISODOW":
            return exp.DayOfWeekIso(this=node.expression)
        if unit in ("DOW", "DAYOFWEEK"):
            return exp.DayOfWeek(this=node.expression)
    return node


def check_supported(tree: exp.Expression, where: str) -> None:
    """Raise CompileError at the first construct outside the supported subset."""
    for node in tree.walk():
        problem = _problem(node)
        if problem:
            raise CompileError(f"{where}: not supported on Spark: {problem}")


def _problem(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Anonymous):
        return f"function {node.name}() has no known Spark equivalent — use a standard function or an adapter.dispatch macro"
    if isinstance(node, exp.Length):
        arg = node.this
        if isinstance(arg, TEXT_FUNCTIONS) or (isinstance(arg, exp.Literal) and arg.is_string) or (
                isinstance(arg, exp.Cast) and arg.to.this in (exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT)):
            return None
        return (f"{node.sql('duckdb')}: len()/length() of a column may be a list, which Spark's LENGTH rejects — "
                "write array_length(x) for a list or length(cast(x as varchar)) for text")
    if isinstance(node, (exp.ArrayAgg, exp.GroupConcat)):
        if isinstance(node.this, exp.Order):
            return f"{node.sql('duckdb')}: an ordered aggregate loses its order on Spark (COLLECT_LIST)"
        return None
    if isinstance(node, exp.DateDiff):
        unit = (node.unit.name if node.unit else "DAY").upper()
        if unit not in ("MICROSECOND", "MICROSECONDS", "US"):
            return (f"{node.sql('duckdb')}: date_diff counts {unit.lower()} boundaries in DuckDB and whole units "
                    "in Spark — use date_diff('microsecond', a, b) and divide")
        return None
    if isinstance(node, exp.Chr):
        code = node.expressions[0] if node.expressions else None
        if not (isinstance(code, exp.Literal) and code.is_int and int(code.name) < 256):
            return f"{node.sql('duckdb')}: Spark's chr() takes the code modulo 256 — only a literal code below 256 comes out alike"
        return None
    if isinstance(node, exp.Extract):
        unit = node.this.name.upper()
        return None if unit in EXTRACT_UNITS else f"extract({unit.lower()} from …)"
    if isinstance(node, exp.DataType):
        if node.this in TYPES or (node.parent and isinstance(node.parent, exp.DataType)
                                  and node.this in TYPES):
            return None
        return f"type {node.sql('duckdb')} — use BIGINT, INTEGER, DOUBLE, DECIMAL, BOOLEAN, VARCHAR, DATE, TIMESTAMP or a list of them"
    if isinstance(node, (exp.Explode, exp.Unnest)):
        parent = node.parent.parent if isinstance(node.parent, exp.Alias) else node.parent
        if not isinstance(parent, exp.Select):
            return f"{node.sql('duckdb')} inside an expression — unnest in a subquery's select list, then cast outside"
        return None
    if type(node) not in SUPPORTED:
        return f"{node.sql('duckdb')[:80]} ({type(node).__name__})"
    return None
