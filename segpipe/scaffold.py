"""`segpipe init DIR`: a new, working project from the templates in `scaffold/`.

The `scaffold/` folder beside this module ships in the package: project.yml,
one example project model, and a few dozen example leads and sends. It copies
no built-in model or macro: the project uses those of the installed segpipe
(see overrides.py), so upgrading segpipe upgrades it. The example data ends on
`TEMPLATE_LAST_DAY`; init moves every timestamp forward so it ends today, so
`segpipe run` then `segpipe top` show a ranking without `--as-of`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
from pathlib import Path

from .errors import ConfigError

TEMPLATES = Path(__file__).with_name("scaffold")
#: the day of the example data's last timestamp (its last sends and replies; tests/test_init.py
#: checks it against the CSVs), moved to today by init
TEMPLATE_LAST_DAY = dt.date(2025, 1, 25)
TIMESTAMP_COLUMNS = ("created_at", "sent_at", "replied_at")
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
RENAMES = {"gitignore": ".gitignore"}  # dotfiles are not package data


def init_project(target: Path, today: dt.date | None = None) -> list[Path]:
    """Write the scaffold into `target` (absent or empty); return the files written."""
    target = Path(target)
    try:
        if target.exists() and not target.is_dir():
            raise ConfigError(f"{target} is a file — `segpipe init` creates a project folder")
        if target.exists() and any(target.iterdir()):
            raise ConfigError(f"{target} is not empty — `segpipe init` only writes into a new or empty folder")
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {target}: {exc.strerror} — choose a folder you can write to") from None
    shift = (today or dt.datetime.now(dt.timezone.utc).date()) - TEMPLATE_LAST_DAY
    written = []
    for source in template_files():
        relative = source.relative_to(TEMPLATES)
        destination = target / relative.parent / RENAMES.get(relative.name, relative.name)
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.suffix == ".csv":
            destination.write_text(shift_timestamps(source.read_text(encoding="utf-8"), shift), encoding="utf-8")
        else:
            shutil.copyfile(source, destination)
        written.append(destination)
    return written


def template_files() -> list[Path]:
    """Every file of the scaffold."""
    files = []
    for folder, dirs, names in os.walk(TEMPLATES):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        files += [Path(folder) / name for name in names]
    return sorted(files)


def shift_timestamps(text: str, shift: dt.timedelta) -> str:
    """The CSV with every non-empty timestamp column moved by `shift`."""
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    columns = [i for i, name in enumerate(header) if name in TIMESTAMP_COLUMNS]
    for row in body:
        for i in columns:
            if row[i]:
                row[i] = (dt.datetime.strptime(row[i], TIMESTAMP_FORMAT) + shift).strftime(TIMESTAMP_FORMAT)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *body])
    return buffer.getvalue()
