"""Build every model in dependency order into a fresh file, test it, publish it.

`compile_project` does everything that needs no database (validate segments,
render models, order the DAG) so that configuration errors stop a run before a
file is touched. `run` then loads sources, builds models, applies the docs as
comments, runs the data tests and hands the file to `publish.BuildFile`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb

from . import __version__, file_views
from .dag import build_order, select
from .docs import apply_comments, load_docs, run_tests
from .errors import ConfigError, DataTestError, RunError, disk_full, first_line
from .interrupt import stoppable, watch
from .project import Project, parse_cache_file
from .publish import BuildFile
from .render import Model, Renderer, compile_models, discover_models
from .safe_write import write_own_file
from .segments import Segment, load_segments_file
from .sources import CONTRACT, Loader, quote_ident, read_segments_table, write_segments_table
from .state import (appended_files, digest, read_fingerprints, source_files, source_fingerprint,
                    write_fingerprints)

ATTRIBUTIONS = ("matching", "campaign")
META_SCHEMA = "segpipe_meta"


@dataclass
class Plan:
    """A compiled project: the models with rendered SQL, in build order."""

    project: Project
    segments: list[Segment]
    models: dict[str, Model]
    order: list[str]
    selected: set[str]
    variables: dict
    docs: dict = field(default_factory=dict)
    renderer: Renderer | None = None

    @property
    def relations(self) -> dict[str, str]:
        return {name: model.relation for name, model in self.models.items()}

    def relation_of(self, name: str) -> str:
        if name in self.models:
            return self.models[name].relation
        if name in self.project.seeds:
            return f"seeds.{quote_ident(name)}"
        raise ConfigError(f"no model or seed named '{name}'")


def resolve_vars(project: Project, as_of: dt.date | None) -> dict:
    """Check the vars every demo model relies on; add `as_of` (an ISO date)."""
    variables = dict(project.vars)
    days = variables.get("days")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
        raise ConfigError(f"vars.days must be a whole number of days from 1 to 365, got {days!r}")
    if variables.get("attribution") not in ATTRIBUTIONS:
        raise ConfigError(f"vars.attribution must be 'matching' or 'campaign', got {variables.get('attribution')!r}")
    if as_of is None:
        as_of = _as_date(variables.get("as_of")) if variables.get("as_of") else dt.datetime.now(dt.timezone.utc).date()
    variables["as_of"] = as_of.isoformat()
    return variables


def _as_date(value) -> dt.date:
    """vars.as_of: a YAML date, or text as strict as --as-of."""
    from .top import parse_date

    return value if isinstance(value, dt.date) else parse_date(str(value), "vars.as_of")


def load_segments(project: Project) -> list[Segment]:
    if isinstance(project.segments, Path):
        if not project.segments.exists():
            return []
        return load_segments_file(project.segments, cache=parse_cache_file(project, project.segments))
    return read_segments_table(project, project.segments)


def compile_project(project: Project, *, as_of: dt.date | None = None, selection: str | None = None) -> Plan:
    """Validate and render everything; no database is opened."""
    variables = resolve_vars(project, as_of)
    segments = load_segments(project)
    _check_campaign_sources(project)
    seed_relations = {name: f"seeds.{quote_ident(name)}" for name in project.seeds}
    renderer = Renderer(project.root, project.macro_files(), variables=variables,
                        source_names=[*project.sources, "segments"], seed_relations=seed_relations,
                        segments=segments)
    models = discover_models(project.root, project.model_files())
    compile_models(renderer, models)
    order = build_order(models)
    docs = load_docs(project.root, project.doc_files(), cache_of=lambda path: parse_cache_file(project, path))
    for name, doc in docs.items():
        if name not in models:
            raise ConfigError(f"{doc.file}: documents model '{name}', which does not exist")
    return Plan(project, segments, models, order, select(models, selection, project.models_dir), variables, docs, renderer)


def _check_campaign_sources(project: Project) -> None:
    present = [name for name in ("campaigns", "campaign_leads") if name in project.sources]
    if len(present) == 1:
        missing = {"campaigns", "campaign_leads"} - set(present)
        raise ConfigError(f"source '{present[0]}' needs source '{missing.pop()}' too — give both, or neither to count sends from leads.metadata")


def write_compiled(plan: Plan) -> None:
    """target/compiled/<model path>: the SQL exactly as it was run."""
    project = plan.project
    for model in plan.models.values():
        target = project.target_dir / "compiled" / project.relpath(model.path)
        try:
            write_own_file(target, model.sql)
        except OSError as exc:
            if disk_full(exc, target.parent):
                raise disk_full(exc, target.parent) from None
            raise ConfigError(f"{project.relpath(target)}: cannot write the compiled SQL ({exc.strerror}) — "
                              f"make {project.relpath(project.target_dir)}/ a folder segpipe can write to") from None


def configure(con: duckdb.DuckDBPyConnection, project: Project) -> None:
    con.execute("SET TimeZone = 'UTC'")
    if project.threads:
        con.execute(f"SET threads = {int(project.threads)}")
    if project.memory_limit:
        con.execute(f"SET memory_limit = '{str(project.memory_limit).replace(chr(39), '')}'")


class Progress:
    """One line per node as it finishes, and the records behind run_results.json."""

    def __init__(self, echo):
        self.echo = echo
        self.results: list[dict] = []

    def node(self, kind: str, name: str, status: str, seconds: float, rows: int | None = None, message: str = ""):
        rows_text = f"{rows:>10,} rows" if rows is not None else " " * 15
        if len(message) > 100:
            message = message[:99] + "…"
        self.echo(f"{status:<5} {kind:<6} {name:<56} {rows_text}  {seconds:6.2f}s{('  ' + message) if message else ''}")
        self.results.append({"unique_id": f"{kind}.{name}", "status": status.lower(), "rows": rows,
                             "execution_time": round(seconds, 4), "message": message or None})


def run(project: Project, *, selection: str | None = None, as_of: dt.date | None = None, full_refresh: bool = False,
        echo=print, wait: float = 0) -> dict:
    """Build what changed, test it, publish. Returns the run results; raises a SegpipeError on failure.

    With a published file from an earlier run (and no --full-refresh), the build
    starts from a copy of it: unchanged sources are not reloaded, unchanged
    models not rebuilt, and incremental models only recompute their recent rows.
    When nothing changed at all, nothing is built or published. `wait`: seconds to
    wait for another run holding the lock (publish.BuildFile). Ctrl-C or SIGTERM
    stops the running query (interrupt.py); a full disk is one line (DiskFullError).
    """
    started = time.perf_counter()
    plan = compile_project(project, as_of=as_of, selection=selection)
    write_compiled(plan)
    progress = Progress(echo)
    try:
        # the lock first: another run publishing now must not change the file whose
        # fingerprints decide what this run rebuilds
        with stoppable(), BuildFile(project.database, wait=wait, on_wait=echo) as build:
            previous = {} if full_refresh else read_fingerprints(project.database)
            changes = Changes.detect(plan, previous)
            if previous and not changes.any(plan):
                echo(f"Nothing to do: all {len(plan.models)} models are up to date in {project.relpath(project.database)}")
                _write_results(project, progress, started, "success", "nothing to do")
                return {"results": [], "seconds": time.perf_counter() - started}
            if not (previous and build.start_from_published()):
                changes = Changes.everything(plan, changes)
                plan.selected = set(plan.models)  # a fresh file needs every model
            _build(plan, changes, build.path, progress)
            build.publish()
    except Exception as exc:
        _write_results(project, progress, started, "error", str(exc))
        full = disk_full(exc, project.database.parent)
        if full:
            raise full from None
        raise
    seconds = time.perf_counter() - started
    passed = sum(1 for r in progress.results if r["unique_id"].startswith("test.") and r["status"] == "pass")
    warned = sum(1 for r in progress.results if r["status"] == "warn")
    _write_results(project, progress, started, "success", None)
    built = sum(1 for r in progress.results if r["unique_id"].startswith("model.") and r["status"] == "ok")
    echo(f"Done: {built} models built, {passed} data tests passed, {warned} warnings in {seconds:.2f}s — published {project.relpath(project.database)}")
    return {"results": progress.results, "seconds": seconds}


@dataclass
class Changes:
    """Which nodes must be (re)built this run, from fingerprints old and new."""

    fingerprints: dict[str, str | None]
    changed: set[str]
    incremental: set[str]  # incremental models that may update in place
    appends: dict[str, list[str]] = field(default_factory=dict)  # source → only its new files
    removed: set[str] = field(default_factory=set)  # nodes of the last run that no longer exist
    paths: dict[str, list[str]] = field(default_factory=dict)  # source or seed node → the files fingerprinted

    @classmethod
    def detect(cls, plan: Plan, previous: dict[str, str]) -> "Changes":
        project, fps = plan.project, {}
        appends, paths = {}, {}
        for name, source in project.sources.items():
            contract, files = CONTRACT.get(name, {}), source_files(source)
            if files is not None:
                paths[f"source:{name}"] = [path for path, *_ in files]
            fps[f"source:{name}"] = source_fingerprint(source, contract, files)
            fps[f"files:{name}"] = json.dumps(files) if files is not None else None
            old_files = json.loads(previous.get(f"files:{name}") or "null")
            new_files = appended_files(old_files, files)
            # append only if nothing but new files changed: same config, same old files (a
            # source read in place is a view over all its files, so nothing to append)
            if (new_files and not Loader.reads_in_place(source)
                    and previous.get(f"source:{name}") == source_fingerprint(source, contract, old_files)):
                appends[name] = new_files
        for name in project.seeds:
            seed = project.seed_source(name)
            files = source_files(seed)
            paths[f"seed:{name}"] = [path for path, *_ in files]
            fps[f"seed:{name}"] = source_fingerprint(seed, {}, files)
        fps["source:segments"] = digest([vars(s) for s in plan.segments])
        for name in plan.order:
            model = plan.models[name]
            doc = plan.docs.get(name)
            definition = digest(model.sql, model.config, vars(doc) if doc else None)
            inputs = [fps.get(f"model:{r}", fps.get(f"seed:{r}")) for r in model.refs]
            inputs += [fps[f"source:{s}"] for s in model.sources]
            fps[f"definition:{name}"] = definition
            fps[f"model:{name}"] = None if None in inputs else digest(definition, inputs)
        changed = {node for node, fp in fps.items() if fp is None or previous.get(node) != fp}
        # An incremental model updates in place only when just the *data* upstream changed:
        # its own SQL, and the SQL of every model upstream, must be as last time.
        redefined = set()
        for name in plan.order:
            model = plan.models[name]
            if f"definition:{name}" in changed or any(r in redefined for r in model.refs):
                redefined.add(name)
        incremental = set()
        for name in plan.order:
            model = plan.models[name]
            rebuild_on = model.config.get("full_refresh_on", [])
            if (model.materialized == "incremental" and f"model:{name}" in previous
                    and name not in redefined
                    and not any(f"model:{r}" in changed or f"source:{r}" in changed for r in rebuild_on)):
                incremental.add(name)
        # --select leaves changed models unbuilt: they keep their old fingerprints, and a selected
        # model built on top of one stores none, so the next run rebuilds both.
        stale = set()
        for name in plan.order:
            if name not in plan.selected and f"model:{name}" in changed:
                stale.add(name)
                fps[f"model:{name}"], fps[f"definition:{name}"] = previous.get(f"model:{name}"), previous.get(f"definition:{name}")
            elif any(r in stale for r in plan.models[name].refs):
                stale.add(name)
                fps[f"model:{name}"] = None
        removed = {node for node in previous if node.split(":")[0] in ("model", "source", "seed") and node not in fps}
        return cls(fps, changed, incremental, appends, removed, paths)

    @classmethod
    def everything(cls, plan: Plan, detected: "Changes") -> "Changes":
        """A fresh file: every node is built in full."""
        return cls(detected.fingerprints, set(detected.fingerprints), set(), paths=detected.paths)

    def any(self, plan: Plan) -> bool:
        """Anything to build: a removed node, a changed source or seed, or a changed selected model."""
        return (bool(self.removed) or any(node.startswith(("source:", "seed:")) for node in self.changed)
                or any(f"model:{name}" in self.changed for name in plan.selected))

    def model(self, name: str) -> bool:
        return f"model:{name}" in self.changed


def _build(plan: Plan, changes: Changes, path: Path, progress: Progress) -> None:
    con = watch(duckdb.connect(str(path)))
    try:
        configure(con, plan.project)
        _drop_removed(con, changes.removed, progress)
        _load_changed_sources(con, plan, changes, progress)
        file_views.replay(con, sources=_names("source", changes.changed | changes.removed),
                          models=_names("model", changes.removed))
        built = []
        for name in plan.order:
            model = plan.models[name]
            if name not in plan.selected or not changes.model(name):
                progress.node("model", name, "SKIP", 0.0, message="up to date")
                continue
            if name in changes.incremental:
                plan.renderer.render(model, plan.relations, incremental=True,
                                     run_query=lambda sql: con.execute(sql).fetchall())
                _update_incremental(con, model, progress)
            else:
                _build_model(con, model, progress)
            built.append(name)
        for name in built:
            if name in plan.docs:
                apply_comments(con, plan.docs[name], plan.models[name].relation)
        _test(con, plan, progress, built)
        _write_run_info(con, plan)
        file_views.detach(con, plan)
        write_fingerprints(con, changes.fingerprints)
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _names(kind: str, nodes) -> set[str]:
    """The names of the nodes of one kind ("source:leads" -> "leads")."""
    return {node.split(":", 1)[1] for node in nodes if node.startswith(f"{kind}:")}


def _drop_removed(con, nodes: set[str], progress: Progress) -> None:
    """A model, source or seed gone since the last run leaves the copied file too,
    so an incremental build holds exactly what a fresh one would."""
    for node in sorted(nodes):
        kind, name = node.split(":", 1)
        schemas = {"source": ["src"], "seed": ["seeds"]}.get(kind)
        rows = con.execute("SELECT table_schema, table_type FROM information_schema.tables WHERE table_name = ?",
                           [name]).fetchall()
        for schema, table_type in rows:
            if (schemas and schema in schemas) or (not schemas and schema not in ("src", "seeds", META_SCHEMA)):
                con.execute(f"DROP {'VIEW' if table_type == 'VIEW' else 'TABLE'} {quote_ident(schema)}.{quote_ident(name)}")
        progress.node(kind, name, "DROP", 0.0, message="removed from the project")


def _load_changed_sources(con, plan: Plan, changes: Changes, progress: Progress) -> None:
    """Load the sources and seeds whose files changed; the others stay as copied."""
    project = plan.project
    stale = replace(
        project,
        sources={n: s for n, s in project.sources.items() if f"source:{n}" in changes.changed},
        seeds={n: p for n, p in project.seeds.items() if f"seed:{n}" in changes.changed},
    )
    for node, count, seconds in Loader(con, stale).load_all_timed(changes.paths, changes.appends):
        kind, name = node.split(":", 1)
        appended = changes.appends.get(name) if kind == "source" else None
        progress.node(kind, name, "OK", seconds, count, message=f"appended {len(appended)} new file(s)" if appended else "")
    if "source:segments" in changes.changed:
        t0 = time.perf_counter()
        write_segments_table(con, plan.segments)
        progress.node("source", "segments", "OK", time.perf_counter() - t0, len(plan.segments))


def _build_model(con, model: Model, progress: Progress) -> None:
    t0 = time.perf_counter()
    kind = "VIEW" if model.materialized == "view" else "TABLE"
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {model.schema}")
        existing = con.execute("SELECT table_type FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                               [model.schema, model.name]).fetchone()
        if existing:
            con.execute(f"DROP {'VIEW' if existing[0] == 'VIEW' else 'TABLE'} {model.relation}")
        con.execute(f"CREATE {kind} {model.relation} AS\n{model.sql}")
        rows = None if kind == "VIEW" else con.execute(f"SELECT count(*) FROM {model.relation}").fetchone()[0]
    except duckdb.Error as exc:
        _model_failed(model, exc, progress, t0)
    progress.node("model", model.name, "OK", time.perf_counter() - t0, rows)


def _update_incremental(con, model: Model, progress: Progress) -> None:
    """Replace only the recent rows: delete what `incremental_predicates` (or the new
    rows' unique_key) select, then insert the model's incremental result."""
    t0 = time.perf_counter()
    predicates = model.config.get("incremental_predicates") or []
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE __incoming AS\n{model.sql}")
        if predicates:
            where = " AND ".join(f"({p})" for p in predicates)
        else:
            keys = model.config.get("unique_key")
            keys = [keys] if isinstance(keys, str) else list(keys or [])
            if not keys:
                raise RunError(f"model {model.name} ({model.path.name}): an incremental model needs unique_key or incremental_predicates")
            cols = ", ".join(keys)
            where = f"({cols}) IN (SELECT {cols} FROM __incoming)"
        con.execute(f"DELETE FROM {model.relation} WHERE {where}")
        con.execute(f"INSERT INTO {model.relation} BY NAME SELECT * FROM __incoming")
        rows = con.execute("SELECT count(*) FROM __incoming").fetchone()[0]
        con.execute("DROP TABLE __incoming")
    except duckdb.Error as exc:
        _model_failed(model, exc, progress, t0)
    progress.node("model", model.name, "OK", time.perf_counter() - t0, rows, message="incremental")


def _model_failed(model: Model, exc: Exception, progress: Progress, t0: float):
    progress.node("model", model.name, "ERROR", time.perf_counter() - t0)
    raise RunError(f"model {model.name} ({model.path.name}) failed: {first_line(exc)} — "
                   "see target/compiled for the SQL that ran") from None


def _test(con, plan: Plan, progress: Progress, models=None, consequence: str = "nothing published") -> None:
    models = plan.selected if models is None else set(models)
    tests = [t for name, doc in plan.docs.items() if name in models for t in doc.tests]
    failures = []

    def resolve(target: str, test) -> str:
        kind, name = target.split("(", 1)
        name = name.strip("()'\" ")
        if kind.strip() == "source":
            return f"src.{quote_ident(name)}"
        try:
            return plan.relation_of(name)
        except ConfigError:
            raise ConfigError(f"{test.file}: test {test.name}: {target} not found") from None

    for test, count, sample, seconds in run_tests(con, tests, plan.relation_of, resolve):
        status = "PASS" if count == 0 else ("WARN" if test.severity == "warn" else "FAIL")
        message = f"{count} failing rows, e.g. {sample[0]}" if count else ""
        progress.node("test", test.name, status, seconds, None, message)
        if status == "FAIL":
            failures.append(f"{test.name} ({count} rows, e.g. {sample[0]})")
    if failures:
        raise DataTestError(f"{len(failures)} data test(s) failed, {consequence}: {'; '.join(failures)}")


#: the vars run_info publishes: what readers need to interpret the figures. Every BI user
#: reads the file, so other vars (a --vars token, a connection name) never go into it.
PUBLISHED_VARS = ("as_of", "attribution", "days")


def _write_run_info(con, plan: Plan) -> None:
    """What the published file was built with, for `segpipe top` and curious BI users."""
    public = {name: plan.variables[name] for name in PUBLISHED_VARS if name in plan.variables}
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {META_SCHEMA}")
    con.execute(f"CREATE OR REPLACE TABLE {META_SCHEMA}.run_info (built_at TIMESTAMP, segpipe_version VARCHAR, vars JSON)")
    con.execute(f"INSERT INTO {META_SCHEMA}.run_info VALUES (?, ?, ?)",
                [dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), __version__,
                 json.dumps(public, default=str, sort_keys=True)])


def _write_results(project: Project, progress: Progress, started: float, status: str, message) -> None:
    """target/run_results.json, as dbt writes it; a disk too full for it fails nothing."""
    payload = {"status": status, "message": message, "elapsed_time": round(time.perf_counter() - started, 4),
               "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(), "results": progress.results}
    with contextlib.suppress(OSError):
        write_own_file(project.target_dir / "run_results.json", json.dumps(payload, indent=2, default=str))


def test_published(project: Project, *, selection: str | None = None, echo=print) -> None:
    """`segpipe test`: run the data tests against the published file, read-only.

    Raises DataTestError (exit 1) when a test of error severity fails; warnings only print.
    """
    plan = compile_project(project, selection=selection)
    con = file_views.connect_with_sources(project, warn=echo)
    progress = Progress(echo)
    try:
        _test(con, plan, progress, consequence=f"in {project.relpath(project.database)}")
    finally:
        con.close()
    passed = sum(1 for r in progress.results if r["status"] == "pass")
    echo(f"Done: {passed} of {len(progress.results)} data tests passed")


def run_command(echo, *, project_dir: Path | None = None, db: str | None = None, select: str | None = None,
                full_refresh: bool = False, vars_: str | None = None, as_of: str | None = None,
                wait: str | None = None) -> dict:
    """`segpipe run` from its command-line values: the body of the typer command (cli.run)
    and of the console script's typer-free path (entry.py), so both behave alike."""
    from .project import load_project, parse_vars
    from .top import parse_date

    seconds = parse_wait(wait)
    project = load_project(project_dir, db=db, cli_vars=parse_vars(vars_))
    return run(project, selection=select, as_of=parse_date(as_of), full_refresh=full_refresh, echo=echo, wait=seconds)


#: what `--wait` alone stands for (cli.py and entry.py put it in): no time limit
WAIT_FOREVER = "forever"


def parse_wait(text: str | None) -> float:
    """--wait [SECONDS]: 0 without it (stop at once), math.inf alone, else the seconds given."""
    import math

    if text is None:
        return 0.0
    if text == WAIT_FOREVER:
        return math.inf
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ConfigError(f"--wait takes a number of seconds such as 60 (or nothing, to wait as long as it takes), got {text!r}")
    return seconds
