"""Load and validate `project.yml`; find the models, macros, seeds and sources.

A project is a plain folder: `project.yml`, `models/`, `macros/`, `seeds/`.
Everything the runner needs is resolved here once, into frozen value objects,
so that later stages never re-read configuration.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .engines import EngineConfig, parse_engine
from . import overrides
from . import target
from .errors import ConfigError
from .suggest import check_keys
from .yaml_files import parse_yaml, read_yaml

PROJECT_FILE = "project.yml"
DEFAULT_VARS = {"days": 30, "attribution": "matching"}
ATTRIBUTIONS = ("matching", "campaign")
PROJECT_KEYS = {
    "name", "database", "vars", "sources", "seeds", "segments",
    "connections", "threads", "memory_limit", "incremental", "engine",
}
SOURCE_KEYS = {"seed", "path", "connection", "table", "column_types", "format", "copy"}
CONNECTION_TYPES = {"postgres", "sqlite", "duckdb"}
#: DuckDB's memory_limit: a number and a unit.
#: a SQL type name as column_types take it (BIGINT, DECIMAL(18, 2), VARCHAR[]): it is
#: written into CAST(… AS type), so nothing else may pass
SQL_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9_ ]*(\(\s*\d+\s*(,\s*\d+\s*)?\))?(\[\])*$")
MEMORY_LIMIT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)
MAX_THREADS = 4096


def memory_bytes(size: str) -> float:
    """A MEMORY_LIMIT size in bytes (KB = 1000, KiB = 1024, as DuckDB reads them)."""
    number, unit = MEMORY_LIMIT.match(size).groups()
    unit = unit.lower()
    return float(number) * (1024 if unit.endswith("ib") else 1000) ** "bkmgt".index(unit[0])
#: The SPEC §2 tables a project reads; each defaults to the seed of the same name.
CONTRACT_SOURCES = ("workspaces", "leads", "campaigns", "campaign_leads")
#: a path with a scheme (s3a://, hdfs://, file://, gs://, abfss://): a location only Spark reads
URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class Connection:
    """An external database attached read-only while sources are loaded."""

    name: str
    type: str
    env: str | None = None
    path: Path | None = None

    @property
    def catalog(self) -> str:
        """The name it is attached under. Models never name it (they read `src.*`), and
        the user's name could be `src`, `main` or the build file's own name."""
        return f"segpipe_connection_{self.name}"


@dataclass(frozen=True)
class Source:
    """Where one source table comes from: a seed CSV, a file glob, or a database table."""

    name: str
    seed: Path | None = None
    path: str | None = None
    connection: Connection | None = None
    table: str | None = None
    format: str | None = None
    column_types: dict = field(default_factory=dict)
    #: Parquet already in the contract's types is read in place unless `copy: true`.
    copy: bool = False
    #: the glob a file source matches: `path` with the project folder's own name
    #: escaped, so a folder such as `Sales [EU]` is not read as a character class
    pattern: str | None = None

    def paths(self) -> list[str]:
        """The files behind a seed or file source now, sorted."""
        if self.seed is not None:
            return [str(self.seed)] if self.seed.exists() else []
        if self.is_uri:
            return []  # only Spark reads URIs, and lists them itself
        return sorted(glob.glob(self.pattern or str(self.path)))

    @property
    def is_uri(self) -> bool:
        """A path such as s3a://bucket/sends/*.parquet: read by Spark (engine: spark) only."""
        return bool(self.path and URI.match(self.path))

    @property
    def kind(self) -> str:
        if self.seed is not None:
            return "seed"
        if self.connection is not None:
            return "database"
        return "table" if self.table is not None else "file"

    @property
    def location(self) -> str:
        """Human-readable origin, used in messages and `segpipe ls`."""
        if self.seed is not None:
            return str(self.seed)
        if self.connection is not None:
            return f"{self.connection.name}:{self.table}"
        if self.table is not None:
            return f"Spark table {self.table}"
        return str(self.path)


