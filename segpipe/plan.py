"""Compile a project into a plan: every model rendered, in build order, no database opened.

Everything that needs no database happens here (check the vars, render the
models, order the DAG, read the docs), so that a configuration error stops a
run before a file is touched. What the product adds to a build — Jinja
functions, and sources it computes itself such as the segments — comes in as
arguments: the engine does not know what a segment is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from .dag import build_order, select
from .docs import load_docs
from .overrides import builtin_root, layered_docs
from .errors import CompileError, ConfigError
from .project import Project, check_vars, parse_cache_file, parse_date
from .render import Model, Renderer, compile_models, discover_models
from .sql import quote_ident


@dataclass(frozen=True)
class ComputedSource:
    """A source the product computes in Python rather than reads from files (the
    segments): its fingerprint, and how it writes `src.<name>` (returning its rows)."""

    name: str
    fingerprint: str
    write: Callable[[object], int]


@dataclass
class Plan:
    """A compiled project: the models with rendered SQL, in build order."""

    project: Project
    models: dict[str, Model]
    order: list[str]
    selected: set[str]
    variables: dict
    docs: dict = field(default_factory=dict)
    renderer: Renderer | None = None
    computed_sources: list[ComputedSource] = field(default_factory=list)

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
    """Check the vars every built-in model relies on; add `as_of` (an ISO date)."""
    variables = dict(project.vars)
    check_vars(variables)  # --vars too (project.yml's were checked where they were read)
    if as_of is None:
        as_of = _as_date(variables.get("as_of")) if variables.get("as_of") else dt.datetime.now(dt.timezone.utc).date()
    days = int(variables.get("days", 30))
    if (as_of - dt.date.min).days < days - 1:  # as `segpipe top` refuses it: no such window
        raise ConfigError(f"--as-of {as_of} is too early for a {days}-day window (vars.days)")
    variables["as_of"] = as_of.isoformat()
    return variables


def _as_date(value) -> dt.date:
    """vars.as_of: a YAML date, or text as strict as --as-of."""
    return value if isinstance(value, dt.date) else parse_date(str(value), "vars.as_of")


def compile_project(project: Project, *, as_of: dt.date | None = None, selection: str | None = None,
                    context: dict | None = None, computed_sources=()) -> Plan:
    """Validate and render everything; no database is opened. `context` adds names to
    every model's Jinja context; `computed_sources` are sources besides project.yml's."""
    variables = resolve_vars(project, as_of)
    computed_sources = list(computed_sources)
    _check_campaign_sources(project)
    seed_relations = {name: f"seeds.{quote_ident(name)}" for name in project.seeds}
    renderer = Renderer(project.root, project.macro_files(), variables=variables,
                        source_names=[*project.sources, *(s.name for s in computed_sources)],
                        seed_relations=seed_relations, extra_context=context, engine=project.engine.type)
    models = discover_models(project.root, project.model_files())
    _check_seed_names(project, models)
    compile_models(renderer, models)
    order = build_order(models)
    builtin_docs, own_docs = (load_docs(root, files, cache_of=lambda path: parse_cache_file(project, path))
                              for root, files in zip((builtin_root(), project.root), project.doc_files()))
    for name, doc in own_docs.items():
        if name not in models:
            raise ConfigError(f"{doc.file}: documents model '{name}', which does not exist")
    docs = layered_docs(models, builtin_docs, own_docs)
    selected = select(models, selection, [project.models_dir, builtin_root() / "models"])
    return Plan(project, models, order, selected, variables, docs, renderer, computed_sources)


def _check_seed_names(project: Project, models: dict[str, Model]) -> None:
    """A seed may not share a model's name, as in dbt: `ref(name)` would pick the seed and
    silently feed it to every model built on the model (seeds/segments.csv to the built-in
    models that read `segments`)."""
    for name, path in sorted(project.seeds.items()):
        if name in models:
            raise CompileError(f"{project.relpath(path)}: seed '{name}' has the name of the model "
                               f"{project.relpath(models[name].path)} — rename the seed file, "
                               f"as ref('{name}') would mean either")


def _check_campaign_sources(project: Project) -> None:
    present = [name for name in ("campaigns", "campaign_leads") if name in project.sources]
    if len(present) == 1:
        missing = {"campaigns", "campaign_leads"} - set(present)
        raise ConfigError(f"source '{present[0]}' needs source '{missing.pop()}' too — give both, or neither to count sends from leads.metadata")
