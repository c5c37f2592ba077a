"""Rows as text: an aligned table for people, CSV and JSON for scripts; Parquet and
XLSX files for BI tools and spreadsheets.

Every read command (`top`, `leads`, `campaigns`, `ls`, the analyses) prints through
here, so `--format` and `--output` behave the same everywhere. Parquet and XLSX are
files, so they need `--output`; they hold the rows (JSON's list of records) with the
values JSON and CSV show. Rates are exact
`Fraction`s until they are printed: JSON and CSV round them half away from zero
to 4 decimals with integer arithmetic (0.13875 → 0.1388, never 0.1387), a
table shows them as percentages.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import errno
import io
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

from .errors import ConfigError, DiskFullError, disk_full
from .sql import is_duckdb_file

TEXT_FORMATS = ("table", "json", "csv")
#: formats written only to a file (--output)
FILE_FORMATS = ("parquet", "xlsx")
FORMATS = TEXT_FORMATS + FILE_FORMATS
#: an XLSX worksheet's last row (Excel's limit), the header included
XLSX_MAX_ROWS = 1_048_576
#: the most characters an XLSX cell holds (Excel's limit; xlsxwriter cuts a longer string there)
XLSX_MAX_CHARS = 32_767


#: the format an --output file's extension names, used when --format is not given (as
#: DuckDB's COPY reads the format from the file name)
SUFFIX_FORMATS = {".csv": "csv", ".json": "json", ".parquet": "parquet", ".xlsx": "xlsx"}


def to_file(output: Path | str | None) -> Path | None:
    """The --output file, or None for stdout: no --output, or `-` (as curl and tar read it)."""
    return None if output is None or str(output) == "-" else Path(output)


def chosen_format(output_format: str | None, output: Path | None, default: str = "table") -> str:
    """--format as given; without it, the one the --output file's extension names, else `default`."""
    if output_format is not None:
        return output_format
    return SUFFIX_FORMATS.get(Path(output).suffix.lower(), default) if output else default


def check_format(output_format: str, output: Path | None | bool = True, formats: tuple = FORMATS) -> None:
    """A known --format; a file format needs --output (pass `output` to check that up front).
    `formats`: those of a command without --output (TEXT_FORMATS)."""
    if output_format not in formats:
        raise ConfigError(f"--format must be one of {', '.join(formats)}; got '{output_format}'")
    if output_format in FILE_FORMATS and output is None:
        raise ConfigError(f"--format {output_format} writes a file: add --output FILE")


@dataclass(frozen=True)
class FileRows:
    """Rows bound for a Parquet or XLSX file (formatted() for a file format)."""

    output_format: str
    columns: tuple
    rows: list


class Rate(float):
    """A rate rounded for output (the value JSON, CSV and files carry) that keeps its exact
    value, so a table rounds that once to a tenth of a percent: rounding the rounded 0.1265
    (from 12.646 %) again would show 12.7 where `top` shows 12.6."""

    __slots__ = ("exact",)


def round_rate(value: Fraction | float | None) -> Rate | None:
    """Round half away from zero to 4 decimals, exactly (a float by its exact binary value),
    as a Rate keeping the value it rounds (a Rate given is rounded from its own exact value)."""
    if value is None:
        return None
    value = getattr(value, "exact", value)
    scaled = abs(Fraction(value)) * 10000
    rounded = ((2 * scaled.numerator + scaled.denominator) // (2 * scaled.denominator)) / 10000
    rate = Rate(-rounded if value < 0 and rounded else rounded)
    rate.exact = value
    return rate


@dataclass(frozen=True)
class Interval:
    """A rate with its 95 % interval, as a table shows it: `13.9 % (10.4–18.2)`."""

    rate: Fraction | float | None
    low: Fraction | float | None
    high: Fraction | float | None

    def __str__(self) -> str:
        if self.rate is None:
            return "-"
        return f"{percent_text(self.rate)} % ({percent_text(self.low)}–{percent_text(self.high)})"


def percent_text(value, sign: str = "") -> str:
    """One decimal of a percentage, rounded half away from zero like the JSON's rates, from the
    exact value (rounding the JSON's 4 decimals again would turn 12.646 % into 12.7)."""
    tenths = float(round_rate(Fraction(getattr(value, "exact", value)) / 10)) * 1000
    return f"{tenths:{sign}.1f}"  # round_rate never gives -0.0


def plain(value):
    """A value as JSON/CSV carry it: rates rounded, UTC times with a Z, the rest as is."""
    if isinstance(value, Fraction):
        return round_rate(value)
    if isinstance(value, dt.datetime):
        return f"{value.year:04d}-{value:%m-%dT%H:%M:%S}Z"  # strftime's %Y writes year 1 as '1'
    return value


def cell(value) -> str:
    """A value as a table shows it: rates as percentages, '-' for nothing."""
    if value is None:
        return "-"
    if isinstance(value, Interval):
        return str(value)
    if isinstance(value, Fraction):  # half away from zero, as the JSON's 4 decimals (not a float's half-even)
        percent = Decimal(value.numerator) * 100 / Decimal(value.denominator)
        return f"{percent.quantize(Decimal('0.01'), ROUND_HALF_UP)}%"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def table(columns, rows, text_columns=()) -> str:
    """Aligned columns; text columns left-aligned, everything else right-aligned."""
    body = [[cell(v) for v in row] for row in rows]
    widths = [max([len(c), *(len(line[i]) for line in body)]) for i, c in enumerate(columns)]

    def line(values):
        return "  ".join(v.ljust(w) if c in text_columns else v.rjust(w)
                         for c, v, w in zip(columns, values, widths)).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths]), *map(line, body)]) + "\n"


