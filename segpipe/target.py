"""The project's `target/` folder: everything segpipe writes there, in one place.

- `parsed/<file>.json`, `project.yml.json`: parses of YAML files (parse_cache.py),
  so `segpipe top` starts without PyYAML;
- `jinja/`: compiled Jinja templates, so an unchanged project skips Jinja's compiler;
- `compiled/<model path>`: each model's SQL exactly as it ran;
- `run_results.json`: what the last `segpipe run` did.

Every file is written through safe_write (a new file renamed into place, never
through a symbolic link). The caches are only ever a shortcut: one that cannot be read or written means
parsing or compiling again, never a failed command.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from pathlib import Path

from .errors import ConfigError, disk_full
from .overrides import display
from .safe_write import write_own_file

FOLDER = "target"


def folder(root: Path) -> Path:
    return Path(root) / FOLDER


def project_config_cache(root: Path) -> Path:
    """Where the parse of project.yml is cached."""
    return folder(root) / "project.yml.json"


def parsed_file(root: Path, path: Path) -> Path | None:
    """Where the parse of a project or built-in file is cached (`target/parsed/<path>.json`,
    `target/parsed/builtin/<path>.json`); None for a file elsewhere."""
    relative = display(root, path)
    if Path(relative).is_absolute():
        return None
    return folder(root) / "parsed" / f"{_as_path(relative)}.json"


def _as_path(shown: str) -> str:
    """`builtin:models/x.sql` (overrides.display) as a relative path, `builtin/models/x.sql`."""
    return shown.replace(":", "/", 1)


def jinja_folder(root: Path) -> Path:
    """Where compiled Jinja templates are cached (render.py's bytecode cache)."""
    return folder(root) / "jinja"


def write_compiled(project, models) -> None:
    """target/compiled/<model path>: the SQL exactly as it was run."""
    for model in models:
        path = folder(project.root) / "compiled" / _as_path(project.relpath(model.path))
        try:
            write_own_file(path, model.sql)
        except OSError as exc:
            if disk_full(exc, path.parent):
                raise disk_full(exc, path.parent) from None
            raise ConfigError(f"{project.relpath(path)}: cannot write the compiled SQL ({exc.strerror}) — "
                              f"make {FOLDER}/ a folder segpipe can write to") from None


def write_run_results(root: Path, payload: dict) -> None:
    """target/run_results.json, stamped with the time it was written; a disk too full
    for it (or a read-only project) fails nothing."""
    payload = {**payload, "generated_at": dt.datetime.now(dt.timezone.utc).isoformat()}
    with contextlib.suppress(OSError):
        write_own_file(folder(root) / "run_results.json", json.dumps(payload, indent=2, default=str))
