"""The built-in segment package, and a project's own models and macros layered over it.

segpipe's models and macros (the repository's `models/` and `macros/`) ship in the
package as `segpipe/builtin/` (symlinks in the repository, which a wheel build
copies), like a dbt package every project depends on, so upgrading segpipe
upgrades every project. A project's own `models/` and `macros/` layer over them
by name:

- a project model (`models/**/NAME.sql`) named like a built-in model replaces
  it, which is then neither built nor listed; any other name adds a model;
- docs and data tests (`models/**/*.yml`) go with their model: a built-in
  model's apply only while it is not replaced; a project entry for a built-in
  model adds to the built-in entry (its descriptions win, its tests are added);
- a project macro named like a built-in macro replaces it everywhere, in the
  built-in models too (a macro is looked up by name when it is called).

A project whose `models/` is the built-in folder itself, the repository's demo,
has nothing to layer: its models and macros are the built-in ones.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

#: the package's folder of built-in models and macros
PACKAGED = Path(__file__).with_name("builtin")
#: what `segpipe ls` shows as the origin of a built-in model
BUILTIN = "builtin"


@functools.cache
def builtin_root() -> Path:
    """The folder holding the built-in `models/` and `macros/`: the repository in a
    checkout or editable install (through the symlinks), the package in a wheel."""
    return (PACKAGED / "models").resolve().parent


def is_builtin(path: Path) -> bool:
    root = builtin_root()
    return any(folder in Path(path).resolve().parents for folder in (root / "models", root / "macros"))


def display(root: Path, path) -> str:
    """A file as messages show it: relative to the project folder when inside it,
    `builtin:models/…` for a built-in one, even when segpipe is installed inside the
    project folder (a `.venv/` there is common); the repository's demo, whose models
    are the built-in ones, shows them as its own."""
    resolved = Path(path).resolve()
    bases = [(Path(root).resolve(), ""), (builtin_root(), f"{BUILTIN}:")]
    if is_builtin(resolved) and bases[0][0] != builtin_root():
        bases.reverse()
    for base, prefix in bases:
        try:
            return prefix + resolved.relative_to(base).as_posix()
        except ValueError:
            continue
    return str(path)


def _files(folder: Path, *patterns: str) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted({path for pattern in patterns for path in folder.rglob(pattern)})


def _own(folder: Path, kind: str) -> Path | None:
    """The project's folder of `kind`, or None when it is the built-in one itself."""
    return None if folder.resolve() == builtin_root() / kind else folder


def model_files(models_dir: Path) -> list[Path]:
    """The built-in models the project does not replace, then the project's own."""
    builtin = _files(builtin_root() / "models", "*.sql")
    own_dir = _own(models_dir, "models")
    own = _files(own_dir, "*.sql") if own_dir else []
    replaced = {path.stem for path in own}
    return [path for path in builtin if path.stem not in replaced] + own


def doc_files(models_dir: Path) -> tuple[list[Path], list[Path]]:
    """(the built-in docs files, the project's own)."""
    builtin = _files(builtin_root() / "models", "*.yml", "*.yaml")
    own_dir = _own(models_dir, "models")
    return builtin, (_files(own_dir, "*.yml", "*.yaml") if own_dir else [])


def macro_files(macros_dir: Path) -> list[Path]:
    """The built-in macro files, then the project's: rendering defines them in this
    order, so a project macro replaces a built-in one of the same name."""
    own_dir = _own(macros_dir, "macros")
    return _files(builtin_root() / "macros", "*.sql") + (_files(own_dir, "*.sql") if own_dir else [])


def layered_docs(models: dict, builtin_docs: dict, own_docs: dict) -> dict:
    """The docs that apply: a built-in model's while it is built in, then the project's. A
    project entry for a model still built in adds to the built-in entry rather than replacing
    it: adding a test or a description to `segments` must not drop its built-in tests (say,
    unique segment ids) nor the column comments BI tools show."""
    docs = {name: doc for name, doc in builtin_docs.items() if name in models and is_builtin(models[name].path)}
    for name, own in own_docs.items():
        docs[name] = _merged(docs[name], own) if name in docs else own
    return docs


def _merged(builtin, own):
    """`own` over `builtin`: its description and column descriptions where it gives one, its
    data types, and its tests beside the built-in ones (one of the same name replaces it)."""
    own_tests = {test.name for test in own.tests}
    return dataclasses.replace(
        own,
        description=own.description or builtin.description,
        columns={**builtin.columns, **{column: description or builtin.columns.get(column)
                                       for column, description in own.columns.items()}},
        tests=[test for test in builtin.tests if test.name not in own_tests] + own.tests,
        data_types={**builtin.data_types, **own.data_types},
    )
