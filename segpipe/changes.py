"""What changed since the published run: fingerprints of every node, and the decision
what to rebuild.

Fingerprints of what each node was built from are kept in the published file. A
rerun compares them: a source whose files did not change is not reloaded, a
model whose rendered SQL and inputs did not change is not rebuilt, and a run
where nothing changed publishes nothing at all. File sources are fingerprinted
by (path, size, mtime) of every matching file, so unchanged data costs a
`stat`, not a scan. Database sources cannot be fingerprinted without reading them:
they are reloaded on every run, and their loaded rows are fingerprinted then
(`Changes.with_loaded_rows`), so a table that did not change rebuilds nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .source_types import CONTRACT, sends_from_metadata
from .sources import Loader
from .sql import META_SCHEMA, create_meta_schema, quote_ident

TABLE = f"{META_SCHEMA}.fingerprints"
#: kinds of what is fingerprinted: nodes that are built or loaded, and auxiliary records (a
#: source's file list, a model's own definition, what an incremental model was last built on)
NODE_KINDS = ("source", "seed", "model")


@dataclass(frozen=True, order=True)
class NodeId:
    """One fingerprinted thing: ("model", "segment_leads"), ("source", "leads") …
    Stored as its text "kind:name"; everywhere else it stays a value."""

    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"

    @classmethod
    def parse(cls, text: str) -> "NodeId":
        kind, _, name = text.partition(":")
        return cls(kind, name)

    @property
    def is_node(self) -> bool:
        """A model, source or seed (not one of the auxiliary records)."""
        return self.kind in NODE_KINDS


def digest(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def source_files(source) -> list[tuple[str, int, int]] | None:
    """(path, size, mtime_ns) of each file behind a seed or file source; None for a database,
    a Spark table or a URI (those cannot be fingerprinted cheaply, so they count as changed)."""
    if source.kind in ("database", "table") or source.is_uri:
        return None
    files = []
    for path in source.paths():
        stat = os.stat(path)
        files.append((path, stat.st_size, stat.st_mtime_ns))
    return files


def source_fingerprint(source, contract: dict, files) -> str | None:
    """Digest of a source's files (from `source_files`) and its configuration."""
    if files is None:
        return None
    return digest(__version__, [list(f) for f in files], source.column_types, contract, source.format,
                  source.copy)


def rows_fingerprint(con, name: str, source, contract: dict) -> str:
    """Digest of a loaded database source's rows (`src.<name>`, typed as configured), whatever
    their order: the count, and the sum and XOR of each row's hash. A row's hash alone does not
    tell a NULL list from an empty one, so which of its values are NULL is hashed with it."""
    table = f"src.{quote_ident(name)}"
    columns = [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]
    nulls = ", ".join(f"{quote_ident(c)} IS NULL" for c in columns)
    row_hash = f"hash(r, [{nulls}])"
    rows = con.execute(f"SELECT count(*), sum({row_hash}::HUGEINT)::VARCHAR, bit_xor({row_hash}) "
                       f"FROM {table} AS r").fetchone()
    return digest(__version__, "rows", list(rows), columns, source.column_types, contract)


def appended_files(previous, current) -> list[str]:
    """Files added since the last run when every earlier file is unchanged, else []."""
    if not previous or not current:
        return []
    now = {path: (size, mtime) for path, size, mtime in current}
    before = {path: (size, mtime) for path, size, mtime in previous}
    if any(now.get(path) != stat for path, stat in before.items()):
        return []
    return sorted(set(now) - set(before))


def read_fingerprints(db_path: Path) -> dict[NodeId, str]:
    """The fingerprints stored by the last successful run; {} when there are none."""
    import duckdb

    if not Path(db_path).exists():
        return {}
    try:
        con = duckdb.connect(str(db_path), read_only=True)
    except duckdb.Error:
        return {}
    try:
        return stored_fingerprints(con)
    except duckdb.Error:
        return {}
    finally:
        con.close()


