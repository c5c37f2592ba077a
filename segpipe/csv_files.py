"""CSV files DuckDB's reader refuses but a user's spreadsheet wrote: mixed line endings, and lines too long.

DuckDB detects one line ending per file (its sniffer), so a CRLF export with one
LF row, or `\r\r\n` endings, fails with "Error when sniffing file" or "state
machine reached an invalid state". Python's csv module reads every ending (and
skips the blank rows `\r\r\n` makes), so such a file is loaded from a copy
normalised by it — only after DuckDB failed, so well-formed files cost nothing.

A line longer than DuckDB's maximum line size (2 MB) is reported at line 1 of the
buffer, with the whole line quoted; `too_long_line` finds the real line instead.
DuckDB numbers records, not lines (it skips blank lines, and a quoted field may
span several): `record_line` finds the line a bad value's record starts on.

When DuckDB cannot read a file at all, or reads it as one column (its sniffer's
way out when no delimiter fits every row), `malformed` names the first line at
fault: too long, a quote never closed, a row with more or fewer fields than the
header. DuckDB keeps a NUL byte as part of a value; `nul_value` finds one first. A
byte that is not UTF-8 DuckDB reports on the wrong line: `not_utf8` finds the value.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import os
import re
import sys
import tempfile

#: DuckDB's default max_line_size, when its message does not say
MAX_LINE_SIZE = 2_000_000
#: the delimiters DuckDB's sniffer tries
DELIMITERS = (",", ";", "\t", "|")
#: DuckDB's reasons for a file whose line endings it could not follow
PARSE_FAILURES = ("Error when sniffing file", "state machine reached an invalid state")


def mixed_line_endings(exc: Exception, files: list[str]) -> list[str]:
    """The files among `files` with mixed line endings, when DuckDB failed to parse a CSV (else [])."""
    if not any(reason in str(exc) for reason in PARSE_FAILURES):
        return []
    return [path for path in files if _has_mixed_endings(path)]


def _has_mixed_endings(path: str) -> bool:
    """More than one kind of line ending (CRLF, LF, a lone CR) in the file, or `\\r\\r\\n`."""
    kinds: set[bytes] = set()
    with _open(path) as handle:
        for line in handle:  # split at each LF
            if line.endswith(b"\r\r\n"):
                return True
            kinds.add(b"\r\n" if line.endswith(b"\r\n") else b"\n" if line.endswith(b"\n") else b"")
            if b"\r" in line.rstrip(b"\r\n"):
                kinds.add(b"\r")
            if len(kinds - {b""}) > 1:
                return True
    return False


@contextlib.contextmanager
def _any_field_size():
    """Python's csv module refuses fields past 128 KB; DuckDB, not this module, judges a field's size."""
    limit = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize)
    try:
        yield
    finally:
        csv.field_size_limit(limit)


@contextlib.contextmanager
def normalised(files: list[str]):
    """{file: a copy of it as Python's csv module reads it (with its delimiter), with LF endings and no blank rows}."""
    with _any_field_size():
        with tempfile.TemporaryDirectory(prefix="segpipe-csv-") as folder:
            copies = {}
            for number, path in enumerate(files):
                # the copy is plain text: a .gz name would make DuckDB read it as gzip ("not a GZIP stream")
                name = re.sub(r"\.(gz|gzip)$", "", os.path.basename(path), flags=re.IGNORECASE)
                copy = os.path.join(folder, f"{number}-{name}")
                with _open(path, text=True) as source, \
                        open(copy, "w", newline="", encoding="utf-8", errors="surrogateescape") as target:
                    # the file's own delimiter, kept: read with ',' a ';' file (European Excel) became
                    # one column of quoted lines, and its load failed naming a line that was fine
                    delimiter = _delimiter(source)
                    writer = csv.writer(target, delimiter=delimiter, lineterminator="\n")
                    writer.writerows(row for row in csv.reader(source, delimiter=delimiter) if row)
                copies[path] = copy
            yield copies


def record_line(path: str, number: int, delimiter: str = ",", quote: str = '"', escape: str = '"',
                skip: int = 0) -> int | None:
    """The line (1-based) where data record `number` of `path` starts, 1 being the record
    after the header, `skip` lines before it; blank lines are no records, as for DuckDB
    and `normalised`. None when the file has fewer records. For an error message only:
    it reads the file up to that record in Python."""
    with _any_field_size(), _open(path, text=True) as handle:
        for _ in range(skip):
            handle.readline()
        reader = csv.reader(handle, delimiter=delimiter, quotechar=quote, doublequote=escape == quote,
                            escapechar=None if escape == quote else escape)
        records, ended = -1, 0  # the header is record 0; `ended`: the line the previous row ended on
        try:
            for row in reader:
                if row:
                    records += 1
                    if records == number:
                        return skip + ended + 1
                ended = reader.line_num
        except csv.Error:
            return None
    return None


def too_long_line(files: list[str], reason: str = "") -> tuple[str, int, int, int] | None:
    """(file, line number, its size, the limit) of the first line past DuckDB's maximum
    line size (the one DuckDB's `reason` states, else its default), or None. DuckDB
    says so for a 10 MB line; a line of a few MB fails its sniffer instead."""
    found = re.search(r"Maximum line size of (\d+) bytes exceeded", reason)
    limit = int(found.group(1)) if found else MAX_LINE_SIZE
    for path in files:
        with _open(path) as handle:
            for number, line in enumerate(handle, 1):
                if len(line.rstrip(b"\r\n")) > limit:
                    return path, number, len(line.rstrip(b"\r\n")), limit
    return None


def malformed(path: str) -> tuple[int, str] | None:
    """(line, what is wrong) for the first record of `path` that breaks its header's
    shape, read as RFC 4180 CSV with the delimiter that splits the header the most:
    a quoted field never closed (the line it starts on), a quote followed by text, a
    record with more or fewer fields than the header. None when every record fits.
    Every CSV a run loads is checked so, before DuckDB reads it (about 1 s per million
    lines): DuckDB drops a trailing empty field too many and mis-sniffs a line with one
    more, silently."""
    with _any_field_size(), _open(path, text=True) as handle:
        delimiter = _delimiter(handle)
        reader = csv.reader(handle, delimiter=delimiter, strict=True)
        header, ended = None, 0  # `ended`: the line the previous record ended on
        try:
            for row in reader:
                if row and header is None:
                    header = row
                elif row and len(row) != len(header):
                    return ended + 1, (f"has {len(row)} fields where the header has {len(header)} — every line "
                                       f"needs {len(header)}, empty ones too, and a value holding {delimiter!r} "
                                       "must be in double quotes")
                ended = reader.line_num
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                return ended + 1, ("has a quoted field that is never closed (a \" with no closing \") "
                                   "— close it, or write a quote inside a quoted field as \"\"")
            return reader.line_num, f"is not valid CSV ({exc}) — write a quote inside a quoted field as \"\""
    return None


def nul_value(path: str) -> tuple[int, str, str] | None:
    """(line, column, value) of the first value of `path` holding a NUL character, else None.
    A scan for the byte first (a 100 MB file: ~0.05 s), the CSV is parsed only when one is there."""
    with _open(path) as handle:
        if not any(b"\0" in chunk for chunk in iter(lambda: handle.read(1 << 24), b"")):
            return None
    return _first_value(path, lambda value: "\0" in value)


def repeated_column(path: str, names) -> tuple[str, int, int] | None:
    """(name, its first and second place, 1-based) of the first of `names` the header of `path`
    holds twice, compared as DuckDB does (ignoring case), else None. DuckDB reads the
    second as `<name>_1`, so the first would win silently."""
    with _open(path, text=True) as handle:
        header = next((row for row in csv.reader(handle, delimiter=_delimiter(handle)) if row), [])
    wanted, seen = {name.lower() for name in names}, {}
    for place, column in enumerate(header, 1):
        key = column.strip().lower()
        if key in wanted and key in seen:
            return column, seen[key], place
        seen.setdefault(key, place)
    return None


def not_utf8(path: str) -> tuple[int, str, str] | None:
    """(line, column, value) of the first value of `path` with bytes that are not UTF-8 (a
    Latin-1 or Windows-1252 export), the value read as Windows-1252; else None. DuckDB
    refuses such a file naming the wrong line; only after it failed: this reads the file in Python."""
    found = _first_value(path, lambda value: any("\udc80" <= c <= "\udcff" for c in value))
    if found:
        line, column, value = found
        return line, column, value.encode("utf-8", "surrogateescape").decode("cp1252", "replace")
    return None


def _first_value(path: str, bad) -> tuple[int, str, str] | None:
    """(line, column, value) of the first value of `path` for which `bad(value)` is true, else None."""
    with _any_field_size(), _open(path, text=True) as handle:
        reader = csv.reader(handle, delimiter=_delimiter(handle))
        header, ended = None, 0
        for row in reader:
            index = next((i for i, value in enumerate(row) if bad(value)), None)
            if index is not None:
                name = header[index] if header and index < len(header) else f"field {index + 1}"
                return ended + 1, name, row[index]
            if row and header is None:
                header = row
            ended = reader.line_num
    return None


#: how a compressed file starts: DuckDB reads gzip and zstd CSV, so these checks must not
#: read the compressed bytes as text
GZIP_MAGIC, ZSTD_MAGIC = b"\x1f\x8b", b"\x28\xb5\x2f\xfd"


def _open(path: str, text: bool = False):
    """The file's bytes, or its text (without a BOM) as the csv module reads it, through gzip for a gzip
    file; for zstd, which Python 3.11 cannot read, nothing (so no check finds a fault in it
    and DuckDB's own message stands)."""
    with open(path, "rb") as probe:
        magic = probe.read(4)
    if magic == ZSTD_MAGIC:
        return io.StringIO() if text else io.BytesIO()
    opener = gzip.open if magic[:2] == GZIP_MAGIC else open
    if text:
        # utf-8-sig: a BOM (Excel's "CSV UTF-8") is no part of the first column's name; kept, a
        # normalised copy of '\ufeff"id",…' wrote it inside the quotes, and 'id' went missing
        return opener(path, "rt", newline="", encoding="utf-8-sig", errors="surrogateescape")
    return opener(path, "rb")


def header(path: str) -> tuple[str, tuple[str, ...]]:
    """(delimiter, column names) of `path`: the one of DELIMITERS that splits its header most, as
    DuckDB's sniffer finds it in a file that loads, and the header split by it. Spark reads the
    file with them; files of one glob may differ in both (DuckDB reads them by name, union_by_name)."""
    with _any_field_size(), _open(path, text=True) as handle:
        found = _delimiter(handle)
        return found, tuple(next((row for row in csv.reader(handle, delimiter=found) if row), ()))


def _delimiter(handle) -> str:
    """The one of DELIMITERS that splits the first non-blank line into most fields; `handle` rewound."""
    first = next((line for line in handle if line.strip()), "")
    handle.seek(0)
    return max(DELIMITERS, key=lambda d: len(next(csv.reader([first], delimiter=d), [])))
