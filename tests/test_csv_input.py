"""SPEC §8, §12: CSV exports as spreadsheets and apps write them — mixed line endings
load as Python's csv module reads them; a 10 MB field and a bad value are one line
naming the real line, the reason and what the column accepts."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import time
from zoneinfo import ZoneInfo

import duckdb
import pytest

from tests.conftest import LEAD_COLUMNS, make_project, run_segpipe
from tests.datasets import AS_OF, CAMPAIGNS, LEADS, SEGMENTS, SENDS


@pytest.fixture
def root(tmp_path):
    return make_project(tmp_path / "proj", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS)


def run(root):
    return run_segpipe("run", "--project-dir", root, "--as-of", AS_OF.isoformat())


def python_rows(data: bytes) -> list[dict]:
    """The rows as Python's csv module reads them (DictReader skips blank rows)."""
    return list(csv.DictReader(io.StringIO(data.decode(), newline="")))


def loaded_leads(root) -> list[dict]:
    with duckdb.connect(str(root / "out.duckdb"), read_only=True) as con:
        cursor = con.execute("select id, email, country, tags from src.leads order by id")
        return [dict(zip([d[0] for d in cursor.description], row)) for row in cursor.fetchall()]


def crlf_with_one_lf_row(data: bytes) -> bytes:
    lines = data.split(b"\r\n")
    assert len(lines) > 5  # conftest.write_csv writes CRLF, as csv.writer does
    return b"\r\n".join(lines[:4]) + b"\n" + b"\r\n".join(lines[4:])


def excel_utf8_quoted(data: bytes) -> bytes:
    """As Excel's "CSV UTF-8" or a CRM writes it: a BOM, and every field in quotes (the header's too)."""
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(
        csv.reader(io.StringIO(data.decode(), newline="")))
    return "\ufeff".encode() + out.getvalue().encode()


@pytest.mark.parametrize("rewrite", [crlf_with_one_lf_row, lambda data: data.replace(b"\r\n", b"\r\r\n"),
                                     lambda data: crlf_with_one_lf_row(excel_utf8_quoted(data))],
                         ids=["crlf-with-one-lf", "cr-cr-lf", "bom-quoted-header-crlf-with-one-lf"])
def test_mixed_line_endings_load_as_pythons_csv_reads_them(root, rewrite):
    leads = root / "seeds" / "leads.csv"
    leads.write_bytes(rewrite(leads.read_bytes()))
    result = run(root)
    assert result.returncode == 0, result.stderr
    expected = sorted(python_rows(leads.read_bytes().removeprefix("\ufeff".encode())), key=lambda row: int(row["id"]))
    assert len(expected) == len(LEADS)
    got = loaded_leads(root)
    assert [row["id"] for row in got] == [int(row["id"]) for row in expected]
    assert [row["email"] for row in got] == [row["email"] or None for row in expected]
    assert [row["country"] for row in got] == [row["country"] or None for row in expected]


def test_a_semicolon_csv_with_mixed_line_endings_loads_as_pythons_csv_reads_it(root):
    """European Excel writes ';' between values; its copy with one line ending must keep that
    delimiter: read with ',' every line became one quoted field and the run stopped, naming
    line 2 as having 1 field."""
    leads = root / "seeds" / "leads.csv"
    rows = list(csv.reader(io.StringIO(leads.read_text(), newline="")))
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\r\n").writerows(rows)  # tags hold ';': quoted
    leads.write_bytes(out.getvalue().encode())
    result = run(root)
    assert result.returncode == 0, result.stderr
    expected = sorted(csv.DictReader(io.StringIO(out.getvalue(), newline=""), delimiter=";"), key=lambda r: int(r["id"]))
    assert len(expected) == len(LEADS)
    got = loaded_leads(root)
    assert [row["id"] for row in got] == [int(row["id"]) for row in expected]
    assert [row["email"] for row in got] == [row["email"] or None for row in expected]
    assert [row["tags"] for row in got] == [[t.strip() for t in row["tags"].split(";") if t.strip()] for row in expected]


