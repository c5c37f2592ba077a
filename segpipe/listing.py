"""`segpipe ls`: the project's nodes — sources, seeds, models, then macros — what each
depends on, and where each comes from: a file or database for sources and seeds,
`builtin` or the project's own file for models and macros (see overrides.py).

Read from a compiled plan, so dependencies are the `ref()`/`source()` calls the
models really make. `--select` uses dbt's grammar over models (`name`, `+name`,
`name+`, `path/`); without it every source and seed is listed too.
"""

from __future__ import annotations

from pathlib import Path

from .overrides import BUILTIN, is_builtin
from .plan import Plan
from .render import MACRO_DEFINITION

COLUMNS = ("type", "name", "relation", "depends_on", "origin")


def list_nodes(plan: Plan, selected_only: bool) -> list[list]:
    """One row per node, in build order: sources, seeds, then models."""
    project = plan.project
    rows = []
    if not selected_only:
        for name, source in sorted(project.sources.items()):
            origin = project.relpath(source.seed) if source.seed else source.location
            rows.append(["source", name, f"src.{name}", [], origin])
        segments = project.segments
        rows.append(["source", "segments", "src.segments", [],
                     project.relpath(segments) if isinstance(segments, Path) else segments.location])
        for name, path in sorted(project.seeds.items()):
            rows.append(["seed", name, plan.relation_of(name), [], project.relpath(path)])
    for name in plan.order:
        if name not in plan.selected:
            continue
        model = plan.models[name]
        depends = [f"source:{s}" for s in model.sources] + [
            f"{'model' if r in plan.models else 'seed'}:{r}" for r in model.refs]
        origin = BUILTIN if is_builtin(model.path) else project.relpath(model.path)
        rows.append([f"model ({model.materialized})", name, model.relation, depends, origin])
    if not selected_only:
        rows += macro_rows(plan)
    return rows


def macro_rows(plan: Plan) -> list[list]:
    """One row per macro, from the file that defines it last: a project macro replacing a
    built-in one is listed once, with the project's file, as a replaced model is."""
    origins = {}
    for path, text in plan.renderer.macro_texts().items():  # built-in first, then the project's (overrides.py)
        for name in MACRO_DEFINITION.findall(text):
            origins.pop(name, None)
            origins[name] = BUILTIN if is_builtin(path) else plan.project.relpath(path)
    return [["macro", name, "", [], origin] for name, origin in origins.items()]