def stored_fingerprints(con, catalog: str | None = None) -> dict[NodeId, str]:
    """The fingerprints table of the file `con` reads (or of its attached `catalog`)."""
    table = f"{catalog}.{TABLE}" if catalog else TABLE
    return {NodeId.parse(node): fp for node, fp in con.execute(f"SELECT node, fingerprint FROM {table}").fetchall()}


def write_fingerprints(con, fingerprints: dict[NodeId, str | None]) -> None:
    create_meta_schema(con)
    con.execute(f"CREATE OR REPLACE TABLE {TABLE} (node VARCHAR PRIMARY KEY, fingerprint VARCHAR)")
    rows = sorted((str(node), fp) for node, fp in fingerprints.items() if fp is not None)
    if rows:
        placeholders = ", ".join(["(?, ?)"] * len(rows))
        con.execute(f"INSERT INTO {TABLE} VALUES {placeholders}", [v for row in rows for v in row])


@dataclass
class Changes:
    """Which nodes must be (re)built this run, from fingerprints old and new."""

    fingerprints: dict[NodeId, str | None]
    changed: set[NodeId]
    incremental: set[str]  # incremental models that may update in place
    appends: dict[str, list[str]] = field(default_factory=dict)  # source → only its new files
    added: dict[str, list[str]] = field(default_factory=dict)  # source → files added, nothing else changed (appends too)
    removed: set[NodeId] = field(default_factory=set)  # nodes of the last run that no longer exist
    paths: dict[NodeId, list[str]] = field(default_factory=dict)  # source or seed node → the files fingerprinted
    #: the earliest send time in the files added to campaign_leads, or among its rows that changed
    #: (the runner sets it; datetime.min: could not tell), and which of the two (for the run line)
    first_new_send: dt.datetime | None = None
    new_sends_in: str = "new files"
    #: whether those hold a send without a send time (neither its own nor a campaign's; True: could not tell)
    untimed_new_sends: bool = False
    previous: dict[NodeId, str] = field(default_factory=dict, repr=False)  # what detect() compared with
    fresh: bool = False  # everything() built: every node in full

    @classmethod
    def detect(cls, plan, previous: dict[NodeId, str], loaded_rows: dict[str, str] | None = None) -> "Changes":
        """`loaded_rows`: database source → its rows_fingerprint, once it is loaded."""
        fps, added, paths = {}, {}, {}
        _fingerprint_sources(plan, previous, fps, added, paths)
        fps.update((NodeId("source", name), fp) for name, fp in (loaded_rows or {}).items())
        appends = {name: files for name, files in added.items() if not Loader.reads_in_place(plan.project.sources[name])}
        macros = None
        for name in plan.order:
            model = plan.models[name]
            doc = plan.docs.get(name)
            definition = digest(model.sql, model.config, vars(doc) if doc else None)
            if model.materialized == "incremental" or model.config.get("batches"):
                # built from SQL rendered otherwise than model.sql (is_incremental(), a batch):
                # a change to those branches alone, in the model or a macro (an upgrade's, an
                # override's), is a new definition too, or it would never reach the table
                macros = list(plan.renderer.macro_texts().values()) if macros is None else macros
                definition = digest(definition, _template_texts([model.path]), macros)
            if plan.project.engine.is_spark:  # the same SQL runs differently there
                definition = digest(definition, plan.project.engine.type)
            inputs = [fps.get(NodeId("model", r), fps.get(NodeId("seed", r))) for r in model.refs]
            inputs += [fps[NodeId("source", s)] for s in model.sources]
            fps[NodeId("definition", name)] = definition
            fps[NodeId("model", name)] = None if None in inputs else digest(definition, inputs)
        fps.update((NodeId("basis", name), basis) for name, basis in _bases(plan, fps).items())
        changed = {node for node, fp in fps.items() if fp is None or previous.get(node) != fp}
        # the basis it was built on, stored, is proof enough that its table is there: its own
        # fingerprint is None (so never stored) when it reads a database table, which has none
        incremental = {name for name in plan.order
                       if NodeId("basis", name) in fps and NodeId("basis", name) not in changed}
        _keep_unselected(plan, previous, changed, fps)
        overtaken = _overtaken(plan, changed)
        if NodeId("source", "campaign_leads") in changed:  # the next run cannot tell these rows from old ones
            overtaken |= _left_with_new_sends(plan, changed)
        for name, basis in _bases(plan, fps).items():  # what it is built on, as stored; unbuilt, as it was
            built = name in plan.selected and NodeId("model", name) in changed
            kept = None if name in overtaken else previous.get(NodeId("basis", name))
            fps[NodeId("basis", name)] = basis if built else kept
        removed = {node for node in previous if node.is_node and node not in fps}
        if sends_from_metadata(plan.project) and NodeId("source", "campaign_leads") in removed:
            changed.add(NodeId("source", "leads"))  # its metadata is read from now on: load it again, which checks it
        return cls(fps, changed, incremental, appends, added, removed, paths, previous=previous)

    @classmethod
    def everything(cls, plan, detected: "Changes") -> "Changes":
        """A fresh file: every node is built in full."""
        return cls(detected.fingerprints, set(detected.fingerprints), set(), paths=detected.paths,
                   previous=detected.previous, fresh=True)

    def with_loaded_rows(self, plan, con) -> "Changes":
        """These changes again once the database sources are loaded, with their rows
        fingerprinted: a table whose rows did not change rebuilds nothing downstream, and a
        model whose basis includes it (lead_segments from a PostgreSQL leads table) may update
        in place instead of being rebuilt in full on every run."""
        loaded = {name: rows_fingerprint(con, name, source, CONTRACT.get(name, {}))
                  for name, source in plan.project.sources.items()
                  if source.kind == "database" and self.source(name)}
        if not loaded:
            return self
        again = Changes.detect(plan, self.previous, loaded)
        for node, fp in self.fingerprints.items():  # what the runner added (the engine)
            again.fingerprints.setdefault(node, fp)
        if self.fresh:
            again = Changes.everything(plan, again)
        again.first_new_send, again.new_sends_in = self.first_new_send, self.new_sends_in
        again.untimed_new_sends = self.untimed_new_sends
        return again

    def any(self, plan) -> bool:
        """Anything to build: a removed node, a changed source or seed, or a changed selected model."""
        return (bool(self.removed) or any(node.kind in ("source", "seed") for node in self.changed)
                or any(self.model(name) for name in plan.selected))

    def model(self, name: str) -> bool:
        return NodeId("model", name) in self.changed

    def old_sends_added(self, con, since: str | None) -> bool:
        """Whether the files added to campaign_leads, or its rows that changed, hold a send before
        `since` (a SQL literal: the first day an incremental model recomputes, config
        `recomputes_since`). Updated in place, the model would leave that send out until a
        --full-refresh, so it is rebuilt in full."""
        return (self.first_new_send is not None and since is not None
                and con.execute(f"SELECT CAST(? AS TIMESTAMP) < TIMESTAMP {since}", [self.first_new_send]).fetchone()[0])

    def untimed_sends_added(self, model) -> bool:
        """Whether `model` keeps the sends without a send time it found before (config
        `full_refresh_on_untimed_sends`) while the files added to campaign_leads, or its rows that
        changed, hold such a send: with no day to recompute, it would never be found, so the
        model is rebuilt in full."""
        return bool(model.config.get("full_refresh_on_untimed_sends")) and self.untimed_new_sends

    def source(self, name: str) -> bool:
        return NodeId("source", name) in self.changed