def test_a_10_mb_field_names_its_real_line_and_duckdbs_reason(root):
    leads = root / "seeds" / "leads.csv"
    lines = leads.read_bytes().split(b"\r\n")
    header, first = lines[0], lines[1]
    rows = [first.replace(b"1,1,", f"{n},1,".encode(), 1) for n in range(100, 140)]  # lines 2-41
    huge = b"41,1,x@y.io,linkedin,50,US,Founder,1-10,SaaS," + b"t" * (10 * 1024 * 1024) + b",,"  # line 42
    leads.write_bytes(b"\n".join([header, *rows, huge, *rows[:3]]) + b"\n")
    result = run(root)
    assert result.returncode == 2
    assert result.stderr == (f"Error: seeds/leads.csv: cannot read: line 42 is {len(huge):,} bytes, more than DuckDB's "
                             "maximum line size (2,000,000 bytes) — a field that long is not lead data; fix or "
                             "remove that line\n")


@pytest.mark.parametrize("seed, column, value, forms", [
    ("campaign_leads", "sent_at", "next tuesday",
     "a date or time such as 2025-01-31, 2025-01-31 09:30:00 or 2025-01-31T09:30:00Z (naive times are UTC; a zone or offset needs the seconds)"),
    ("leads", "score", "ninety", "a number such as 72.5"),
    ("campaign_leads", "opened", "maybe", "true/false, t/f, yes/no, y/n or 1/0"),
    ("leads", "workspace_id", "one", "a whole number such as 42"),
])
def test_a_bad_value_says_what_the_column_accepts_and_never_offers_column_types_for_a_fixed_type(
        root, seed, column, value, forms):
    path = root / "seeds" / f"{seed}.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text(), newline="")))
    rows[2][column] = value  # line 4
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), newline="")
    result = run(root)
    assert result.returncode == 2
    type_ = {"sent_at": "TIMESTAMP", "score": "DOUBLE", "opened": "BOOLEAN", "workspace_id": "BIGINT"}[column]
    assert result.stderr == (f"Error: seeds/{seed}.csv: line 4, column '{column}': cannot read {value!r} as {type_} "
                             f"— it takes {forms}; fix the value\n")


def test_a_bad_value_in_a_column_typed_by_column_types_offers_column_types(root):
    config = root / "project.yml"
    config.write_text(config.read_text() + "seeds:\n  column_types:\n    zip_codes: {population: BIGINT}\n")
    (root / "seeds" / "zip_codes.csv").write_text("zip,population\n10001,21102\n94105,many\n")
    result = run(root)
    assert result.returncode == 2
    assert result.stderr == ("Error: seeds/zip_codes.csv: line 3, column 'population': cannot read 'many' as BIGINT "
                             "— it takes a whole number such as 42; fix the value or change the column's type under "
                             "column_types\n")


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def published(root):
    """The project after a good run: a bad value must leave this file exactly as it is."""
    result = run(root)
    assert result.returncode == 0, result.stderr
    return root


def set_values(path, values: dict[int, str], column: str) -> None:
    """Write values[i] into `column` of data row i (row 0 is line 2)."""
    rows = list(csv.DictReader(io.StringIO(path.read_text(), newline="")))
    for index, value in values.items():
        rows[index][column] = value
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), newline="")


@pytest.mark.parametrize("seed, column, value", [
    ("leads", "workspace_id", "1.6"),         # DuckDB's cast would publish 2
    ("campaigns", "segment_id", "1.5"),       # 2
    ("campaign_leads", "lead_id", "0.6"),     # 1
    ("leads", "id", "2.5"),                   # 3
    ("leads", "workspace_id", "1e3"),         # 1000
    ("campaign_leads", "campaign_id", "0x10"),  # 16
    ("leads", "id", "1_000"),                 # 1000
    ("campaigns", "workspace_id", "\t1"),     # only spaces are trimmed, as for text
])
def test_an_integer_column_takes_only_whole_numbers_and_never_rounds(published, seed, column, value):
    assert_bad_value(published, seed, column, value, "BIGINT — it takes a whole number such as 42")


def assert_bad_value(published, seed: str, column: str, value: str, read_as: str) -> None:
    """`value` in line 4 of the seed: refused naming file, line, column and the form the column
    takes (`read_as`)."""
    set_values(published / "seeds" / f"{seed}.csv", {2: value}, column)  # line 4
    assert_refused(published, f"seeds/{seed}.csv: line 4, column '{column}': cannot read {value!r} as {read_as}; "
                              "fix the value")


