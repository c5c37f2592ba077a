"""A generated app dataset, written as seed CSVs and as an app would store it
(PostgreSQL, SQLite, DuckDB, Parquet), for the "same answers" tests.

The seed CSVs hold the plain truth (naive UTC timestamps, true/false, tags
joined with ';'). The other stores hold the same rows the way apps keep them:
timestamps with non-UTC offsets, native booleans or 0/1 or yes/no words, tag
arrays, jsonb, extra columns. `segpipe run` over either must publish the same
tables, row for row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from segpipe.cli import app
from segpipe.source_types import CONTRACT
from tests.conftest import make_project

AS_OF = "2026-11-15"
PUBLISHED = ("segments", "segment_leads", "segment_performance_daily", "segment_performance")
UTC = dt.timezone.utc
#: Offsets the app's clients wrote timestamps in (so UTC days and windows shift).
OFFSETS = [dt.timezone(dt.timedelta(hours=h, minutes=m))
           for h, m in ((0, 0), (2, 0), (-5, 0), (5, 30), (-9, -30), (14, 0))]
#: How apps spell booleans in text: every pair segpipe must read as true / false.
BOOLEAN_WORDS = [("t", "f"), ("yes", "no"), ("1", "0"), ("TRUE", "False"), (" Y ", "n")]
SEGMENTS = [
    {"id": 1, "name": "US SaaS Founders", "description": "Founders of US SaaS companies",
     "filters": {"countries": ["US"], "industries": ["SaaS"], "roles": ["Founder", "CEO"],
                 "has_email": True, "min_score": 40}},
    {"id": 2, "name": "EU marketing", "workspace_id": 1, "description": None,
     "filters": {"countries": ["UK", "de", " FR "], "roles": "CMO"}},
    {"id": 3, "name": "Northwind - all leads", "workspace_id": 2, "filters": {}},
    {"id": 4, "name": "Hiring or funded", "filters": {"tags": ["Hiring", "funding"], "min_score": 20.5}},
    {"id": 5, "name": "No inbox (O'Brien's \"list\") -- ; {{ x }}", "description": "Leads without an email",
     "filters": {"has_email": False}},
    {"id": 6, "name": "Referral SMBs", "workspace_id": 3,
     "filters": {"sources": ["referral", "Webinar"], "company_sizes": ["1-10", "11-50"]}},
]


@dataclass
class Dataset:
    """Rows with Python values: aware datetimes (various offsets), bools, lists, dicts."""

    workspaces: list[dict] = field(default_factory=list)
    leads: list[dict] = field(default_factory=list)
    campaigns: list[dict] = field(default_factory=list)
    campaign_leads: list[dict] = field(default_factory=list)
    segments: list[dict] = field(default_factory=lambda: [dict(s) for s in SEGMENTS])


def generate(seed: int = 20261115, leads: int = 300, campaigns: int = 15, sends: int = 3000) -> Dataset:
    """Deterministic: the same seed gives the same rows."""
    rng = random.Random(seed)
    data = Dataset()
    data.workspaces = [{"id": 1, "name": "Acme Outbound"}, {"id": 2, "name": "Northwind Growth"},
                       {"id": 3, "name": "O'Reilly; \"Labs\""}]
    as_of = dt.datetime.fromisoformat(AS_OF).replace(tzinfo=UTC)

    def moment(start: dt.datetime, hours: float) -> dt.datetime:
        """`start` + up to `hours`, to the second, written in a random offset."""
        when = start + dt.timedelta(seconds=rng.randrange(int(hours * 3600)))
        return when.astimezone(rng.choice(OFFSETS))

    for lead_id in range(1, leads + 1):
        data.leads.append({
            "id": lead_id,
            "workspace_id": rng.choice([1, 1, 2, 3]),
            "email": rng.choice([f"lead{lead_id}@example.com"] * 6 + [None, "  "]),
            "source": rng.choice(["linkedin", "apollo", " Referral", "webinar", None]),
            "score": rng.choice([None, round(rng.uniform(0, 100), 1), rng.randrange(0, 101)]),
            "country": rng.choice(["US", "us ", "UK", "DE", "FR", "BR", None]),
            "role": rng.choice(["Founder", "CEO", "cmo", "CTO", "VP Sales", "Engineer"]),
            "company_size": rng.choice(["1-10", "11-50", "51-200", "201-1000"]),
            "industry": rng.choice(["SaaS", "saas", "Fintech", "Healthcare", "Retail"]),
            "tags": rng.sample(["hiring", "Funding", "partner", " churn-risk ", "enterprise"], rng.randrange(0, 4)),
            "created_at": moment(as_of - dt.timedelta(days=400), 24 * 380),
            "metadata": rng.choice([None, {"plan": rng.choice(["free", "pro"]), "seats": rng.randrange(1, 50)}]),
        })
    for campaign_id in range(1, campaigns + 1):
        data.campaigns.append({
            "id": campaign_id,
            "workspace_id": rng.choice([1, 2, 3]),
            "name": f"Campaign {campaign_id} - {rng.choice(['Q4', 'Launch', 'Webinar'])}",
            "segment_id": rng.choice([None, *range(1, 7)]),
            # whole days around the 30-day window ending on AS_OF, so day and window edges matter
            "sent_at": moment(as_of - dt.timedelta(days=45), 24 * 46),
        })
    by_workspace = {w["id"]: [lead for lead in data.leads if lead["workspace_id"] == w["id"]] for w in data.workspaces}
    for send_id in range(1, sends + 1):
        campaign = rng.choice(data.campaigns)
        lead = rng.choice(by_workspace[campaign["workspace_id"]] if rng.random() < 0.9 else data.leads)
        sent = rng.random() < 0.9
        sent_at = None if rng.random() < 0.15 else moment(campaign["sent_at"].astimezone(UTC), 72)
        replied = sent and rng.random() < 0.2
        start = (sent_at or campaign["sent_at"]).astimezone(UTC)
        data.campaign_leads.append({
            "id": send_id, "campaign_id": campaign["id"], "lead_id": lead["id"],
            "sent": sent, "opened": sent and rng.random() < 0.55, "replied": replied,
            "bounced": rng.random() < 0.05,
            "clicked": rng.choice([None, True, False, False]),
            "converted": rng.choice([None, False, False, False, True]),
            "sent_at": sent_at,
            "replied_at": moment(start, 96) if replied and rng.random() < 0.8 else None,
            "variant": rng.choice(["A", "B", None]),
        })
    return data


# -- the truth: seed CSVs ---------------------------------------------------------
def utc_text(value) -> str | None:
    """An aware datetime as naive UTC text, the seeds' convention."""
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _plain(rows: list[dict]) -> list[dict]:
    return [{k: utc_text(v) if isinstance(v, dt.datetime) else json.dumps(v) if isinstance(v, dict) else v
             for k, v in row.items()} for row in rows]