@dataclass(frozen=True)
class Project:
    root: Path
    name: str
    database: Path
    vars: dict
    sources: dict[str, Source]
    seeds: dict[str, Path]
    seed_column_types: dict[str, dict]
    segments: Source | Path
    threads: int | None = None
    memory_limit: str | None = None
    incremental: dict = field(default_factory=dict)
    engine: EngineConfig = field(default_factory=EngineConfig)

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def macros_dir(self) -> Path:
        return self.root / "macros"

    @property
    def target_dir(self) -> Path:
        return target.folder(self.root)

    def seed_source(self, name: str) -> Source:
        """A seed CSV that is not a source, as the Source that loads it into `seeds.*`."""
        return Source(name=name, seed=self.seeds[name], column_types=self.seed_column_types.get(name, {}))

    def model_files(self) -> list[Path]:
        """The built-in models it does not replace, then its own (see overrides.py)."""
        return overrides.model_files(self.models_dir)

    def doc_files(self) -> tuple[list[Path], list[Path]]:
        """(the built-in docs files, its own)."""
        return overrides.doc_files(self.models_dir)

    def macro_files(self) -> list[Path]:
        """The built-in macro files, then its own (which replace built-in macros by name)."""
        return overrides.macro_files(self.macros_dir)

    def relpath(self, path: Path) -> str:
        """Path as shown to users: relative to the project folder when inside it,
        `builtin:models/…` for a built-in model or macro."""
        return overrides.display(self.root, path)


def find_project_dir(start: Path | None = None) -> Path:
    """The given folder, else the current folder or its nearest parent holding project.yml."""
    if start is not None:
        start = Path(start).resolve()
        if not (start / PROJECT_FILE).is_file():
            raise ConfigError(f"{start}: no {PROJECT_FILE} here — pass the folder of a segpipe project (or run `segpipe init DIR`)")
        return start
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    raise ConfigError(f"no {PROJECT_FILE} in {here} or its parents — pass --project-dir or run `segpipe init DIR`")


def parse_cache_file(project: "Project", path: Path) -> Path | None:
    """Where the parse of a project file is cached (see target.py)."""
    return target.parsed_file(project.root, path)


def parse_date(value: str | None, option: str = "--as-of") -> dt.date | None:
    """A YYYY-MM-DD date, strictly (no week dates, no times): --as-of, vars.as_of."""
    if value is None:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{option} must be a date like 2025-01-31, got '{value}'") from None


def load_project(project_dir: Path | None = None, db: str | None = None,
                 cli_vars: dict | None = None, engine: str | None = None) -> Project:
    """Read project.yml; `db` (--db) and $SEGPIPE_DB override its database path,
    `engine` (--engine) its engine type.
    A mistake in it is reported at the line of the key at fault (`_at_key_line`)."""
    root = find_project_dir(project_dir)
    config_path = root / PROJECT_FILE
    config = read_yaml(config_path, "project config", cache=target.project_config_cache(root)) or {}
    try:
        return _project(root, config_path, config, db, cli_vars, engine)
    except ConfigError as exc:
        raise _at_key_line(exc, config_path) from None


#: the key a message is about: `sources.leads.column_types: …`, `… unknown key 'x'`, `'threads' must …`
KEY_PATH = re.compile(r"^(?P<path>[A-Za-z_][\w-]*(?:\.[^\s:.']+)*)(?=:)")
QUOTED_KEY = re.compile(r"'([^']+)'")


def _at_key_line(exc: ConfigError, config_path: Path) -> ConfigError:
    """The error with `project.yml:LINE:` in place of `project.yml:`, LINE being the line of
    the deepest key its message names; unchanged when no key is found. Only on the error
    path, so the file is parsed again, this time with lines (yaml_loader(lines=True))."""
    prefix = f"{config_path}: "
    message = str(exc)
    if not message.startswith(prefix):
        return exc
    rest = message[len(prefix):]
    try:
        node = parse_yaml(config_path.read_text(encoding="utf-8"), config_path, "project config", lines=True)
    except (OSError, ConfigError):
        return exc
    found = KEY_PATH.match(rest)
    names = found.group("path").split(".") if found else []
    names += QUOTED_KEY.findall(rest[found.end() if found else 0:])[:1]
    line = None
    for name in names:
        if not isinstance(node, dict) or name not in node.get("__keys__", {}):
            break
        line, node = node["__keys__"][name], node[name]
    if line is None:
        return exc
    error = ConfigError(f"{config_path}:{line}: {rest}")
    error.exit_code = exc.exit_code
    return error