def assert_refused(published, message: str) -> None:
    """A run of the published project (its sources just edited) stops with exit 2 and the one
    line `message`, and leaves the published file as it was."""
    before = digest(published / "out.duckdb")
    result = run(published)
    assert (result.returncode, result.stderr) == (2, f"Error: {message}\n")
    assert digest(published / "out.duckdb") == before


def test_an_integer_may_have_a_sign_leading_zeros_and_spaces_around_it(root):
    leads = root / "seeds" / "leads.csv"
    set_values(leads, {0: " 1 ", 1: "+1", 2: "001.0", 3: "-7"}, "workspace_id")  # 1.0: pandas' nullable integers
    result = run(root)
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(root / "out.duckdb"), read_only=True) as con:
        got = con.execute("select workspace_id from src.leads order by id limit 4").fetchall()
    assert got == [(1,), (1,), (1,), (-7,)]


HEADER = ",".join(LEAD_COLUMNS)
GOOD = "1,1,a@x.io,linkedin,70,US,CEO,1-10,SaaS,vip,2025-01-01,"
QUOTED = '1,1,a@x.io,"two\nline source",70,US,CEO,1-10,SaaS,vip,2025-01-01,"{""a"": ""b\nc""}"'
BAD = "2,1,b@x.io,linkedin,high,US,CEO,1-10,SaaS,vip,2025-01-01,"


@pytest.mark.parametrize("text, line", [
    (f"{HEADER}\n{QUOTED}\n{BAD}\n", 5),                        # two quoted fields span 3 lines
    (f"{HEADER}\n{GOOD}\n\n\n{BAD}\n", 5),                      # blank lines are no records
    (f"{HEADER}\r\n{GOOD}\r\n\r\n{BAD}\n", 4),                  # mixed endings: loaded from a normalised copy
    (f"{HEADER}\n{QUOTED}\n\n{BAD}\n".replace(",", ";"), 6),    # the delimiter DuckDB detected
    (f"{HEADER}\r\r\n{QUOTED}\r\r\n{BAD}\r\r\n".replace(",", ";"), 7),  # both: the file's records, by its delimiter
], ids=["quoted-multi-line", "blank-lines", "mixed-endings", "semicolons", "semicolons-mixed-endings"])
def test_a_bad_value_names_the_line_its_record_starts_on(published, text, line):
    (published / "seeds" / "leads.csv").write_bytes(text.encode())
    assert text.splitlines()[line - 1].startswith("2")  # `line` counted by hand; check it
    assert_refused(published, f"seeds/leads.csv: line {line}, column 'score': cannot read 'high' as DOUBLE — it takes "
                              "a number such as 72.5; fix the value")


def test_a_bad_tags_value_says_both_forms_tags_take(published):
    assert_bad_value(published, "leads", "tags", "[beta];vip",
                     'VARCHAR[] — it takes text separated by ; such as webinar;hiring, or a JSON array such as '
                     '["webinar","hiring"] (text starting with [ is read as JSON)')


ROWS = [GOOD.replace("1,1,", f"{n},1,", 1) for n in range(10, 20)]  # lines 2-11


@pytest.mark.parametrize("broken, line, reason", [
    (ROWS[3] + ",extra", 5, "has 13 fields where the header has 12 — every line needs 12, empty ones too, and a value "
                            "holding ',' must be in double quotes"),
    (ROWS[3].rsplit(",", 1)[0], 5, "has 11 fields where the header has 12 — every line needs 12, empty ones too, and "
                                   "a value holding ',' must be in double quotes"),
    ('13,1,"x@y.example,apollo,50,US,CEO,1-10,SaaS,,2025-01-01 00:00:00,', 5,
     'has a quoted field that is never closed (a " with no closing ") — close it, or write a quote inside a quoted '
     'field as ""'),
    # DuckDB loaded these two without a word: it dropped the empty field too many, shifting every
    # value after the unquoted comma in 'CEO, Founder' (company_size ' Founder', industry '1-10')
    (ROWS[3] + ",", 5, "has 13 fields where the header has 12 — every line needs 12, empty ones too, and a value "
                       "holding ',' must be in double quotes"),
    (ROWS[3].replace(",CEO,", ",CEO, Founder,"), 5,
     "has 13 fields where the header has 12 — every line needs 12, empty ones too, and a value holding ',' must be "
     "in double quotes"),
], ids=["a-field-too-many", "a-field-too-few", "unterminated-quote", "an-empty-field-too-many", "a-stray-comma"])
def test_a_line_that_breaks_the_csv_shape_is_named_not_blamed_on_the_header(published, broken, line, reason):
    """DuckDB's sniffer reads such a file as one column (a false 'missing required columns'),
    or with ' as the quote (blaming a good line's JSON)."""
    lines = [HEADER, *ROWS[:3], broken, *ROWS[4:]]
    assert lines[line - 1] == broken
    (published / "seeds" / "leads.csv").write_text("\n".join(lines) + "\n")
    assert_refused(published, f"seeds/leads.csv: cannot read: line {line} {reason}")