def write_seed_project(root: Path, data: Dataset) -> Path:
    """The reference project: everything in seeds/, segments in segments.yml."""
    return make_project(root, leads=_plain(data.leads), campaigns=_plain(data.campaigns),
                        campaign_leads=_plain(data.campaign_leads), workspaces=data.workspaces,
                        segments=data.segments)


def write_project_yml(root: Path, sources: dict, segments=None, connections=None) -> None:
    """Point a test project's sources (and segments; None: seeds/segments.yml) elsewhere."""
    config = yaml.safe_load((root / "project.yml").read_text())
    config.pop("segments", None)
    config.update({"connections": connections} if connections else {})
    config.update({"sources": sources}, **({"segments": segments} if segments else {}))
    (root / "project.yml").write_text(yaml.safe_dump(config, sort_keys=False))


@dataclass
class Reference:
    """The seed project, run once: what every other store must reproduce."""

    root: Path
    published: dict[str, list[tuple]]
    sources: dict[str, list[tuple]]

    def copy_to(self, target: Path, seeds: bool = False) -> Path:
        """The same project (models, macros, segments.yml), unpublished; without
        the seed CSVs unless `seeds`, so sources must come from project.yml."""
        shutil.copytree(self.root, target, ignore=shutil.ignore_patterns(
            "out.duckdb*", "target", *(() if seeds else ("*.csv",))))
        return target


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    return generate()