def csv_text(columns, rows) -> str:
    """Header and rows, each ending in \\n; a list value becomes `a;b` as in the seed CSVs. The
    writer ends rows in \\r\\n, so that it quotes a value holding a bare \\r (it quotes only the
    characters of its line ending), and each ending is then made \\n, as DuckDB's files have it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def write(values) -> None:
        writer.writerow(values)
        buffer.seek(buffer.tell() - 2)
        buffer.truncate()
        buffer.write("\n")

    write(columns)
    for row in rows:
        write([";".join(map(str, v)) if isinstance(v, (list, tuple))
               else ("true" if v else "false") if isinstance(v, bool) else plain(v) for v in row])
    return buffer.getvalue()


def records(columns, rows) -> list[dict]:
    return [{c: plain(v) for c, v in zip(columns, row)} for row in rows]


def json_text(payload) -> str:
    return json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n"


def formatted(output_format: str, columns, rows, *, envelope: dict | None = None, key: str = "",
              title: str = "", text_columns=(), empty: str = "(none)") -> str:
    """Rows in the chosen format: JSON records (inside `envelope` under `key` when
    given), CSV, or a table under a title line."""
    if output_format in FILE_FORMATS:
        return FileRows(output_format, tuple(columns), [[file_value(v) for v in row] for row in rows])
    if output_format == "json":
        items = records(columns, rows)
        return json_text({**envelope, key: items} if envelope is not None else items)
    if output_format == "csv":
        return csv_text(columns, rows)
    body = table(columns, rows, text_columns) if rows else empty + "\n"
    return (title + "\n" if title else "") + body


def emit(text: "str | FileRows", output: Path | None, echo) -> None:
    """Print the text, or write it (or the file rows) to the --output file instead."""
    output = to_file(output)
    if isinstance(text, FileRows):
        check_format(text.output_format, output)
        write_file(text, Path(output))
        return
    if output is None:
        echo(text, nl=False)
        return
    try:
        with written(Path(output)) as partial:
            partial.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--output: cannot write {output}: {exc.strerror}") from None


@contextlib.contextmanager
def written(path: Path):
    """The name to write an --output file's new content to: a temporary file beside it, renamed
    over it once complete, so a write that fails (a full disk) leaves the old file as it was and
    no truncated one (SPEC §8); a full disk is one line, exit 1. A link (/dev/stdout) or a path
    that is no regular file (a pipe) is written in place, as the user's shell would."""
    check_target(path)
    in_place = path.is_symlink() or (path.exists() and not path.is_file())
    # the name cut so that the temporary one stays within a file name's 255 bytes
    partial = path if in_place else path.with_name(f".{path.name[:200]}.{os.getpid()}.tmp")
    try:
        yield partial
        if not in_place:
            os.replace(partial, path)
    except BaseException as exc:
        if not in_place:
            with contextlib.suppress(OSError):
                partial.unlink()
        if disk_full(exc, path.parent):  # /dev/full written in place too: one line, no traceback
            _collect_quietly(exc)
            raise DiskFullError(f"--output: the disk is full: no space left in {path.absolute().parent} — {path} was "
                                "not written; free some space and try again") from None
        raise