def test_a_quote_in_the_middle_of_a_field_of_a_custom_seed_is_named(published):
    """Read as one column, the seed would have loaded as a single text column without a word."""
    (published / "seeds" / "zip_codes.csv").write_text('zip,city\n10001,New York\n94105,"San" Francisco\n')
    result = run(published)
    assert result.returncode == 2
    assert result.stderr.startswith("Error: seeds/zip_codes.csv: cannot read: line 3 is not valid CSV (")
    assert result.stderr.count("\n") == 1


def test_a_3_mb_field_names_its_real_line_within_seconds(published):
    """A field of a few MB fails DuckDB's sniffer ('Error when sniffing file ""'), not its line size check."""
    huge = "99,1,x@y.io,linkedin,50,US,Founder,1-10,SaaS," + "t" * (3 * 1024 * 1024) + ",2025-01-01,"
    (published / "seeds" / "leads.csv").write_text("\n".join([HEADER, *ROWS[:5], huge, *ROWS[5:]]) + "\n")
    started = time.monotonic()
    assert_refused(published, f"seeds/leads.csv: cannot read: line 7 is {len(huge):,} bytes, more than DuckDB's maximum "
                              "line size (2,000,000 bytes) — a field that long is not lead data; fix or remove that line")
    assert time.monotonic() - started < 30


def test_a_nul_character_in_a_value_is_refused_naming_line_and_column(published):
    rows = [*ROWS[:2], '12,1,a@x.io,linkedin,70,US,"CE\0O\nline two",1-10,SaaS,vip,2025-01-01,', *ROWS[3:]]
    (published / "seeds" / "leads.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    assert_refused(published, "seeds/leads.csv: line 4, column 'role': cannot read 'CE\\x00O\\nline two' — a NUL "
                              "character (\\x00) is no text; remove it (a file full of them is UTF-16: save it as UTF-8)")


@pytest.mark.parametrize("line", [3, 3000], ids=["in-duckdbs-sample", "past-it"])
def test_a_latin_1_byte_names_its_line_column_and_value(published, line):
    """DuckDB says 'CSV Error on Line: 2', quoting the header, for a Latin-1 é on line 3."""
    rows = [f"{n},1,a{n}@x.io,linkedin,70,US,CEO,1-10,SaaS,vip,2025-01-01," for n in range(10, 10 + line)]
    rows[line - 2] = rows[line - 2].replace("US,CEO", "US,Directeur g\xe9n\xe9ral")
    (published / "seeds" / "leads.csv").write_bytes("\n".join([HEADER, *rows]).encode("latin-1") + b"\n")
    verb = "cannot read" if line < 100 else "cannot load"  # DuckDB's sniffer meets it, or the load does
    assert_refused(published, f"seeds/leads.csv: {verb}: line {line}, column 'role': 'Directeur général' is not UTF-8 "
                              "text (Latin-1 or Windows-1252?) — save the file as UTF-8")


@pytest.mark.parametrize("extra, shown, places", [("email", "email", (3, 13)), (" Score ", " Score ", (5, 13))],
                         ids=["same", "case-and-spaces"])
