"""Attach an app's database read-only: PostgreSQL, SQLite or another DuckDB file.

A PostgreSQL connection string comes from the environment variable named in
project.yml, so no password is ever in a file, and none is ever in a message:
a failed connection is one line with host, port, database and libpq's reason.
Extensions load offline from their PyPI packages (see extensions.py).
"""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qs, unquote, urlsplit

import duckdb

from .errors import ConfigError, first_line
from .extensions import load_extension
from .project import Connection
from .sql import quote_ident, quote_str


def attach(con: duckdb.DuckDBPyConnection, conn: Connection) -> None:
    """ATTACH an external database read-only as `conn.catalog`, loading its extension."""
    if conn.type == "postgres":
        _attach_postgres(con, conn)
        return
    target = str(conn.path)
    if not os.path.exists(target):
        raise ConfigError(f"connection '{conn.name}': no {conn.type} database file at {target} — check 'path' under connections.{conn.name}")
    options = "TYPE duckdb, READ_ONLY"  # without TYPE, DuckDB opens a SQLite file too, as blobs
    if conn.type == "sqlite":
        load_extension(con, "sqlite")
        # SQLite is dynamically typed (an INTEGER column may hold 'yes', a TIMESTAMP
        # column '…+02:00'): read text and cast by the contract, exactly like a CSV.
        con.execute("SET sqlite_all_varchar = true")
        options = "TYPE sqlite, READ_ONLY"
    try:
        con.execute(f"ATTACH {quote_str(target)} AS {quote_ident(conn.catalog)} ({options})")
    except duckdb.Error as exc:
        raise ConfigError(f"connection '{conn.name}': cannot open {target}: {first_line(exc)}") from None


def _attach_postgres(con: duckdb.DuckDBPyConnection, conn: Connection) -> None:
    dsn = os.environ.get(conn.env or "")
    if not dsn:
        raise ConfigError(f"connection '{conn.name}': environment variable {conn.env} is not set — export it with "
                          f"the PostgreSQL connection string, e.g. postgresql://USER:PASSWORD@HOST:5432/DBNAME")
    load_extension(con, "postgres")
    # libpq waits ~2 minutes for an unreachable host by default; give up sooner.
    os.environ.setdefault("PGCONNECT_TIMEOUT", "10")
    try:
        con.execute(f"ATTACH {quote_str(dsn)} AS {quote_ident(conn.catalog)} (TYPE postgres, READ_ONLY)")
    except duckdb.Error as exc:
        target, secrets = postgres_target(dsn)
        reason = _scrub(_postgres_reason(str(exc), dsn), secrets)
        raise ConfigError(f"connection '{conn.name}': cannot connect to PostgreSQL at {target}: {reason} "
                          f"(connection string from ${conn.env})") from None


def postgres_target(dsn: str) -> tuple[str, list[str]]:
    """'host H port P database D' of a libpq connection string (URL or key=value),
    and the secrets in it, which never appear in a message."""
    if re.match(r"postgres(ql)?://", dsn):
        url = urlsplit(dsn)
        hostinfo = url.netloc.rpartition("@")[2].split(",")[0]
        match = re.fullmatch(r"\[(.*)\](?::(\d*))?|([^:]*)(?::(\d*))?", hostinfo)
        host = unquote(match.group(1) or match.group(3) or "")
        port = match.group(2) or match.group(4) or ""
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        params = {"host": host or query.get("host", ""), "port": port or query.get("port", ""),
                  "dbname": unquote(url.path.lstrip("/")) or query.get("dbname", ""),
                  "password": query.get("password", "")}
        userinfo = url.netloc.rpartition("@")[0]
        secrets = [userinfo.partition(":")[2], unquote(userinfo.partition(":")[2]), params["password"]]
    else:
        raw = dict(re.findall(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", dsn))
        params = {key: re.sub(r"\\(.)", r"\1", value[1:-1] if value.startswith("'") else value)
                  for key, value in raw.items()}
        secrets = [raw.get("password", ""), params.get("password", "")]
    host = params.get("host") or "localhost"
    described = f"host {host.split(',')[0]} port {(params.get('port') or '5432').split(',')[0]}"
    if params.get("dbname"):
        described += f" database {params['dbname']}"
    return described, [dsn, *(s for s in secrets if s)]


def _postgres_reason(message: str, dsn: str) -> str:
    """The libpq reason out of DuckDB's 'Unable to connect to Postgres at "<dsn>": …'."""
    text = message.replace(dsn, "")
    text = re.sub(r'^.*?Unable to connect to Postgres at "":\s*', "", text, flags=re.DOTALL)
    text = re.sub(r'^connection to server at "[^"]*"(?:\s*\([^)]*\))?, port \d+ failed:\s*', "", text)
    lines = [" ".join(line.split()).rstrip(".") for line in text.splitlines() if line.strip()]
    return ". ".join(lines) or "unknown reason"


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return re.sub(r"(password\s*=\s*)\S+", r"\1***", text, flags=re.IGNORECASE)