def _project(root: Path, config_path: Path, config, db: str | None, cli_vars: dict | None, engine=None) -> Project:
    """The validated Project of a parsed project.yml."""
    if not isinstance(config, dict):
        raise ConfigError(f"{config_path}: expected a mapping of keys such as name, database, vars, sources")
    check_keys(config, PROJECT_KEYS, str(config_path), ConfigError)

    if config.get("database") is not None:
        _text(config, "database", str(config_path))
    if db is not None and not str(db).strip():  # `--db ''` (an unset shell variable) is no file to use
        raise ConfigError("--db needs a file name, e.g. --db segments.duckdb (or leave it out for project.yml's)")
    database = db or os.environ.get("SEGPIPE_DB") or config.get("database") or "segpipe.duckdb"
    file_vars = _mapping(config, "vars", config_path)
    # project.yml's own values, unless --vars replaces them: an error names the key's line
    check_vars({k: v for k, v in file_vars.items() if k not in (cli_vars or {})}, f"{config_path}: ")
    variables = {**DEFAULT_VARS, **file_vars, **(cli_vars or {})}
    seeds = {p.stem: p for p in sorted((root / "seeds").glob("*.csv"))}
    seed_types = {seed: _column_types(types, f"{config_path}: seeds.column_types.{seed}")
                  for seed, types in _mapping(_mapping(config, "seeds", config_path), "column_types", config_path).items()}
    connections = _connections(config, config_path, root)
    sources = _sources(config, config_path, root, seeds, connections, seed_types)
    threads = config.get("threads")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ConfigError(f"{config_path}: 'threads' must be a positive integer")
    if threads is not None and threads > MAX_THREADS:  # DuckDB would try to start them all, or fail on 64 bits
        raise ConfigError(f"{config_path}: 'threads' must be from 1 to {MAX_THREADS}, got {threads}")
    memory_limit = config.get("memory_limit")
    if memory_limit is not None and not MEMORY_LIMIT.match(str(memory_limit)):
        raise ConfigError(f"{config_path}: 'memory_limit' must be a size such as 4GB or 512MiB, got {memory_limit!r}")
    if memory_limit is not None and memory_bytes(str(memory_limit)) > 2**63 - 1:
        raise ConfigError(f"{config_path}: 'memory_limit' {str(memory_limit).strip()!r} is beyond what a 64-bit "
                          "number holds — give a size such as 4GB")
    return Project(
        root=root,
        name=str(config.get("name") or root.name),
        database=(root / database).resolve(),
        vars=variables,
        sources=sources,
        seeds={name: path for name, path in seeds.items() if name not in sources},
        seed_column_types=seed_types,
        segments=_segments_origin(config, config_path, root, connections),
        threads=threads,
        memory_limit=str(memory_limit) if memory_limit is not None else None,
        incremental=_mapping(config, "incremental", config_path),
        engine=parse_engine(config.get("engine"), str(config_path), override=engine),
    )


def check_vars(variables: dict, where: str = "") -> None:
    """The vars every built-in model relies on, those of them `variables` sets; `where`
    prefixes the message (project.yml's path, which load_project turns into its line)."""
    if "days" in variables:
        days = variables["days"]
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
            raise ConfigError(f"{where}vars.days: must be a whole number of days from 1 to 365, got {days!r}")
    if "attribution" in variables and variables["attribution"] not in ATTRIBUTIONS:
        raise ConfigError(f"{where}vars.attribution: must be 'matching' or 'campaign', "
                          f"got {variables['attribution']!r}")
    # the macros read these with `| int`, which turns text into 0 without a word
    for name, least, example in (("lookback_days", 0, 3), ("sends_per_batch", 1, 4000000)):
        value = variables.get(name)
        if name in variables and (isinstance(value, bool) or not isinstance(value, int)
                                  or not least <= value <= 2**63 - 1):
            raise ConfigError(f"{where}vars.{name}: must be a whole number from {least}, such as {example}, "
                              f"got {value!r}")


def _mapping(config: dict, key: str, path: Path) -> dict:
    value = config.get(key) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: '{key}' must be a mapping")
    return value


def _column_types(value, where: str) -> dict[str, str]:
    """column → SQL type name, checked: a type name goes into CAST(… AS type) as written."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping of column to type, such as {{score: DOUBLE}}")
    for column, type_ in value.items():
        if not (isinstance(type_, str) and SQL_TYPE.match(type_.strip()) and _is_type(type_.strip())):
            raise ConfigError(f"{where}.{column}: {type_!r} is not a type name such as BIGINT, DOUBLE or VARCHAR")
    return {str(column): type_.strip() for column, type_ in value.items()}


def _is_type(name: str) -> bool:
    """Whether DuckDB knows the type name (INTEGR would fail the load with DuckDB's own words)."""
    import duckdb  # only for projects that type columns; the commands that read them import it anyway

    try:
        duckdb.type(name)
    except duckdb.Error:
        return False
    return True


def _text(spec: dict, key: str, where: str) -> str:
    """A setting that must be text, such as a path."""
    if not isinstance(spec[key], str):
        raise ConfigError(f"{where}: '{key}' must be text, got {spec[key]!r}")
    return spec[key]


def _connections(config: dict, path: Path, root: Path) -> dict[str, Connection]:
    result = {}
    for name, spec in _mapping(config, "connections", path).items():
        where = f"{path}: connections.{name}"
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: expected a mapping with 'type' and 'env' or 'path'")
        kind = spec.get("type")
        if kind not in CONNECTION_TYPES:
            raise ConfigError(f"{where}: 'type' must be one of {', '.join(sorted(CONNECTION_TYPES))}")
        check_keys(spec, {"type", "env"} if kind == "postgres" else {"type", "path"}, where, ConfigError)
        if kind == "postgres" and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(spec.get("env") or "")):
            # never echo the value: it may be a connection string with its password
            raise ConfigError(f"{where}: 'env' must be the name of the environment variable holding the connection "
                              f"string, such as APP_DATABASE_URL — never the connection string or password itself")
        if kind != "postgres" and not spec.get("path"):
            raise ConfigError(f"{where}: a {kind} connection needs 'path', the database file")
        file = (root / _text(spec, "path", where)).resolve() if spec.get("path") else None
        result[name] = Connection(name=name, type=kind, env=spec.get("env"), path=file)
    return result