def check_target(path: Path) -> None:
    """An --output name longer than a file system takes, or a DuckDB database (the published
    file, or a link to it): an export written over it would lose what every reader and the
    next run rely on. Both are one line, exit 2."""
    if len(path.name.encode()) > 255:
        raise ConfigError(f"--output: cannot write {path.name[:40]}…: {os.strerror(errno.ENAMETOOLONG)}")
    target = path.resolve()
    if target.is_file() and is_duckdb_file(target):
        link = f" (a link to {target})" if path.is_symlink() else ""
        raise ConfigError(f"--output: {path}{link} is a DuckDB database, which segpipe never writes an "
                          "export over — give another file name")


def _collect_quietly(exc: BaseException) -> None:
    """Free what the failed write left open, without a word: xlsxwriter's unfinished zip file
    tries its write again when collected and would print that failure, a traceback, at exit."""
    import gc
    import sys
    import traceback

    hook, sys.unraisablehook = sys.unraisablehook, lambda _: None
    try:
        while exc is not None:
            traceback.clear_frames(exc.__traceback__)
            exc = exc.__context__ or next((arg for arg in exc.args if isinstance(arg, BaseException)), None)
        gc.collect()
    finally:
        sys.unraisablehook = hook


def file_value(value):
    """A value as a Parquet/XLSX cell holds it: like JSON's, a list stays a list."""
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, Fraction):
        return round_rate(value)
    if isinstance(value, Interval):
        return round_rate(value.rate) if value.rate is not None else None
    return value


def check_writable(path: Path) -> None:
    """An --output FILE that is a folder or cannot be written is one line and exit 2, found
    before the writer runs: DuckDB's COPY and xlsxwriter fail with their own errors, not
    OSError, which would read as an unexpected failure (exit 1)."""
    check_target(path)
    if path.is_dir():
        raise ConfigError(f"--output: cannot write {path}: {os.strerror(errno.EISDIR)}")
    if path.parent.is_dir() and not os.access(path if path.exists() else path.parent, os.W_OK):
        raise ConfigError(f"--output: cannot write {path}: {os.strerror(errno.EACCES)}")


def write_file(rows: FileRows, path: Path) -> None:
    """Write the rows as Parquet (through DuckDB, already a dependency) or XLSX."""
    check_writable(path)
    try:
        with written(path) as partial:
            if rows.output_format == "parquet":
                _write_parquet(rows, partial)
            else:
                write_xlsx(partial, rows.columns, rows.rows)
    except OSError as exc:
        raise ConfigError(f"--output: cannot write {path}: {exc.strerror or exc}") from None


#: output columns that hold fractions whatever the day's values (a whole score, no rate yet)
FRACTION_COLUMNS = ("score", "p_value", "p_adjusted", "difference")
FRACTION_SUFFIXES = ("_rate", "_low", "_high", "_shrunk", "_hours")
#: output columns that hold yes/no, counts and ids, or times, when a day has no value to tell
BOOLEAN_COLUMNS = ("significant", "control", "best")
INTEGER_SUFFIXES = ("_id", "leads_sent", "opened", "replied", "bounced", "clicked", "converted", "_tracked",
                    "shared_sends", "hour", "weekday", "_count")
TIME_SUFFIXES = ("_at",)


def _duckdb_type(name: str, values) -> str:
    """A Parquet column's type, the same on every day: from its values (any fraction makes a
    number column DOUBLE), and for a rate, score or p-value always DOUBLE; a column without
    any value (a window without sends) by its name, VARCHAR when the name says nothing."""
    present = [v for v in values if v is not None]
    fraction = name in FRACTION_COLUMNS or name.endswith(FRACTION_SUFFIXES)
    if not present:
        return ("DOUBLE" if fraction else "BOOLEAN" if name in BOOLEAN_COLUMNS else
                "BIGINT" if name.endswith(INTEGER_SUFFIXES) else "TIMESTAMP" if name.endswith(TIME_SUFFIXES)
                else "VARCHAR")
    sample = present[0]
    if isinstance(sample, bool):
        return "BOOLEAN"
    if isinstance(sample, (int, float)):
        return "DOUBLE" if fraction or any(isinstance(v, float) for v in present) else "BIGINT"
    for kind, type_ in ((dt.datetime, "TIMESTAMP"), (dt.date, "DATE"), (list, "VARCHAR[]")):
        if isinstance(sample, kind):
            return type_
    return "VARCHAR"