def test_a_column_segpipe_reads_written_twice_in_the_header_is_refused(published, extra, shown, places):
    """DuckDB reads the second as email_1 and the run used the first, silently; a repeated
    column segpipe does not read (`note,note`) still loads."""
    rows = [f"{row},x" for row in ROWS]
    (published / "seeds" / "leads.csv").write_text("\n".join([f"{HEADER},{extra}", *rows]) + "\n")
    assert_refused(published, f"seeds/leads.csv: line 1: the column '{shown}' is there twice (columns {places[0]} and "
                              f"{places[1]}) — rename or remove one, segpipe reads one column of each name")
    (published / "seeds" / "leads.csv").write_text("\n".join([f"{HEADER},note,note", *[f"{r},a" for r in rows]]) + "\n")
    assert run(published).returncode == 0


def test_a_nul_character_in_one_file_of_a_csv_glob_names_that_file(published):
    config = published / "project.yml"
    config.write_text(config.read_text() + "sources:\n  workspaces: {path: 'exports/ws-*.csv'}\n")
    (published / "exports").mkdir()
    (published / "exports" / "ws-1.csv").write_text("id,name\n1,Acme\n")
    (published / "exports" / "ws-2.csv").write_text("id,name\n2,Beta\n3,Gam\0ma\n")
    result = run(published)
    assert (result.returncode, result.stderr) == (
        2, "Error: source 'workspaces' (exports/ws-*.csv): exports/ws-2.csv line 3, column 'name': cannot read "
           "'Gam\\x00ma' — a NUL character (\\x00) is no text; remove it (a file full of them is UTF-16: save it as "
           "UTF-8)\n")


def test_a_gzip_csv_loads_and_its_values_are_checked(published):
    """DuckDB reads a .csv.gz source; the NUL scan and the line finding read it through gzip, not
    its compressed bytes (which always hold NULs)."""
    import gzip

    config = published / "project.yml"
    config.write_text(config.read_text() + "sources:\n  workspaces: {path: 'exports/ws.csv.gz'}\n")
    (published / "exports").mkdir()
    (published / "exports" / "ws.csv.gz").write_bytes(gzip.compress(b"id,name\n1,Acme\n2,Beta\n"))
    assert run(published).returncode == 0
    with duckdb.connect(str(published / "out.duckdb"), read_only=True) as con:
        assert con.execute("select id, name from src.workspaces order by id").fetchall() == [(1, "Acme"), (2, "Beta")]
    (published / "exports" / "ws.csv.gz").write_bytes(gzip.compress(b"id,name\n1,Acme\n2,Be\0ta\n"))
    assert run(published).stderr.startswith("Error: source 'workspaces' (exports/ws.csv.gz): line 3, column 'name': "
                                            "cannot read 'Be\\x00ta' — a NUL character")
    # mixed line endings: loaded from a plain-text copy, which DuckDB must not take for gzip by its name
    (published / "exports" / "ws.csv.gz").write_bytes(gzip.compress(b"id,name\r\r\n1,Acme\r\r\n2,Beta\r\r\n"))
    result = run(published)
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(published / "out.duckdb"), read_only=True) as con:
        assert con.execute("select id, name from src.workspaces order by id").fetchall() == [(1, "Acme"), (2, "Beta")]


@pytest.mark.parametrize("seed, column, value, type_, forms", [
    ("leads", "score", "1_000", "DOUBLE", "a number such as 72.5"),         # DuckDB's cast: 1000.0
    ("leads", "score", "1.5d", "DOUBLE", "a number such as 72.5"),          # Spark's cast: 1.5
    ("leads", "score", "-nan", "DOUBLE", "a number such as 72.5"),          # DuckDB's cast: nan
    ("leads", "score", "1e400", "DOUBLE", "a number such as 72.5"),         # both casts: inf (SPEC §8)
    ("leads", "created_at", "2025-01-01 24:00:00", "TIMESTAMP", None),      # DuckDB's cast: the next day
    ("campaign_leads", "sent_at", "infinity", "TIMESTAMP", None),           # DuckDB's cast: 9999-12-31
    ("campaigns", "sent_at", "2025/01/01", "TIMESTAMP", None),              # DuckDB's cast: 2025-01-01
    ("leads", "created_at", "2025-01-05T10:00:00+19:00", "TIMESTAMP", None),  # DuckDB's cast: 2025-01-04 15:00
    ("leads", "created_at", "2025-01-05 10:00+02:00", "TIMESTAMP", None),     # DuckDB's cast refuses it
    ("campaigns", "sent_at", "2025-01-05 10:00 Europe/Paris", "TIMESTAMP", None),  # so does DuckDB's
], ids=["underscore", "d-suffix", "signed-nan", "beyond-64-bits", "hour-24", "infinity", "slashes", "offset-past-18h",
        "offset-without-seconds", "zone-without-seconds"])
