"""Rows as text: an aligned table for people, CSV and JSON for scripts.

Every read command (`top`, `leads`, `campaigns`, `ls`) prints through here, so
`--format` and `--output` behave the same everywhere. Rates are exact
`Fraction`s until they are printed: JSON and CSV round them half away from zero
to 4 decimals with integer arithmetic (0.13875 → 0.1388, never 0.1387), a
table shows them as percentages.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from fractions import Fraction
from pathlib import Path

from .errors import ConfigError

FORMATS = ("table", "json", "csv")


def check_format(output_format: str) -> None:
    if output_format not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}; got '{output_format}'")


def round_rate(value: Fraction | None) -> float | None:
    """Round half away from zero to 4 decimals, exactly (rates are never negative)."""
    if value is None:
        return None
    scaled = Fraction(value) * 10000
    return ((2 * scaled.numerator + scaled.denominator) // (2 * scaled.denominator)) / 10000


def plain(value):
    """A value as JSON/CSV carry it: rates rounded, UTC times with a Z, the rest as is."""
    if isinstance(value, Fraction):
        return round_rate(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def cell(value) -> str:
    """A value as a table shows it: rates as percentages, '-' for nothing."""
    if value is None:
        return "-"
    if isinstance(value, Fraction):
        return f"{float(value) * 100:.2f}%"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def interval_cell(rate: float | None, low: float | None, high: float | None) -> str:
    """A rate with its 95 % interval as a table shows it: `13.9 % (10.4–18.2)`; '-' without one."""
    if rate is None:
        return "-"
    return f"{rate * 100:.1f} % ({low * 100:.1f}–{high * 100:.1f})"


def table(columns, rows, text_columns=()) -> str:
    """Aligned columns; text columns left-aligned, everything else right-aligned."""
    body = [[cell(v) for v in row] for row in rows]
    widths = [max([len(c), *(len(line[i]) for line in body)]) for i, c in enumerate(columns)]

    def line(values):
        return "  ".join(v.ljust(w) if c in text_columns else v.rjust(w)
                         for c, v, w in zip(columns, values, widths)).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths]), *map(line, body)]) + "\n"


def csv_text(columns, rows) -> str:
    """Header and rows; a list value becomes `a;b` as in the seed CSVs."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([";".join(map(str, v)) if isinstance(v, (list, tuple)) else plain(v) for v in row])
    return buffer.getvalue()


def records(columns, rows) -> list[dict]:
    return [{c: plain(v) for c, v in zip(columns, row)} for row in rows]


def json_text(payload) -> str:
    return json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n"


def formatted(output_format: str, columns, rows, *, envelope: dict | None = None, key: str = "",
              title: str = "", text_columns=(), empty: str = "(none)") -> str:
    """Rows in the chosen format: JSON records (inside `envelope` under `key` when
    given), CSV, or a table under a title line."""
    if output_format == "json":
        items = records(columns, rows)
        return json_text({**envelope, key: items} if envelope is not None else items)
    if output_format == "csv":
        return csv_text(columns, rows)
    body = table(columns, rows, text_columns) if rows else empty + "\n"
    return (title + "\n" if title else "") + body


def emit(text: str, output: Path | None, echo) -> None:
    """Print the text, or write it to the --output file instead."""
    if output is None:
        echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--output: cannot write {output}: {exc.strerror}") from None
