"""`segpipe clean`, as dbt's: delete what segpipe can make again, never the published file.

That is `target/` (compiled SQL, run results, parse caches) and the build files
of runs that died (`<db>.building-<pid>`, its WAL and DuckDB's spill folder; a run removes those too).
Build files are removed only while holding the project's lock, so a running
build's file is never touched; a `target/` that is a symbolic link loses only
the link, never what it points to.
"""

from __future__ import annotations

import glob
import shutil

from .errors import LockedError
from .project import Project
from .publish import BuildFile


def clean_project(project: Project, target_existed: bool = True) -> list[str]:
    """Remove target/ and leftover build files; the lines saying what was done.
    `target_existed`: whether target/ was there before loading the project, which caches
    project.yml's parse in it (that folder goes too, without a line saying so)."""
    lines = []
    target = project.target_dir
    if target.is_symlink():
        target.unlink()
        lines.append(f"Removed the link {project.relpath(target)} (not what it points to)")
    elif target.exists():
        shutil.rmtree(target)
        if target_existed:
            lines.append(f"Removed {project.relpath(target)}/")
    database = project.database
    leftovers = sorted(database.parent.glob(glob.escape(database.name) + ".building-*"))
    if leftovers:
        try:
            with BuildFile(database):  # takes the lock and removes what dead runs left
                pass
            lines.append(f"Removed {len(leftovers)} leftover build file{'s' if len(leftovers) != 1 else ''} "
                         f"of {project.relpath(database)}")
        except LockedError:
            lines.append(f"Kept the build files of {project.relpath(database)}: a segpipe run is building it now")
    return lines or ["Nothing to clean"]