def test_number_and_time_forms_only_one_engine_reads_are_refused(published, seed, column, value, type_, forms):
    """SPEC §11: each engine's cast reads forms the other refuses; both take only source_types.NUMBER_FORM and
    TIMESTAMP_FORM (test_spark.py checks Spark gives the same message)."""
    forms = forms or "a date or time such as 2025-01-31, 2025-01-31 09:30:00 or 2025-01-31T09:30:00Z (naive times are UTC; a zone or offset needs the seconds)"
    assert_bad_value(published, seed, column, value, f"{type_} — it takes {forms}")


def test_the_number_and_time_forms_both_engines_read_still_load(root):
    leads = root / "seeds" / "leads.csv"
    set_values(leads, {0: " 60.5 ", 1: "+5", 2: "1e2", 3: "NaN", 4: "-Infinity"}, "score")
    set_values(leads, {0: "2025-01-01T23:30:00-02:00", 1: "2025-3-1 1:2:3", 2: "2025-01-01 12:00:00.5 UTC",
                       3: "2025-01-01 12:00:00 Etc/GMT+5", 4: "2025-01-01 12:00:00 GMT"}, "created_at")
    result = run(root)
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(root / "out.duckdb"), read_only=True) as con:
        got = con.execute("select score::varchar, created_at::varchar from src.leads order by id limit 5").fetchall()
    assert got == [("60.5", "2025-01-02 01:30:00"), ("5.0", "2025-03-01 01:02:03"), ("100.0", "2025-01-01 12:00:00.5"),
                   ("nan", "2025-01-01 17:00:00"), ("-inf", "2025-01-01 12:00:00")]  # Etc/GMT+5 is UTC−5


def test_naive_times_after_one_naming_a_zone_are_still_read_as_utc(root):
    """DuckDB 1.5.5's cast read the naive times after '… Europe/Paris' in Paris time (an hour off in
    winter, two in summer), silently: each value is read by its own zone, a naive one as UTC."""
    leads = root / "seeds" / "leads.csv"
    count = len(python_rows(leads.read_bytes()))
    naive = [dt.datetime(2025, 1 + i % 12, 1 + i % 28, i % 24, 7, 9) for i in range(count)]
    texts = {i: t.isoformat(sep=" ") for i, t in enumerate(naive)}
    zoned = {0: "Europe/Paris", 3: "America/New_York", 6: "Asia/Kolkata"}
    for i, zone in zoned.items():
        texts[i] += f" {zone}"
    set_values(leads, texts, "created_at")
    result = run(root)
    assert result.returncode == 0, result.stderr
    expected = [t.replace(tzinfo=ZoneInfo(zoned[i])).astimezone(dt.timezone.utc).replace(tzinfo=None)
                if i in zoned else t for i, t in enumerate(naive)]
    with duckdb.connect(str(root / "out.duckdb"), read_only=True) as con:
        got = [row[0] for row in con.execute("select created_at from src.leads order by id").fetchall()]
    assert expected[0] != naive[0] and got == expected


@pytest.mark.parametrize("index", [1, 10, 39, 58])
def test_a_bad_value_anywhere_in_a_file_is_named_by_its_own_line(root, index):
    """Rows numbered by `row_number() OVER (PARTITION BY file)` came in the order the window's
    sort left them: a bad value on line 3 of a 41-line file was named line 12."""
    leads = root / "seeds" / "leads.csv"
    rows = list(csv.DictReader(io.StringIO(leads.read_text(), newline="")))
    rows = [{**rows[i % len(rows)], "id": str(1000 + i)} for i in range(60)]
    rows[index]["workspace_id"] = "abc"
    out = io.StringIO()
    writer = csv.DictWriter(out, list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    leads.write_text(out.getvalue())
    result = run(root)
    assert (result.returncode, result.stderr.split(": cannot")[0]) == (
        2, f"Error: seeds/leads.csv: line {index + 2}, column 'workspace_id'")