@pytest.fixture(scope="session")
def reference(tmp_path_factory, dataset) -> Reference:
    root = write_seed_project(tmp_path_factory.mktemp("reference") / "seeds_project", dataset)
    result = CliRunner().invoke(app, ["run", "--project-dir", str(root), "--as-of", AS_OF], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    with duckdb.connect(str(root / "out.duckdb"), read_only=True) as con:
        sent = dict(con.execute("SELECT segment_id, leads_sent FROM segment_performance").fetchall())
    assert len(sent) == len(SEGMENTS) and sum(n > 0 for n in sent.values()) >= 5, f"a dataset worth comparing: {sent}"
    return Reference(root, published_tables(root / "out.duckdb"), source_tables(root / "out.duckdb"))


# -- the app's stores -------------------------------------------------------------------
def segment_rows(data: Dataset) -> list[tuple]:
    """(id, workspace_id, name, description, filters JSON), as an app stores segments."""
    return [(s["id"], s.get("workspace_id"), s["name"], s.get("description"), json.dumps(s.get("filters")))
            for s in data.segments]


def pg_sql(data: Dataset, schema: str) -> str:
    """DDL and INSERTs for PostgreSQL: timestamptz with offsets, native booleans,
    booleans as words in a text column, text[] tags, jsonb, extra columns."""
    rng = random.Random(7)

    def lit(value) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return repr(value)
        if isinstance(value, dt.datetime):
            return "'" + value.isoformat(sep=" ") + "'"
        if isinstance(value, (list, tuple)):
            return "ARRAY[" + ", ".join(lit(v) for v in value) + "]::text[]"
        if isinstance(value, dict):
            return lit(json.dumps(value)) + "::jsonb"
        return "'" + str(value).replace("'", "''") + "'"

    def word(value) -> str | None:
        if value is None:
            return None
        true, false = rng.choice(BOOLEAN_WORDS)
        return true if value else false

    def insert(table: str, columns: list[str], rows: list[tuple]) -> str:
        values = ",\n".join("(" + ", ".join(lit(v) for v in row) + ")" for row in rows)
        return f"INSERT INTO {schema}.{table} ({', '.join(columns)}) VALUES\n{values};\n" if rows else ""

    sql = [f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};",
           f"CREATE TABLE {schema}.workspaces (id integer PRIMARY KEY, name text NOT NULL, plan text);",
           f"""CREATE TABLE {schema}.leads (id bigint PRIMARY KEY, workspace_id integer, email text,
               source varchar(40), score numeric(5, 1), country text, role text, company_size text,
               industry text, tags text[], created_at timestamptz, metadata jsonb, updated_at timestamptz);""",
           f"""CREATE TABLE {schema}.campaigns (id integer PRIMARY KEY, workspace_id integer, name text,
               segment_id integer, sent_at timestamp without time zone);""",
           f"""CREATE TABLE {schema}.campaign_leads (id bigint PRIMARY KEY, campaign_id integer, lead_id bigint,
               sent boolean, opened boolean, replied boolean, bounced boolean, clicked text, converted text,
               sent_at timestamptz, replied_at timestamptz, variant text, notes text);""",
           f"""CREATE TABLE {schema}.segments (id integer PRIMARY KEY, workspace_id integer, name text,
               description text, filters jsonb, created_at timestamptz DEFAULT now());"""]
    sql.append(insert("workspaces", ["id", "name", "plan"], [(w["id"], w["name"], "pro") for w in data.workspaces]))
    lead_columns = ["id", "workspace_id", "email", "source", "score", "country", "role", "company_size",
                    "industry", "tags", "created_at", "metadata"]
    sql.append(insert("leads", [*lead_columns, "updated_at"],
                      [(*(lead[c] for c in lead_columns), lead["created_at"]) for lead in data.leads]))
    sql.append(insert("campaigns", ["id", "workspace_id", "name", "segment_id", "sent_at"],
                      [(c["id"], c["workspace_id"], c["name"], c["segment_id"],
                        c["sent_at"].astimezone(UTC).replace(tzinfo=None)) for c in data.campaigns]))
    send_columns = ["id", "campaign_id", "lead_id", "sent", "opened", "replied", "bounced", "clicked",
                    "converted", "sent_at", "replied_at", "variant"]
    sql.append(insert("campaign_leads", [*send_columns, "notes"],
                      [(*(word(s[c]) if c in ("clicked", "converted") else s[c] for c in send_columns), "n/a")
                       for s in data.campaign_leads]))
    sql.append(insert("segments", ["id", "workspace_id", "name", "description", "filters"],
                      [(i, w, n, d, json.loads(f)) for i, w, n, d, f in segment_rows(data)]))
    return "\n".join(sql)


