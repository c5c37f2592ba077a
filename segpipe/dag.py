"""The model dependency graph: build order, cycle reports, and dbt's selection grammar.

Selectors (space- or comma-separated, a node is selected when any matches):
`name`, `+name` (with its ancestors), `name+` (with its descendants),
`+name+`, and `path/` (every model under that folder of `models/`).
"""

from __future__ import annotations

import graphlib
import re
from pathlib import Path

from .errors import CompileError, ConfigError
from .suggest import did_you_mean

SELECTOR = re.compile(r"^(?P<parents>\+?)(?P<name>[^+]+?)(?P<children>\+?)$")


def build_order(models: dict) -> list[str]:
    """Model names in dependency order (ties by name, so runs are reproducible)."""
    sorter = graphlib.TopologicalSorter()
    for name in sorted(models):
        sorter.add(name, *[r for r in models[name].refs if r in models])
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle = exc.args[1]
        raise CompileError(f"dependency cycle: {' -> '.join(cycle)} — break it by removing one of these ref() calls") from None
    order = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order.extend(ready)
        sorter.done(*ready)
    return order


def children_of(models: dict) -> dict[str, set[str]]:
    children = {name: set() for name in models}
    for name, model in models.items():
        for parent in model.refs:
            if parent in children:
                children[parent].add(name)
    return children


def _closure(start: str, edges) -> set[str]:
    seen, stack = set(), [start]
    while stack:
        for nxt in edges(stack.pop()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def select(models: dict, selection: str | None, models_dirs) -> set[str]:
    """Names of the models a selection string picks; all models when it is empty.
    `models_dirs`: the folder (or folders: the project's, the built-in one) a `path/` is in."""
    if isinstance(models_dirs, Path):
        models_dirs = [models_dirs]
    if not selection or not selection.strip():
        return set(models)
    children = children_of(models)
    chosen: set[str] = set()
    for token in re.split(r"[\s,]+", selection.strip()):
        match = SELECTOR.match(token)
        if not match:
            raise ConfigError(f"--select: cannot read '{token}' — use name, +name, name+ or path/")
        name = match["name"]
        if name.endswith("/") or "/" in name:
            folders = {(d.parent / name).resolve() if name.startswith("models/") else (d / name).resolve()
                       for d in models_dirs}
            roots = {m for m, model in models.items() if folders & set(Path(model.path).resolve().parents)}
            if not roots:
                raise ConfigError(f"--select: no models under '{name}'")
        elif name in models:
            roots = {name}
        else:
            raise ConfigError(f"--select: no model named '{name}'{did_you_mean(name, models)}")
        for root in roots:
            chosen.add(root)
            if match["parents"]:
                chosen |= _closure(root, lambda n: [r for r in models[n].refs if r in models])
            if match["children"]:
                chosen |= _closure(root, lambda n: children[n])
    return chosen
