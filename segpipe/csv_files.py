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
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import sys
import tempfile

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
    with open(path, "rb") as handle:
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
    """{file: a copy of it as Python's csv module reads it, with LF endings and no blank rows}."""
    with _any_field_size():
        with tempfile.TemporaryDirectory(prefix="segpipe-csv-") as folder:
            copies = {}
            for number, path in enumerate(files):
                copy = os.path.join(folder, f"{number}-{os.path.basename(path)}")
                with open(path, newline="", encoding="utf-8", errors="surrogateescape") as source, \
                        open(copy, "w", newline="", encoding="utf-8", errors="surrogateescape") as target:
                    writer = csv.writer(target, lineterminator="\n")
                    writer.writerows(row for row in csv.reader(source) if row)
                copies[path] = copy
            yield copies


def record_line(path: str, number: int, delimiter: str = ",", quote: str = '"', escape: str = '"',
                skip: int = 0) -> int | None:
    """The line (1-based) where data record `number` of `path` starts, 1 being the record
    after the header, `skip` lines before it; blank lines are no records, as for DuckDB
    and `normalised`. None when the file has fewer records. For an error message only:
    it reads the file up to that record in Python."""
    with _any_field_size(), open(path, newline="", encoding="utf-8", errors="surrogateescape") as handle:
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


def too_long_line(exc: Exception, files: list[str]) -> tuple[str, int, int, int] | None:
    """(file, line number, its size, the limit) of the first line past DuckDB's maximum
    line size, when that is why `exc` was raised; None otherwise."""
    found = re.search(r"Maximum line size of (\d+) bytes exceeded", str(exc))
    if not found:
        return None
    limit = int(found.group(1))
    for path in files:
        with open(path, "rb") as handle:
            for number, line in enumerate(handle, 1):
                if len(line.rstrip(b"\r\n")) > limit:
                    return path, number, len(line.rstrip(b"\r\n")), limit
    return None
