"""Start-up cost of `segpipe top` and `segpipe run`, with and without typer, next to bare DuckDB.

    python benchmarks/startup.py [--project-dir .] [--as-of 2026-11-15] [--repeat 15] [--check]

Each command is a fresh process: `segpipe top` on the published demo file as
the console script runs it (segpipe/entry.py, which skips typer for a plain
`top`), the same through typer (segpipe.cli.main, what any other command line
gets), and `python -c "import duckdb; duckdb.connect(PATH,
read_only=True).execute(<the same ranking query>).fetchall()"`; then `segpipe
run` with nothing to do (the shortest run there is, where start-up weighs
most), again through the console script and through typer. Runs are
interleaved (the order rotates each round) so machine drift hits all alike;
wall-time medians and CPU-time medians (user + system of the process, steadier
on a shared machine) are printed, with the ratio of `segpipe top` to bare
duckdb. The target is a ratio of at most 1.5. `--check` exits 1 above it.
Build the demo first: `segpipe run --as-of 2026-11-15`.
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import segpipe.top
from segpipe.project import load_project
from segpipe.top import WINDOW_SQL, Window

TARGET = 1.5


#: What pip's `segpipe` console script runs (pyproject.toml), as `python -c` so the segpipe
#: measured is the one this Python imports even where the installed script is stale or elsewhere.
CONSOLE_SCRIPT = "import re, sys\nfrom segpipe.entry import main\nsys.exit(main())"
#: The same command line forced through typer.
TYPER = "import re, sys\nfrom segpipe.cli import main\nsys.exit(main())"


def segpipe_command(project_dir: Path, as_of: str, days: int, code: str = CONSOLE_SCRIPT) -> list[str]:
    return [sys.executable, "-c", code, "top", "--project-dir", str(project_dir), "--as-of", as_of, "--days", str(days)]


def run_command(project_dir: Path, as_of: str, code: str = CONSOLE_SCRIPT) -> list[str]:
    """`segpipe run` on the built demo: nothing to do, so it is mostly start-up."""
    return [sys.executable, "-c", code, "run", "--project-dir", str(project_dir), "--as-of", as_of]


def bare_command(database: Path, as_of: str, days: int) -> list[str]:
    """The same ranking query (top's WINDOW_SQL) with nothing but duckdb."""
    import datetime as dt

    window = Window.ending(dt.date.fromisoformat(as_of), days)
    params = {"start": window.start, "end": window.end, "min_sent": 1, "workspace_id": None}
    code = (
        "import datetime, duckdb\n"
        f"con = duckdb.connect({str(database)!r}, read_only=True)\n"
        f"rows = con.execute({WINDOW_SQL!r}, {params!r}).fetchall()\n"
        "print(rows)\n"
    )
    return [sys.executable, "-c", code]


def typer_version() -> str:
    from importlib.metadata import version

    return version("typer")


def compiles_on_every_run() -> bool:
    """True when segpipe has no cached bytecode and Python may not write any
    (PYTHONDONTWRITEBYTECODE), so each run compiles segpipe's modules again."""
    cached = Path(importlib.util.cache_from_source(segpipe.top.__file__))
    return sys.flags.dont_write_bytecode and not cached.exists()


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of `command` in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project-dir", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--as-of", default="2026-11-15")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--check", action="store_true", help=f"exit 1 when the ratio is above {TARGET}")
    args = parser.parse_args()

    database = load_project(args.project_dir).database
    if not database.exists():
        sys.exit(f"no published database at {database} — run `segpipe run --as-of {args.as_of}` first")
    commands = {"segpipe top": segpipe_command(args.project_dir, args.as_of, args.days),
                "top via typer": segpipe_command(args.project_dir, args.as_of, args.days, TYPER),
                "bare duckdb": bare_command(database, args.as_of, args.days),
                "segpipe run": run_command(args.project_dir, args.as_of),
                "run via typer": run_command(args.project_dir, args.as_of, TYPER)}
    for command in commands.values():  # warm the OS caches and segpipe's project.yml parse cache once
        timed(command)
    names = list(commands)
    times = {name: [] for name in names}
    for round_ in range(args.repeat):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            times[name].append(timed(commands[name]))

    medians = {name: statistics.median(wall for wall, _ in values) for name, values in times.items()}
    cpu = {name: statistics.median(used for _, used in values) for name, values in times.items()}
    for name, values in times.items():
        print(f"{name:<14} median {medians[name] * 1000:6.1f} ms   min {min(w for w, _ in values) * 1000:6.1f} ms   "
              f"cpu median {cpu[name] * 1000:6.1f} ms   ({len(values)} runs, {medians[name] / medians['bare duckdb']:.2f}x)")
    for fast, slow in (("segpipe top", "top via typer"), ("segpipe run", "run via typer")):
        print(f"{fast} without typer saves {(medians[slow] - medians[fast]) * 1000:5.1f} ms wall "
              f"({1 - medians[fast] / medians[slow]:.0%}), {(cpu[slow] - cpu[fast]) * 1000:5.1f} ms cpu "
              f"({1 - cpu[fast] / cpu[slow]:.0%})")
    ratio = medians["segpipe top"] / medians["bare duckdb"]
    print(f"ratio        {ratio:.2f}x   (target <= {TARGET}x; Python {sys.version.split()[0]}, typer {typer_version()})")
    if compiles_on_every_run():
        print("note: PYTHONDONTWRITEBYTECODE is set and segpipe has no cached bytecode, so each `segpipe top` "
              "above also compiled segpipe's modules, which an installed copy does not")
    return 1 if args.check and ratio > TARGET else 0


if __name__ == "__main__":
    sys.exit(main())