def write_sqlite(path: Path, data: Dataset) -> None:
    """SQLite as apps use it: declared types it does not enforce, 0/1 and yes/no
    booleans, ISO text timestamps with offsets, tags as ';' text or a JSON array."""
    rng = random.Random(11)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE workspaces (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("""CREATE TABLE leads (id INTEGER PRIMARY KEY, workspace_id INTEGER, email TEXT, source TEXT,
                      score REAL, country TEXT, role TEXT, company_size TEXT, industry TEXT, tags TEXT,
                      created_at DATETIME, metadata JSON)""")
        db.execute("CREATE TABLE campaigns (id INTEGER PRIMARY KEY, workspace_id INTEGER, name TEXT, segment_id INTEGER, sent_at TIMESTAMP)")
        db.execute("""CREATE TABLE campaign_leads (id INTEGER PRIMARY KEY, campaign_id INTEGER, lead_id INTEGER,
                      sent BOOLEAN, opened BOOLEAN, replied BOOLEAN, bounced BOOLEAN, clicked BOOLEAN, converted BOOLEAN,
                      sent_at TIMESTAMP, replied_at TIMESTAMP, variant TEXT)""")
        db.execute("CREATE TABLE segments (id INTEGER PRIMARY KEY, workspace_id INTEGER, name TEXT, description TEXT, filters TEXT)")
        db.executemany("INSERT INTO workspaces VALUES (?, ?)", [(w["id"], w["name"]) for w in data.workspaces])

        def tags(values):
            return json.dumps(values) if rng.random() < 0.5 else ";".join(values)

        def flag(value):
            return None if value is None else rng.choice([int(value), "yes" if value else "no", value])

        def stamp(value):
            return None if value is None else value.isoformat(sep=rng.choice([" ", "T"]))

        db.executemany("INSERT INTO leads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            (r["id"], r["workspace_id"], r["email"], r["source"], r["score"], r["country"], r["role"],
             r["company_size"], r["industry"], tags(r["tags"]), stamp(r["created_at"]),
             json.dumps(r["metadata"]) if r["metadata"] else None) for r in data.leads])
        db.executemany("INSERT INTO campaigns VALUES (?, ?, ?, ?, ?)", [
            (c["id"], c["workspace_id"], c["name"], c["segment_id"], stamp(c["sent_at"])) for c in data.campaigns])
        db.executemany("INSERT INTO campaign_leads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            (s["id"], s["campaign_id"], s["lead_id"], *(flag(s[c]) for c in ("sent", "opened", "replied", "bounced",
             "clicked", "converted")), stamp(s["sent_at"]), stamp(s["replied_at"]), s["variant"])
            for s in data.campaign_leads])
        db.executemany("INSERT INTO segments VALUES (?, ?, ?, ?, ?)", segment_rows(data))
    db.close()


