"""`segpipe export`: a published table, or the leads of the top segments, to a file.

`export TABLE` copies any published table (the default schema of the file, what a
BI tool sees) to CSV or Parquet with DuckDB's own writers, or to XLSX streamed row
by row, so a table of millions of rows never sits in Python's memory.
`export leads --top N` ranks segments exactly as `segpipe top` (same options) and
writes each lead of the first N once, with the ids of those ranked segments it
matches, best-ranked first: a list a sequencer imports.
"""

from __future__ import annotations

from pathlib import Path

from ..contract import LEADS, SEGMENT_LEADS
from ..drilldown import LEAD_COLUMNS, SCORE
from ..errors import ConfigError
from ..output import XLSX_MAX_ROWS, check_writable, write_xlsx, written
from ..published import query
from ..sql import quote_ident, quote_str
from ..suggest import did_you_mean
from ..top import Window, rank_segments

EXPORT_FORMATS = ("csv", "parquet", "xlsx")
BATCH = 10_000


def published_tables(con) -> list[str]:
    return [name for (name,) in query(con, "select table_name from information_schema.tables "
                                           "where table_catalog = current_database() and table_schema = 'main' "
                                           "order by table_name")]


def check_export_format(output_format: str, output: Path | None, named_by_file: bool = False) -> None:
    """`named_by_file`: the format is the one the --output file's extension names (no --format)."""
    if output_format not in EXPORT_FORMATS and named_by_file:
        raise ConfigError(f"--output {output.name}: export writes {', '.join(EXPORT_FORMATS)}, not {output_format} — "
                          f"end the name in .csv, .parquet or .xlsx, or add --format")
    if output_format not in EXPORT_FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(EXPORT_FORMATS)}; got '{output_format}'")
    if output is None and output_format != "csv":
        raise ConfigError(f"--format {output_format} writes a file: add --output FILE")


def table_query(con, table: str) -> str:
    """`select * from` the published table, named exactly (a name is data: quoted, and must exist)."""
    tables = published_tables(con)
    if table not in tables:
        raise ConfigError(f"no published table '{table}'{did_you_mean(table, tables)}; "
                          f"published tables: {', '.join(tables)} (or `export leads --top N`)")
    # a zoned time (a project model's TIMESTAMPTZ) as the naive UTC time every other column holds:
    # Python would need pytz to fetch it, and the files have no zone either
    columns = [f"timezone('UTC', {quote_ident(name)}) as {quote_ident(name)}" if type_ == "TIMESTAMP WITH TIME ZONE"
               else quote_ident(name) for name, type_, *_ in query(con, f"describe main.{quote_ident(table)}")]
    return f"select {', '.join(columns)} from main.{quote_ident(table)}"


def top_leads_query(con, window: Window, metric: str, top: int, min_sent: int, workspace_id: int | None,
                    rank_by: str, list_separator: str | None) -> tuple[str, list[int]]:
    """(the query of the top segments' leads, the ranked segment ids). Each lead once, with
    the ids of the ranked segments it matches in rank order; leads of the best-ranked
    segment first, then by score (best first) and id. With `list_separator` (CSV) the
    lists are joined into text like `1;7`, as in the seed CSVs."""
    ranked = [row["segment_id"] for row in rank_segments(con, window, metric, top, min_sent, workspace_id, rank_by)]
    ids = ", ".join(f"({int(segment_id)}, {rank})" for rank, segment_id in enumerate(ranked, 1)) or "(null, null)"

    def as_listed(expression: str) -> str:
        return expression if list_separator is None else f"array_to_string({expression}, {quote_str(list_separator)})"

    # in CSV a whole score is written as the integer it is (90, not DuckDB's 90.0), as `segpipe leads` shows it
    score = SCORE if list_separator is None else (
        f"case when {SCORE} = trunc({SCORE}) and abs({SCORE}) < 1e15 then cast(cast({SCORE} as bigint) as varchar) "
        f"else cast({SCORE} as varchar) end")
    listed = {"tags": as_listed("l.tags"), "score": score}
    attributes = [f"any_value({listed.get(c, 'l.' + quote_ident(c))}) as {quote_ident(c)}" for c in LEAD_COLUMNS[1:]]
    sql = f"""
        with ranked(segment_id, rank) as (values {ids})
        select l.lead_id, {", ".join(attributes)},
               {as_listed("list(sl.segment_id order by r.rank)")} as segment_ids
        from {SEGMENT_LEADS} as sl
        join ranked as r on r.segment_id = sl.segment_id
        join {LEADS} as l on l.lead_id = sl.lead_id
        group by l.lead_id
        order by min(r.rank), any_value({SCORE}) desc nulls last, l.lead_id"""
    return sql, ranked


def as_csv_text(con, sql: str) -> str:
    """The query with lists as `a;b`, times as `2025-01-31T09:00:00Z`, empty text as nothing and
    every other value but a boolean as text, as the CSV of the other commands (output.csv_text)
    writes them: DuckDB's CSV writer would write `[a, b]`, `2025-01-31 09:00:00` and `""`. Both a
    file (DuckDB's writer) and stdout (output.csv_text) are written from it, so they hold the same."""
    columns = []
    for name, type_, *_ in con.execute(f"describe {sql}").fetchall():
        column = quote_ident(name)
        if type_.endswith("]"):
            column = f"nullif(array_to_string({column}, ';'), '') as {column}"
        elif type_ == "VARCHAR":
            column = f"nullif({column}, '') as {column}"
        elif type_ == "TIMESTAMP":
            column = f"strftime({column}, '%Y-%m-%dT%H:%M:%SZ') as {column}"
        elif type_ != "BOOLEAN":
            # every other value as DuckDB's CSV writer spells it, so stdout shows what a file holds
            # (Python spells a FLOAT 0.1 0.10000000149011612, an INTERVAL '3 days, 0:00:00', a BLOB b'ab')
            column = f"cast({column} as varchar) as {column}"
        columns.append(column)
    return f"select {', '.join(columns)} from ({sql})"


def write_query(con, sql: str, output_format: str, output: Path | None, echo) -> int:
    """Write the query's rows to the file (CSV without --output: to stdout); returns how many rows."""
    from ..output import csv_text

    if output is None:
        cursor = con.execute(as_csv_text(con, sql))
        rows = cursor.fetchall()
        echo(csv_text([d[0] for d in cursor.description], rows), nl=False)
        return len(rows)
    if not Path(output).parent.is_dir():
        raise ConfigError(f"--output: cannot write {output}: its folder does not exist")
    check_writable(Path(output))
    if output_format == "csv":
        sql = as_csv_text(con, sql)
    with written(Path(output)) as partial:
        if output_format == "xlsx":
            # a table too long for a sheet is refused before a million rows are written for nothing
            if query(con, f"select count(*) from ({sql})")[0][0] >= XLSX_MAX_ROWS:
                raise ConfigError(f"--format xlsx: more than {XLSX_MAX_ROWS - 1} rows do not fit in a worksheet; "
                                  "use --format parquet or csv")
            cursor = con.execute(sql)

            def rows():
                while batch := cursor.fetchmany(BATCH):
                    yield from batch

            return write_xlsx(partial, [d[0] for d in cursor.description], rows())
        options = "format parquet" if output_format == "parquet" else "format csv, header true"
        return query(con, f"copy ({sql}) to {quote_str(str(partial))} ({options})")[0][0]