def _write_parquet(rows: FileRows, path: Path) -> None:
    import duckdb

    from .sql import quote_ident

    if not path.parent.is_dir():
        raise OSError(2, "No such file or directory")
    columns = list(zip(*rows.rows)) if rows.rows else [()] * len(rows.columns)
    definition = ", ".join(f"{quote_ident(name)} {_duckdb_type(name, values)}"
                           for name, values in zip(rows.columns, columns))
    with duckdb.connect() as con:
        con.execute(f"create table rows_out ({definition})")
        if rows.rows:
            con.executemany(f"insert into rows_out values ({', '.join('?' * len(rows.columns))})", rows.rows)
        con.execute("copy rows_out to $path (format parquet)", {"path": str(path)})


def write_xlsx(path: Path, columns, rows) -> int:
    """One worksheet: a bold header row, then the rows; lists as `a;b`, times as Excel times.

    xlsxwriter (not openpyxl): segpipe only writes workbooks, and xlsxwriter is a
    write-only, dependency-free library that streams rows (constant_memory), so a
    large export does not hold the whole sheet in memory."""
    import xlsxwriter

    if not Path(path).parent.is_dir():
        raise OSError(2, "No such file or directory")
    # xlsxwriter's temporary files (the sheet's rows, then each part of the zip) in a folder of their
    # own, removed whatever happens: it removes them only when the workbook is finished
    scratch = tempfile.mkdtemp(prefix="segpipe-xlsx-")
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                               "strings_to_formulas": False, "strings_to_urls": False,
                                               "tmpdir": scratch})
    try:
        sheet = workbook.add_worksheet("data")
        bold = workbook.add_format({"bold": True})
        stamp = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        day = workbook.add_format({"num_format": "yyyy-mm-dd"})
        sheet.write_row(0, 0, list(columns), bold)

        def refuse(message: str):
            raise ConfigError(f"--format xlsx: {message}; use --format parquet or csv")

        def write_text(r: int, c: int, text: str) -> None:
            # xlsxwriter would cut the text to the limit without a word: a truncated value, never
            if len(text) > XLSX_MAX_CHARS:
                refuse(f"{columns[c]} in row {r} has {len(text):,} characters, more than the {XLSX_MAX_CHARS:,} "
                       "an XLSX cell holds")
            sheet.write_string(r, c, text)

        r = 0
        for r, row in enumerate(rows, 1):
            if r >= XLSX_MAX_ROWS:
                refuse(f"more than {XLSX_MAX_ROWS - 1} rows do not fit in a worksheet")
            for c, value in enumerate(row):
                if value is None or (isinstance(value, float) and not math.isfinite(value)):
                    continue  # NaN and infinity: no number Excel holds; empty, as JSON's null
                if isinstance(value, (list, tuple)):
                    write_text(r, c, ";".join(map(str, value)))
                elif isinstance(value, dt.datetime):
                    sheet.write_datetime(r, c, value.replace(tzinfo=None), stamp)
                elif isinstance(value, dt.date):
                    sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), day)
                elif isinstance(value, bool):
                    sheet.write_boolean(r, c, value)
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    if isinstance(value, int) and abs(value) >= 2**53:
                        sheet.write_string(r, c, str(value))  # Excel numbers are doubles
                    else:
                        sheet.write_number(r, c, value)
                elif isinstance(value, Decimal) and value.is_finite() and Decimal(repr(float(value))) == value:
                    sheet.write_number(r, c, float(value))  # a DECIMAL column (a model's sum or round) is a number
                else:
                    write_text(r, c, str(value))
        workbook.close()
    except BaseException:
        _discard(workbook)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return r


def _discard(workbook) -> None:
    """Drop an unfinished workbook (a refused value, Ctrl-C, a full disk) without finishing it, which
    would write the whole file first; its temporary files go with write_xlsx's folder. Without that
    folder, an export stopped halfway left the sheet's rows in $TMPDIR (the size of the sheet, at
    every attempt), and one stopped by a full disk the workbook's parts."""
    workbook.fileclosed = True
    for sheet in workbook.worksheets():
        with contextlib.suppress(OSError):
            if getattr(sheet, "row_data_fh", None) is not None:
                sheet.row_data_fh.close()