def write_typed_files(seed_root: Path, target: Path, parts: int = 4) -> None:
    """Parquet (campaign_leads split over `parts` files, columns in varying order)
    and a DuckDB file, typed as a warehouse export would be: TIMESTAMPTZ sends,
    naive TIMESTAMP campaigns, native booleans, tag lists."""
    target.mkdir(parents=True, exist_ok=True)
    seeds = seed_root / "seeds"
    con = duckdb.connect(str(target / "app.duckdb"))
    con.execute("SET TimeZone = 'Asia/Kolkata'")  # TIMESTAMPTZ values are instants, whatever the zone
    con.execute(f"""CREATE TABLE leads AS SELECT id::BIGINT AS id, workspace_id::INTEGER AS workspace_id, email,
        source, score::DECIMAL(5, 1) AS score, country, role, company_size, industry,
        list_filter(string_split(tags, ';'), t -> t <> '') AS tags,
        (created_at || '+00')::TIMESTAMPTZ AS created_at, metadata::JSON AS metadata
        FROM read_csv('{seeds / 'leads.csv'}', all_varchar = true)""")
    con.execute(f"""CREATE TABLE campaigns AS SELECT id::INTEGER AS id, workspace_id::INTEGER AS workspace_id,
        name, segment_id::INTEGER AS segment_id, sent_at::TIMESTAMP AS sent_at
        FROM read_csv('{seeds / 'campaigns.csv'}', all_varchar = true)""")
    con.execute(f"""CREATE TABLE campaign_leads AS SELECT id::BIGINT AS id, campaign_id::INTEGER AS campaign_id,
        lead_id::BIGINT AS lead_id, sent::BOOLEAN AS sent, opened::BOOLEAN AS opened, replied::BOOLEAN AS replied,
        bounced::BOOLEAN AS bounced, clicked::BOOLEAN AS clicked, converted::BOOLEAN AS converted,
        (sent_at || '+00')::TIMESTAMPTZ AS sent_at, (replied_at || '+00')::TIMESTAMPTZ AS replied_at, variant
        FROM read_csv('{seeds / 'campaign_leads.csv'}', all_varchar = true)""")
    con.execute(f"CREATE TABLE workspaces AS SELECT * FROM read_csv('{seeds / 'workspaces.csv'}')")
    for table in ("leads", "campaigns", "workspaces"):
        con.execute(f"COPY {table} TO '{target / (table + '.parquet')}' (FORMAT parquet)")
    (target / "campaign_leads").mkdir(exist_ok=True)
    for part in range(parts):
        columns = "variant, * EXCLUDE (variant)" if part % 2 else "*"
        con.execute(f"COPY (SELECT {columns} FROM campaign_leads WHERE id % {parts} = {part}) "
                    f"TO '{target / 'campaign_leads' / f'part-{part}.parquet'}' (FORMAT parquet)")
    con.close()


# -- reading results --------------------------------------------------------------------
def published_tables(db: Path) -> dict[str, list[tuple]]:
    """Every published table's rows, sorted, through a fresh read-only connection
    that cannot load any extension."""
    con = duckdb.connect(str(db), read_only=True, config={"autoload_known_extensions": False,
                                                          "autoinstall_known_extensions": False})
    try:
        return {table: con.execute(f"SELECT * FROM main.{table} ORDER BY ALL").fetchall() for table in PUBLISHED}
    finally:
        con.close()


def up_to_float_summation(tables: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """The tables with each DOUBLE matched to 1e-12 relative, everything else exactly.

    The models sum doubles (avg_response_hours) in row order, which DuckDB's
    parallel hash aggregation does not fix, so even two runs of one project can
    differ in the last bit; every count, id, text and date must still be equal.
    """
    return {table: [tuple(pytest.approx(v, rel=1e-12, abs=0) if isinstance(v, float) else v for v in row)
                     for row in rows] for table, rows in tables.items()}


def source_tables(db: Path) -> dict[str, list[tuple]]:
    """The loaded contract columns of src.*, sorted (JSON minified): the copies in the
    published file, or for Parquet read in place, the files through the views the
    drill-downs recreate (segpipe.file_views)."""
    from segpipe.published import connect_with_sources
    from segpipe.project import load_project

    con = connect_with_sources(load_project(Path(db).parent))
    try:
        tables = {}
        for table, columns in CONTRACT.items():
            select = ", ".join(f"json({c})" if c == "metadata" else c for c in columns)
            tables[table] = con.execute(f"SELECT {select} FROM src.{table} ORDER BY ALL").fetchall()
        return tables
    finally:
        con.close()


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def run_project(cli, root: Path):
    return cli("run", "--project-dir", root, "--as-of", AS_OF)


def assert_fails(cli, root: Path, message: str, code: int = 2):
    """`segpipe run` exits with `code` and the one line `Error: message`, and
    leaves the published file byte for byte as it was."""
    before = sha256(root / "out.duckdb")
    result = run_project(cli, root)
    assert (result.exit_code, result.stderr) == (code, f"Error: {message}\n")
    assert sha256(root / "out.duckdb") == before
    return result