def _sources(config, path, root, seeds, connections, seed_types) -> dict[str, Source]:
    """Explicit sources from project.yml, plus every contract table that has a seed CSV."""
    sources = {}
    declared = _mapping(config, "sources", path)
    for name in CONTRACT_SOURCES:
        if name not in declared and name in seeds:
            sources[name] = Source(name=name, seed=seeds[name], column_types=seed_types.get(name, {}))
    for name, spec in declared.items():
        where = f"{path}: sources.{name}"
        if spec is None:
            continue
        sources[name] = _source(name, spec, where, root, seeds, connections, seed_types)
    return sources


def _source(name, spec, where, root, seeds, connections, seed_types) -> Source:
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: expected a mapping with one of 'seed', 'path' or 'connection'")
    check_keys(spec, SOURCE_KEYS, where, ConfigError)
    origins = [key for key in ("seed", "path", "connection") if spec.get(key)]
    if not origins and spec.get("table"):
        # a table without a connection: a table of Spark's catalog (engine: spark)
        check_keys(spec, {"table", "column_types"}, where, ConfigError)
        return Source(name=name, table=_text(spec, "table", where),
                      column_types=_column_types(spec.get("column_types"), f"{where}.column_types"))
    if len(origins) != 1:
        raise ConfigError(f"{where}: give exactly one of 'seed', 'path' or 'connection'")
    column_types = _column_types(spec.get("column_types"), f"{where}.column_types")
    if "seed" in origins:
        seed = str(spec["seed"])
        if seed not in seeds:
            raise ConfigError(f"{where}: no seed file seeds/{seed}.csv")
        return Source(name=name, seed=seeds[seed], column_types={**seed_types.get(seed, {}), **column_types})
    if "connection" in origins:
        conn = connections.get(spec["connection"])
        if conn is None:
            raise ConfigError(f"{where}: unknown connection '{spec['connection']}' — declare it under 'connections'")
        return Source(name=name, connection=conn, table=str(spec.get("table") or name), column_types=column_types)
    file_format = spec.get("format")
    if file_format not in (None, "csv", "parquet"):
        raise ConfigError(f"{where}: 'format' must be csv or parquet")
    copy = spec.get("copy", False)
    if not isinstance(copy, bool):
        raise ConfigError(f"{where}: 'copy' must be true or false, got {copy!r}")
    path = _text(spec, "path", where)
    if URI.match(path):
        full, pattern = path, None
    elif os.path.isabs(path):
        full, pattern = path, path
    else:
        full, pattern = str(root / path), os.path.join(glob.escape(str(root)), path)
    return Source(name=name, path=full, format=file_format, column_types=column_types, copy=copy, pattern=pattern)


def _segments_origin(config, path, root, connections) -> Source | Path:
    """seeds/segments.yml by default; another YAML file (`segments: other.yml`), or
    a table (`{connection: app, table: public.segments}`) or CSV/Parquet file
    (`{path: data/segments.csv}`) holding id, workspace_id, name, description, filters."""
    spec = config.get("segments")
    if spec is None:
        return root / "seeds" / "segments.yml"
    if isinstance(spec, str):
        return root / spec
    if isinstance(spec, dict) and re.search(r"\.ya?ml$", str(spec.get("path") or ""), re.IGNORECASE):
        check_keys(spec, {"path"}, f"{path}: segments", ConfigError)
        return root / str(spec["path"])
    return _source("segments", spec, f"{path}: segments", root, {}, connections, {})