def _template_texts(paths) -> list[str]:
    """The text of template files, for a definition that is more than one rendering (not their
    paths: a segpipe reinstalled elsewhere changes no definition)."""
    return [Path(path).read_text(encoding="utf-8", errors="replace") for path in paths]


def _fingerprint_sources(plan, previous, fps, added, paths) -> None:
    """Sources, seeds and the sources the product computes (the segments)."""
    project = plan.project
    for name, source in project.sources.items():
        node, listing = NodeId("source", name), NodeId("files", name)
        contract, files = CONTRACT.get(name, {}), source_files(source)
        if files is not None:
            paths[node] = [path for path, *_ in files]
        fps[node] = source_fingerprint(source, contract, files)
        fps[listing] = json.dumps(files) if files is not None else None
        old_files = json.loads(previous.get(listing) or "null")
        new_files = appended_files(old_files, files)
        # added only if nothing but new files changed: same config, same old files (a source
        # read in place is a view over all its files, so they are not appended to it)
        if new_files and previous.get(node) == source_fingerprint(source, contract, old_files):
            added[name] = new_files
    for name in project.seeds:
        seed = project.seed_source(name)
        files = source_files(seed)
        paths[NodeId("seed", name)] = [path for path, *_ in files]
        fps[NodeId("seed", name)] = source_fingerprint(seed, {}, files)
    for computed in plan.computed_sources:
        fps[NodeId("source", computed.name)] = computed.fingerprint


