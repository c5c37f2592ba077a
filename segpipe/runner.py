"""Run a compiled plan: build what changed into a fresh file, test it, publish it.

The orchestration only. The plan comes compiled (plan.py); what to rebuild is
decided from fingerprints (changes.py); each model is built by a
materialization (materialize.py); the file is published atomically
(publish.py). Progress prints one line per node and ends in
target/run_results.json.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import shutil
import time
from dataclasses import replace
from pathlib import Path

import duckdb

from . import __version__, file_views, materialize, target
from .changes import Changes, NodeId, read_fingerprints, write_fingerprints
from .docs import apply_comments, run_tests
from .errors import ConfigError, DataTestError, LockedError, RunError, SegpipeError, disk_full, first_line
from .interrupt import stoppable, watch
from .kept_warnings import keep, kept, kept_in, relating_tests, report_kept
from .plan import Plan
from .project import CONTRACT_SOURCES, PROJECT_FILE
from .publish import BuildFile, read_by_published, remove_external_folders
from .render import misnamed_macros, replaced_filter_key_macros, unread_vars
from .source_types import CONTRACT, sends_from_metadata
from .sources import Loader
from .sql import META_SCHEMA, connect, create_meta_schema, quote_ident, without_pandas
from .suggest import did_you_mean
from .wording import plural

#: the fingerprint naming the engine that built the published file
ENGINE_NODE = NodeId("engine", "type")


class Progress:
    """One line per node as it finishes, and the records behind run_results.json."""

    def __init__(self, echo):
        self.echo = echo
        self.results: list[dict] = []

    def node(self, kind: str, name: str, status: str, seconds: float, rows: int | None = None, message: str = "",
             example: str = ""):
        """`example` (a failing row) goes on a line of its own, whole: it is what a user acts on."""
        rows_text = f"{rows:>10,} rows" if rows is not None else " " * 15
        shown = message[:99] + "…" if len(message) > 100 else message
        self.echo(f"{status:<5} {kind:<6} {name:<56} {rows_text}  {seconds:6.2f}s{('  ' + shown) if shown else ''}")
        if example:
            self.echo(f"{'':12} e.g. {example}")
        self.results.append({"unique_id": f"{kind}.{name}", "status": status.lower(), "rows": rows,
                             "execution_time": round(seconds, 4),
                             "message": (f"{message}, e.g. {example}" if example else message) or None})

    def count(self, kind: str, status: str) -> int:
        return sum(1 for r in self.results if r["unique_id"].startswith(f"{kind}.") and r["status"] == status)


def run(plan: Plan, *, full_refresh: bool = False, echo=print, verify=None, wait: float = 0) -> dict:
    """Build what changed, test it, publish. Returns the run results; raises a SegpipeError on failure.
    `verify(con, plan, name)`, when given, checks the file after model `name` is built, and
    with name None once everything is built; it raises to stop the run before publishing.

    With a published file from an earlier run (and no --full-refresh), the build
    starts from a copy of it: unchanged sources are not reloaded, unchanged
    models not rebuilt, and incremental models only recompute their recent rows.
    When nothing changed at all, nothing is built or published. `wait`: seconds to
    wait for another run holding the lock (publish.BuildFile). Ctrl-C or SIGTERM
    stops the running query (interrupt.py); a full disk is one line (DiskFullError).
    """
    started = time.perf_counter()
    project = plan.project
    engine = project.engine
    if engine.is_spark:
        from .engines.spark import require_pyspark

        require_pyspark()
        check_external(plan)
    else:
        from .engines.duckdb import check_sources

        check_sources(project)
    progress = Progress(echo)
    warn_unread_vars(plan, progress)
    warn_unread_sources(plan, progress)
    warn_project_macros(plan, progress)
    try:
        # the lock first: another run publishing now must not change the file whose
        # fingerprints decide what this run rebuilds
        with stoppable() as commit, BuildFile(project.database, wait=wait, on_wait=echo) as build:
            # after the lock too: a run refused (exit 75) must not overwrite the SQL the other one runs
            target.write_compiled(project, plan.models.values())
            previous = {} if full_refresh else read_fingerprints(project.database)
            if previous.get(ENGINE_NODE, "duckdb") != engine.type:
                previous = {}  # built by the other engine: start afresh
            if not previous:
                # a fresh file needs every model: selected before detection, so a --select run
                # stores every model's fingerprints, not the unselected ones' (absent) old ones
                plan.selected = set(plan.models)
            changes = Changes.detect(plan, previous)
            changes.fingerprints[ENGINE_NODE] = engine.type
            if previous and not changes.any(plan):
                return _nothing_to_do(plan, progress, started)
            if engine.is_spark or not (previous and build.start_from_published()):
                plan.selected = set(plan.models)  # a fresh file needs every model
                # not detected again: the files fingerprinted are the files loaded
                changes = Changes.everything(plan, changes)
            folders = set()
            if engine.is_spark:
                folders = _build_on_spark(plan, changes, build.path, progress, verify)
            else:
                with without_pandas():  # DuckDB binding a parameter would import it: 0.3 s
                    if not _build(plan, changes, build.path, progress, verify):
                        return _nothing_to_do(plan, progress, started)
            still_read = read_by_published(project.database)  # by readers of the file replaced now
            build.publish(before_rename=commit)
            remove_external_folders(project.database, keep=folders | still_read)
    except BaseException as exc:  # Ctrl-C too: run_results.json says what the last run did
        if not isinstance(exc, LockedError):  # a run refused (exit 75) never ran: the other run's results stand
            _write_results(plan, progress, started, "error", str(exc))
        full = disk_full(exc, project.database.parent)
        if full:
            raise full from None
        raise
    seconds = time.perf_counter() - started
    _write_results(plan, progress, started, "success", None)
    warned = sum(1 for r in progress.results if r["status"] == "warn")
    echo(f"Done: {plural(progress.count('model', 'ok'), 'model')} built, {plural(progress.count('test', 'pass'), 'data test')} "
         f"passed, {plural(warned, 'warning')} in {seconds:.2f}s — published {project.relpath(project.database)}")
    return {"results": progress.results, "seconds": seconds}


def _nothing_to_do(plan: Plan, progress: Progress, started: float) -> dict:
    """The published file stays: its warnings are reported again, and the run says why."""
    project = plan.project
    report_kept(kept_in(project.database), plan, progress)
    progress.echo(f"Nothing to do: all {len(plan.models)} models are up to date in {project.relpath(project.database)}")
    _write_results(plan, progress, started, "success", "nothing to do")
    return {"results": [], "seconds": time.perf_counter() - started}


def check_external(plan: Plan) -> None:
    """engine.external names tables to write as Parquet: a name that is no table model
    of the project would silently be brought back into the file like the others."""
    tables = [name for name, model in plan.models.items() if model.materialized != "view"]
    for name in plan.project.engine.external:
        if name not in tables:
            raise ConfigError(f"{plan.project.root / PROJECT_FILE}: engine.external: '{name}' is not a table model "
                              f"of this project{did_you_mean(name, tables)} — list models such as segment_leads "
                              "(`segpipe ls` shows them)")


def warn_unread_vars(plan: Plan, progress: Progress) -> None:
    """SPEC §12: a var set in project.yml (or --vars) that no model reads is a warning naming
    the closest var that is read — `attribtion: campaign` would otherwise change nothing."""
    for name, hint in unread_vars(plan.renderer, plan.models, plan.project.vars):
        progress.node("var", name, "WARN", 0.0, message=f"vars.{name} is set, but no model reads it{hint}")


def warn_project_macros(plan: Plan, progress: Progress) -> None:
    """A project macro that nothing calls, named close to a built-in macro: a warning naming
    that one, as replacing a built-in macro takes its exact name (`rates` for `rate` would
    otherwise change nothing). And one replacing match_key() or tag_keys(), which the leads'
    values follow but segment filter values do not."""
    for name, where, built_in in misnamed_macros(plan.renderer, plan.models):
        progress.node("macro", name, "WARN", 0.0,
                      message=f"{where}: nothing calls it (did you mean '{built_in}', to replace the built-in one?)")
    for name, where in replaced_filter_key_macros(plan.renderer):
        progress.node("macro", name, "WARN", 0.0,
                      message=f"{where}: leads' values follow it; filter values stay only trimmed and lower-cased")


def warn_unread_sources(plan: Plan, progress: Progress) -> None:
    """A source in project.yml that no model reads, and no contract table, is a warning
    naming the closest one that is: `leeds: {path: …}` would otherwise leave the seed leads
    in every figure."""
    read = {name for model in plan.models.values() for name in model.sources}
    known = read | set(CONTRACT_SOURCES)
    for name in plan.project.sources:
        if name not in known:
            progress.node("source", name, "WARN", 0.0,
                          message=f"sources.{name} is set, but no model reads it{did_you_mean(name, sorted(known))}")


def _build(plan: Plan, changes: Changes, path: Path, progress: Progress, verify=None) -> bool:
    """Build and test what changed into the file at `path`; False when, its database sources
    reloaded, nothing had (then there is nothing to publish)."""
    con = watch(connect(path, threads=plan.project.threads, memory_limit=plan.project.memory_limit, building=True))
    try:
        for node in sorted(changes.removed):
            materialize.drop_node(con, node.kind, node.name)
            progress.node(node.kind, node.name, "DROP", 0.0, message="removed from the project")
        compared = _set_aside_old_sends(con, changes)
        _load_changed_sources(con, plan, changes, progress)
        file_views.replay(con, sources=_names("source", changes.changed | changes.removed),
                          models=_names("model", changes.removed))
        # after the replay: src.campaigns may be a view over its files
        if "campaign_leads" in changes.added:
            changes.first_new_send, changes.untimed_new_sends = _new_sends(con, plan.project, changes.added["campaign_leads"])
        elif _reloads_sends_whole(changes):
            (changes.first_new_send, changes.untimed_new_sends), changes.new_sends_in = _changed_sends(con, plan.project, compared)
        changes = changes.with_loaded_rows(plan, con)
        if not changes.fresh and not changes.any(plan):
            return False  # the database tables reloaded hold the rows already published
        built = []
        for name in plan.order:
            if _build_model(con, plan, changes, name, progress):
                built.append(name)
                if verify is not None:
                    verify(con, plan, name)
        for name in built:
            if name in plan.docs:
                apply_comments(con, plan.docs[name], plan.models[name].relation)
        skipped = [name for name in plan.order if name not in built]
        warned = run_data_tests(con, plan, progress, built, also=relating_tests(plan, skipped))
        keep(con, warned + report_kept(kept(con), plan, progress, skipped))
        _write_run_info(con, plan)
        if verify is not None:
            verify(con, plan, None)
        file_views.detach(con, plan)
        write_fingerprints(con, changes.fingerprints)
        con.execute("CHECKPOINT")
        return True
    finally:
        con.close()


def _build_on_spark(plan: Plan, changes: Changes, path: Path, progress: Progress, verify=None) -> set[Path]:
    """Build every model on Spark and test it there, then copy the published models
    (schema main) into the DuckDB build file. Returns the Parquet folders it reads."""
    from .engines.spark import SparkBuild

    project = plan.project
    build = SparkBuild(project, progress)
    folders = set()
    try:
        build.load_sources(plan, changes.paths)
        for name in plan.order:
            model = plan.models[name]
            model.sql = build.build_model(model)  # target/compiled shows the SQL that ran
        target.write_compiled(project, plan.models.values())
        warned = run_data_tests(None, plan, progress, plan.order, run=build.run_tests)
        con = connect(path, threads=project.threads, memory_limit=project.memory_limit)
        try:
            for name in plan.order:
                model, doc = plan.models[name], plan.docs.get(name)
                if model.materialized == "view":
                    continue  # staging views stay on Spark; every table comes back (commands read some internal ones)
                types = doc.data_types if doc else {}
                if name in project.engine.external:
                    folders.add(build.publish_external(con, model, types, project.database))
                else:
                    build.publish_into(con, model, types)
                if doc:
                    apply_comments(con, doc, model.relation)
                if verify is not None:
                    verify(con, plan, name)
            keep(con, warned)
            _write_run_info(con, plan)
            if verify is not None:
                verify(con, plan, None)
            write_fingerprints(con, changes.fingerprints)
            con.execute("CHECKPOINT")
        finally:
            con.close()
    except BaseException:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        build.close()
    return folders


def _names(kind: str, nodes) -> set[str]:
    return {node.name for node in nodes if node.kind == kind}


def _load_changed_sources(con, plan: Plan, changes: Changes, progress: Progress) -> None:
    """Load the sources and seeds whose files changed; the others stay as copied."""
    project = plan.project
    stale = replace(
        project,
        sources={n: s for n, s in project.sources.items() if NodeId("source", n) in changes.changed},
        seeds={n: p for n, p in project.seeds.items() if NodeId("seed", n) in changes.changed},
    )
    files_of = lambda kind, name: changes.paths.get(NodeId(kind, name))  # noqa: E731
    loader = Loader(con, stale, sends_from_metadata(project))  # the whole project's campaign sources decide
    for kind, name, count, seconds in loader.load_all_timed(files_of, changes.appends):
        appended = changes.appends.get(name) if kind == "source" and name not in loader.reloaded else None
        progress.node(kind, name, "OK", seconds, count, message=f"appended {plural(len(appended), 'new file')}" if appended else "")
    for computed in plan.computed_sources:
        if changes.source(computed.name):
            t0 = time.perf_counter()
            rows = computed.write(con)
            progress.node("source", computed.name, "OK", time.perf_counter() - t0, rows)


def _new_sends(con, project, files: list[str]) -> tuple[dt.datetime | None, bool]:
    """_dated(...) of the rows of campaign_leads' new `files`: read from those files only, so it
    costs what they hold. Unreadable on their own (a CSV with mixed line endings loads through a
    normalised copy): the earliest time there is, so the models are rebuilt in full."""
    try:
        rows = Loader(con, project).typed_rows(project.sources["campaign_leads"], CONTRACT["campaign_leads"], files)
        return _dated(con, project, rows)
    except (duckdb.Error, SegpipeError):
        return dt.datetime.min, True


def _dated(con, project, rows: str) -> tuple[dt.datetime | None, bool]:
    """(the earliest send time among campaign_leads `rows` (SQL), whether one of them has none).
    A send without its own sent_at takes its campaign's, as in stg_sends: any workspace's
    campaign of that id, the earlier for the first, and one without a time (or none at all)
    makes it a send without a time there, as send_problems reports it."""
    if "campaigns" not in project.sources:
        return con.execute(f"SELECT min(sent_at), coalesce(bool_or(sent_at IS NULL), false) FROM ({rows}) WHERE sent").fetchone()
    return con.execute(f"SELECT min(coalesce(cl.sent_at, c.sent_at)), coalesce(bool_or(cl.sent_at IS NULL AND c.sent_at IS NULL), false) "
                       f"FROM ({rows}) AS cl LEFT JOIN src.campaigns AS c ON c.id = cl.campaign_id WHERE cl.sent").fetchone()


#: where a run keeps the sends it copied from the published file while it reloads campaign_leads
SENDS_BEFORE = "src.campaign_leads_before_run"


def _reloads_sends_whole(changes: Changes) -> bool:
    """Whether campaign_leads is reloaded whole (a changed file, a database table, not just new
    files) while incremental models may update in place: its changed rows must then be dated."""
    return changes.source("campaign_leads") and "campaign_leads" not in changes.added and bool(changes.incremental)


def _set_aside_old_sends(con, changes: Changes) -> bool:
    """Whether campaign_leads, about to be reloaded whole, was renamed to SENDS_BEFORE, to be
    compared with its new rows: an export rewritten with an old send changed must not leave it
    out of the days an incremental run keeps."""
    if not _reloads_sends_whole(changes):
        return False
    kind = con.execute("SELECT table_type FROM information_schema.tables WHERE table_catalog = current_database() "
                       "AND table_schema = 'src' AND table_name = 'campaign_leads'").fetchone()
    if kind != ("BASE TABLE",):  # read in place: the old rows are not kept, so they cannot be compared
        return False
    con.execute(f"ALTER TABLE src.campaign_leads RENAME TO {SENDS_BEFORE.split('.')[1]}")
    return True


def _changed_sends(con, project, compared: bool) -> tuple[tuple[dt.datetime | None, bool], str]:
    """(_dated(...) of the rows of campaign_leads added, removed or changed since the published
    file, what holds them for the run line). The rows are compared whole
    (EXCEPT ALL both ways), so a late reply to an old send counts; without the old rows to
    compare (read in place, other columns) the earliest time there is: rebuilt in full."""
    if not compared:
        return (dt.datetime.min, True), "changed files"
    try:
        describe = lambda table: con.execute(f"DESCRIBE {table}").fetchall()  # noqa: E731
        if describe(SENDS_BEFORE) != describe("src.campaign_leads"):
            return (dt.datetime.min, True), "changed files"
        changed = (f"(SELECT * FROM src.campaign_leads EXCEPT ALL SELECT * FROM {SENDS_BEFORE}) UNION ALL "
                   f"(SELECT * FROM {SENDS_BEFORE} EXCEPT ALL SELECT * FROM src.campaign_leads)")
        return _dated(con, project, changed), "changed rows"
    except duckdb.Error:
        return (dt.datetime.min, True), "changed files"
    finally:
        con.execute(f"DROP TABLE IF EXISTS {SENDS_BEFORE}")


def _build_model(con, plan: Plan, changes: Changes, name: str, progress: Progress) -> bool:
    """Build one model when it is selected and changed; whether it was built."""
    model = plan.models[name]
    if name not in plan.selected or not changes.model(name):
        progress.node("model", name, "SKIP", 0.0, message="up to date")
        return False
    t0 = time.perf_counter()
    try:
        incremental, reason = name in changes.incremental, ""
        if incremental:
            plan.renderer.render(model, plan.relations, incremental=True,
                                 run_query=lambda sql: con.execute(sql).fetchall())
            since = model.config.get("recomputes_since")
            if changes.old_sends_added(con, since):
                day, what = since.strip("'"), changes.new_sends_in
                if changes.first_new_send == dt.datetime.min:  # not read alone, or not compared row by row
                    what = "new files read only through a clean copy" if what == "new files" else what
                    incremental, reason = False, f"in full: {what} may hold sends before {day}"
                else:
                    incremental, reason = False, f"in full: {what} hold sends before {day}"
            elif changes.untimed_sends_added(model):
                incremental, reason = False, f"in full: {changes.new_sends_in} hold sends without a send time"
            if not incremental:
                plan.renderer.render(model, plan.relations)  # the full build's SQL again
        if incremental:
            rows, message = materialize.update_incremental(con, model), "incremental"
        elif model.config.get("batches"):
            rows, slices = materialize.replace_in_batches(
                con, model, lambda batch: plan.renderer.render(model, plan.relations, batch=batch))
            message = ", ".join(filter(None, [reason, f"in {plural(slices, 'slice')}"]))
        else:
            rows, message = materialize.replace(con, model), reason
    except duckdb.Error as exc:
        progress.node("model", name, "ERROR", time.perf_counter() - t0)
        raise RunError(f"model {name} ({plan.project.relpath(model.path)}) failed: {first_line(exc)} — "
                       "see target/compiled for the SQL that ran") from None
    progress.node("model", name, "OK", time.perf_counter() - t0, rows, message=message)
    return True


def run_data_tests(con, plan: Plan, progress: Progress, models=None, consequence: str = "nothing published",
                   run=None, also=()) -> list[tuple[str, str, str, str]]:
    """Run the data tests of `models` (default: the selected ones), and the tests `also`, on
    `con`, or with `run` (an engine's own docs.run_tests); raise DataTestError when one of
    error severity fails. Warnings only print; returns them as (model, test, message, example)."""
    models = plan.selected if models is None else set(models)
    tests = [t for name, doc in plan.docs.items() if name in models for t in doc.tests] + list(also)
    failures, warnings = [], []

    def resolve(target: str, test) -> str:
        kind, name = target.split("(", 1)
        name = name.strip("()'\" ")
        if kind.strip() == "source":
            return f"src.{quote_ident(name)}"
        try:
            return plan.relation_of(name)
        except ConfigError:
            raise ConfigError(f"{test.file}: test {test.name}: {target} not found") from None

    if run is None:
        run = functools.partial(run_tests, con)
    for test, count, sample, seconds in run(tests, plan.relation_of, resolve):
        status = "PASS" if count == 0 else ("WARN" if test.severity == "warn" else "FAIL")
        message, example = test.failure(count, sample) if count else ("", "")
        progress.node("test", test.name, status, seconds, None, message, example)
        if status == "WARN":
            warnings.append((test.model, test.name, message, example))
        if status == "FAIL":
            failures.append(f"{test.name} ({message}{', e.g. ' + example if example else ''})")
    if failures:
        raise DataTestError(f"{plural(len(failures), 'data test')} failed, {consequence}: {'; '.join(failures)}")
    return warnings


#: the vars run_info publishes: what readers need to interpret the figures. Every BI user
#: reads the file, so other vars (a --vars token, a connection name) never go into it.
PUBLISHED_VARS = ("as_of", "attribution", "days")


def _write_run_info(con, plan: Plan) -> None:
    """What the published file was built with, for `segpipe top` and curious BI users."""
    public = {name: plan.variables[name] for name in PUBLISHED_VARS if name in plan.variables}
    create_meta_schema(con)
    con.execute(f"CREATE OR REPLACE TABLE {META_SCHEMA}.run_info "
                "(built_at TIMESTAMP, segpipe_version VARCHAR, vars JSON, sources JSON)")
    con.execute(f"INSERT INTO {META_SCHEMA}.run_info VALUES (?, ?, ?, ?)",
                [dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), __version__,
                 json.dumps(public, default=str, sort_keys=True),
                 json.dumps(sorted([*plan.project.sources, *(s.name for s in plan.computed_sources)]))])


def _write_results(plan: Plan, progress: Progress, started: float, status: str, message) -> None:
    target.write_run_results(plan.project.root, {
        "status": status, "message": message, "elapsed_time": round(time.perf_counter() - started, 4),
        "results": progress.results})