def _bases(plan, fps) -> dict[str, str | None]:
    """What each incremental model updates in place on (its basis): its own SQL and that of every
    model upstream, and the fingerprints of its `full_refresh_on` nodes (models or sources); None,
    always a full rebuild, when one cannot be fingerprinted. It updates in place only when its
    basis is the one it was last built on, which is not always the last run's: a --select run
    that leaves it unbuilt still stores the new fingerprints of those nodes."""
    upstream, bases = _upstream_models(plan), {}
    for name in plan.order:
        model = plan.models[name]
        if model.materialized != "incremental":
            continue
        rebuild_on = [fps[node] for r in model.config.get("full_refresh_on", [])
                      for node in (NodeId("model", r), NodeId("source", r)) if node in fps]
        definitions = [fps[NodeId("definition", u)] for u in sorted(upstream[name] | {name})]
        bases[name] = None if None in rebuild_on else digest(definitions, rebuild_on)
    return bases


def _overtaken(plan, changed) -> set[str]:
    """Incremental models a --select run leaves unbuilt, with changes pending, while it builds an
    incremental model downstream of them: they store no basis, so the next run rebuilds them in
    full. Their recent days may be judged by a table downstream (send_problems starts at
    segment_performance_daily's last day), which moved on without them: updated in place, the
    rows between would be left out."""
    upstream, overtaken = _upstream_models(plan), set()
    for name in plan.order:
        if plan.models[name].materialized == "incremental" and name in plan.selected and NodeId("model", name) in changed:
            overtaken |= {u for u in upstream[name] if u not in plan.selected
                          and plan.models[u].materialized == "incremental" and NodeId("model", u) in changed}
    return overtaken


def _left_with_new_sends(plan, changed) -> set[str]:
    """Incremental models on the sends that a --select run leaves unbuilt while campaign_leads
    changes (files added, rows changed): the next run no longer sees those rows as new, so it
    could not tell whether they hold sends before the days it updates; it rebuilds them in full."""
    upstream = _upstream_models(plan)
    return {name for name in plan.order if plan.models[name].materialized == "incremental"
            and name not in plan.selected and NodeId("model", name) in changed
            and any("campaign_leads" in plan.models[u].sources for u in upstream[name] | {name})}


def _upstream_models(plan) -> dict[str, set[str]]:
    """Each model's models upstream, all the way up (not itself)."""
    upstream: dict[str, set[str]] = {}
    for name in plan.order:
        refs = [r for r in plan.models[name].refs if r in plan.models]
        upstream[name] = set(refs).union(*(upstream[r] for r in refs))
    return upstream


def _keep_unselected(plan, previous, changed, fps) -> None:
    """--select leaves changed models unbuilt: they keep their old fingerprints, and a selected
    model built on top of one stores none, so the next run rebuilds both."""
    stale = set()
    for name in plan.order:
        model, definition = NodeId("model", name), NodeId("definition", name)
        if name not in plan.selected and model in changed:
            stale.add(name)
            fps[model], fps[definition] = previous.get(model), previous.get(definition)
        elif any(r in stale for r in plan.models[name].refs):
            stale.add(name)
            fps[model] = None
