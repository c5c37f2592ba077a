"""The "fast at scale" benchmark: segpipe next to the straightforward SQL, on generated data.

    python benchmarks/run.py --scale s|m|l [--data DIR] [--repeat N] [--keep]

Generates the data if missing (benchmarks/data/<scale>, gitignored), builds a
project on it in a temporary folder (its sources are symlinks to the data, so
the data itself is never modified) and times each step in its own process,
with wall time and peak RSS:

  (a) full     `segpipe run --as-of 2026-11-15` on a fresh project
  (b) incr     `segpipe run --as-of 2026-11-16` after adding one day of sends
               (campaign_leads/2026-11-16.parquet: a typical recent day's rows
               with new ids, times shifted onto 2026-11-16)
  (c) noop     the same run again, nothing changed
  (d) top      `segpipe top --as-of 2026-11-16`
  (e) connect  `python -c "import duckdb; duckdb.connect(PATH, read_only=True)"`
  (d2) trend   `segpipe trend 1 2 --days 90` (weekly points of two segments)
  (d3) best    `segpipe best-time --tz Europe/Berlin` (every segment, by local hour)
  (f) baseline benchmarks/baseline.py: the straightforward SQL, in DuckDB
  (g) demo     the repository's demo project, full `segpipe run`
  with --before REF, also (in the same rounds, on the same data):
  (h) full and (i) incremental runs with the models and macros of git revision REF
               (e.g. the revision before the hourly/campaign tables), for "no slower
               than before" ratios measured side by side

Repetitions are interleaved (each round runs every step; baseline and full run
swap order every other round) and medians reported. Prints a table, the ratios
issue 5 targets, the per-node seconds of the runner, and writes the scale's
section of benchmarks/RESULTS.md. These are figures, not timed tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "RESULTS.md"
MEMORY_LIMIT = "3GB"         # project.yml memory_limit, and the baseline's
AS_OF = "2026-11-15"          # the generated data's last day
NEW_DAY = "2026-11-16"        # the appended day
TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None  # GNU time: -f "%e %M"
TARGETS = {  # ratio name: (numerator, denominator, target)
    "full run / baseline SQL": ("full", "baseline", 0.40),
    "incremental (+1 day) / full run": ("incr", "full", 0.15),
    "no-change rerun / full run": ("noop", "full", 0.10),
    "segpipe top / bare duckdb connect": ("top", "connect", 1.5),
    "segpipe trend / segpipe top (issue 12)": ("trend", "top", 1.5),
    "segpipe best-time / segpipe top (issue 12)": ("best", "top", 1.5),
}
STEPS = {
    "full": "(a) full segpipe run",
    "incr": "(b) incremental run, +1 day of sends",
    "noop": "(c) rerun, nothing changed",
    "top": "(d) segpipe top",
    "connect": "(e) bare duckdb connect (read-only)",
    "trend": "(d2) segpipe trend 1 2 --days 90",
    "best": "(d3) segpipe best-time --tz Europe/Berlin",
    "baseline": "(f) straightforward SQL (baseline.py)",
    "demo": "(g) demo project, full segpipe run",
    "before_full": "(h) full run, segpipe at --before",
    "before_incr": "(i) incremental run (+1 day), segpipe at --before",
}
BEFORE_TARGETS = {
    "full run / full run of segpipe at --before": ("full", "before_full", 1.0),
    "incremental (+1 day) / full run": ("incr", "full", 0.10),
}
BEFORE: str | None = None  # --before REF
QUICK_REPEAT = 5  # runs per round of top, connect, trend and best-time
LOAD_AT_START = "n/a"
NODE_LINE = re.compile(r"^(OK|SKIP|PASS|WARN|FAIL|ERROR)\s+(source|seed|model|test)\s+(\S+)\s.*?(\d+\.\d+)s(?:\s|$)")


@dataclass
class Measurement:
    seconds: float
    rss_mib: float | None
    stdout: str


@dataclass
class Step:
    runs: list[Measurement] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return statistics.median(m.seconds for m in self.runs)

    @property
    def rss_mib(self) -> float | None:
        values = [m.rss_mib for m in self.runs if m.rss_mib is not None]
        return max(values) if values else None


# ---------------------------------------------------------------- processes

def segpipe(*args: str) -> list[str]:
    """The console script beside this Python when installed, else `python -m segpipe`."""
    script = Path(sys.executable).with_name("segpipe")
    base = [str(script)] if script.exists() else [sys.executable, "-m", "segpipe"]
    return [*base, *map(str, args)]


def segpipe_at(code: Path, *args: str) -> list[str]:
    """segpipe as it was in an older checkout's `segpipe/` package (same Python and libraries)."""
    return ["env", f"PYTHONPATH={code}", sys.executable, "-m", "segpipe", *map(str, args)]


def extract_code(revision: str, into: Path) -> Path:
    """The `segpipe/` package of git `revision`, unpacked into `into`."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", revision, "segpipe"], cwd=REPO, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


RSS_WRAPPER = ("import resource, subprocess, sys\n"
               "code = subprocess.call(sys.argv[2:])\n"
               "kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
               "open(sys.argv[1], 'w').write(f'0 {kb}')\n"
               "sys.exit(code)\n")


def measure(cmd: list[str], cwd: Path | None = None) -> Measurement:
    """Run `cmd` in a fresh process: wall seconds, peak RSS (MiB) and stdout; fails loudly."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as stats:
        if TIME:
            wrapped = [TIME, "-f", "%e %M", "-o", stats.name, *cmd]
        else:  # getrusage of the (only) child of a tiny wrapper process
            wrapped = [sys.executable, "-c", RSS_WRAPPER, stats.name, *cmd]
        started = time.perf_counter()
        done = subprocess.run(wrapped, cwd=cwd, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        try:
            rss_mib = int(stats.read().split()[-1]) / 1024
        except (ValueError, IndexError):
            rss_mib = None
    return Measurement(seconds, rss_mib, done.stdout)


# ---------------------------------------------------------------- data and projects

def ensure_data(scale: str, data: Path) -> Path:
    if not (data / "leads.parquet").exists() or not list((data / "campaign_leads").glob("*.parquet")):
        print(f"generating scale {scale} into {data} ...", flush=True)
        subprocess.run([sys.executable, str(BENCH / "generate.py"), "--scale", scale, "--out", str(data)], check=True)
    return data


def make_project(root: Path, data: Path, revision: str | None = None) -> Path:
    """A project on the data: models/macros copied from the repo (or from git `revision`),
    sources symlinked."""
    root.mkdir(parents=True)
    if revision:
        archive = subprocess.run(["git", "archive", revision, "models", "macros"], cwd=REPO,
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    else:
        for folder in ("models", "macros"):
            shutil.copytree(REPO / folder, root / folder)
    (root / "seeds").mkdir()
    shutil.copy(data / "segments.yml", root / "seeds" / "segments.yml")
    sends = root / "data" / "campaign_leads"
    sends.mkdir(parents=True)
    for name in ("workspaces.parquet", "leads.parquet", "campaigns.parquet"):
        (root / "data" / name).symlink_to(data / name)
    for month in sorted((data / "campaign_leads").glob("*.parquet")):
        (sends / month.name).symlink_to(month)
    config = {
        "name": "bench",
        "database": "bench.duckdb",
        "vars": {"days": 30},
        # DuckDB's default is 80% of RAM; capped like this, scale l peaks under 4 GiB
        # (and the baseline gets the same cap).
        "memory_limit": MEMORY_LIMIT,
        "sources": {
            "workspaces": {"path": "data/workspaces.parquet"},
            "leads": {"path": "data/leads.parquet"},
            "campaigns": {"path": "data/campaigns.parquet"},
            "campaign_leads": {"path": "data/campaign_leads/*.parquet"},
        },
    }
    (root / "project.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return root


def typical_day(con, sends: str, campaigns: str) -> str:
    """The day, among the two weeks before the last three, whose rows are closest to the
    average day's (the last days before the data's end are thin: campaigns still sending)."""
    return str(con.execute(f"""
        WITH days AS (
            SELECT cast(coalesce(cl.sent_at, c.sent_at) AS date) AS day, count(*) AS n
            FROM {sends} AS cl JOIN {campaigns} AS c ON c.id = cl.campaign_id GROUP BY ALL),
        span AS (SELECT max(day) AS last, sum(n) / count(*) AS average FROM days)
        SELECT day FROM days, span WHERE day BETWEEN last - 16 AND last - 3
        ORDER BY abs(n - average), day LIMIT 1""").fetchone()[0])


def append_day(sends_dir: Path, day: str = NEW_DAY, campaigns: Path | None = None) -> int:
    """Write sends_dir/<day>.parquet: the rows of a typical recent day (by send time) with
    new ids and every timestamp shifted onto `day`; returns its row count."""
    import duckdb

    def quoted(path) -> str:
        return "'" + str(path).replace("'", "''") + "'"

    sends_dir = Path(sends_dir)
    campaigns = campaigns or sends_dir.parent / "campaigns.parquet"
    target = sends_dir / f"{day}.parquet"
    con = duckdb.connect()
    try:
        glob = quoted(sends_dir / "*.parquet")
        copied_day = typical_day(con, f"read_parquet({glob})", f"read_parquet({quoted(campaigns)})")
        shift = (dt.date.fromisoformat(day) - dt.date.fromisoformat(copied_day)).days
        con.execute(f"""COPY (
            WITH cl AS (SELECT * FROM read_parquet({glob})),
            base AS (SELECT max(id) AS max_id FROM cl)
            SELECT (SELECT max_id FROM base) + row_number() OVER (ORDER BY cl.id) AS id,
                   cl.campaign_id, cl.lead_id, cl.sent, cl.opened, cl.replied, cl.bounced,
                   cl.clicked, cl.converted,
                   coalesce(cl.sent_at, c.sent_at) + INTERVAL {shift} DAY AS sent_at,
                   cl.replied_at + INTERVAL {shift} DAY AS replied_at,
                   cl.variant
            FROM cl JOIN read_parquet({quoted(campaigns)}) AS c ON c.id = cl.campaign_id
            WHERE cast(coalesce(cl.sent_at, c.sent_at) AS date) = DATE '{copied_day}'
            ORDER BY cl.id) TO {quoted(target)} (FORMAT parquet)""")
        return con.execute(f"SELECT count(*) FROM read_parquet({quoted(target)})").fetchone()[0]
    finally:
        con.close()


def demo_project(root: Path) -> Path:
    root.mkdir(parents=True)
    for folder in ("models", "macros", "seeds"):
        shutil.copytree(REPO / folder, root / folder)
    shutil.copy(REPO / "project.yml", root / "project.yml")
    return root


# ---------------------------------------------------------------- the benchmark

def one_round(index: int, work: Path, data: Path, steps: dict[str, Step]) -> int:
    project = make_project(work / f"round{index}", data)
    database = project / "bench.duckdb"
    baseline = [sys.executable, str(BENCH / "baseline.py"), str(data), "--db", str(work / f"baseline{index}.duckdb"),
                "--memory-limit", MEMORY_LIMIT]

    def run(key, cmd):
        print(f"  round {index + 1}: {STEPS[key]} ...", end="", flush=True)
        result = measure(cmd, cwd=project)
        steps[key].runs.append(result)
        rss = f", {result.rss_mib:.0f} MiB" if result.rss_mib else ""
        print(f" {result.seconds:.2f}s{rss}", flush=True)
        return result

    if index % 2:
        run("baseline", baseline)
    run("full", segpipe("run", "--project-dir", project, "--as-of", AS_OF))
    if not index % 2:
        run("baseline", baseline)
    added = append_day(project / "data" / "campaign_leads", campaigns=data / "campaigns.parquet")
    run("incr", segpipe("run", "--project-dir", project, "--as-of", NEW_DAY))
    run("noop", segpipe("run", "--project-dir", project, "--as-of", NEW_DAY))
    for _ in range(QUICK_REPEAT):  # the sub-second readers, interleaved, several times a round
        run("top", segpipe("top", "--project-dir", project, "--as-of", NEW_DAY))
        run("connect", [sys.executable, "-c", f"import duckdb; duckdb.connect({str(database)!r}, read_only=True)"])
        run("trend", segpipe("trend", "1", "2", "--days", "90", "--project-dir", project, "--as-of", NEW_DAY))
        run("best", segpipe("best-time", "--tz", "Europe/Berlin", "--project-dir", project, "--as-of", NEW_DAY))
    run("demo", segpipe("run", "--project-dir", demo_project(work / f"demo{index}"), "--as-of", AS_OF))
    if BEFORE:
        # the whole of segpipe at that revision (its runner checks its own models' contract)
        code = extract_code(BEFORE, work / "before-code")
        before = make_project(work / f"before{index}", data, BEFORE)
        run("before_full", segpipe_at(code, "run", "--project-dir", before, "--as-of", AS_OF))
        append_day(before / "data" / "campaign_leads", campaigns=data / "campaigns.parquet")
        run("before_incr", segpipe_at(code, "run", "--project-dir", before, "--as-of", NEW_DAY))
    (work / f"baseline{index}.duckdb").unlink(missing_ok=True)
    return added


def node_seconds(runs: list[Measurement]) -> tuple[list[tuple[str, str, float]], float | None]:
    """Median seconds per runner node (in the runner's order) and of its own 'Done ... in Xs'."""
    per_node: dict[tuple[str, str], list[float]] = {}
    statuses: dict[tuple[str, str], str] = {}
    totals = []
    for run in runs:
        for line in run.stdout.splitlines():
            match = NODE_LINE.match(line)
            if match:
                status, kind, name, seconds = match.groups()
                key = (kind, name)
                per_node.setdefault(key, []).append(float(seconds))
                statuses[key] = status + ("/incremental" if "incremental" in line else "")
            done = re.search(r"in (\d+\.\d+)s", line) if line.startswith(("Done", "Nothing")) else None
            if done:
                totals.append(float(done.group(1)))
    rows = [(f"{kind} {name}", statuses[(kind, name)], statistics.median(v)) for (kind, name), v in per_node.items()]
    return rows, (statistics.median(totals) if totals else None)


def node_table(runs: list[Measurement], wall: float) -> list[str]:
    rows, total = node_seconds(runs)
    if not rows:
        return [f"(no per-node lines; output: {runs[0].stdout.strip()[:200]!r})"]
    tests = [r for r in rows if r[0].startswith("test ")]
    other = [r for r in rows if not r[0].startswith("test ")]
    lines = ["| node | status | median s |", "|---|---|---:|"]
    lines += [f"| {name} | {status} | {seconds:.2f} |" for name, status, seconds in other]
    if tests:
        lines.append(f"| {len(tests)} data tests | {'/'.join(sorted({s for _, s, _ in tests}))} | {sum(s for *_, s in tests):.2f} |")
    accounted = sum(s for *_, s in rows)
    if total is not None:
        lines.append(f"| runner total ('Done … in') | | {total:.2f} |")
        lines.append(f"| not in a node line (copy, publish, fingerprints…) | | {total - accounted:.2f} |")
        lines.append(f"| process start-up + exit (wall − runner total) | | {wall - total:.2f} |")
    return lines


def git_revision() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "segpipe", "models", "macros"],
                               cwd=REPO, capture_output=True, text=True).stdout.strip()
        return head + (" + uncommitted changes in segpipe/models/macros" if dirty else "")
    except OSError:
        return "unknown"


def report(scale: str, data: Path, repeat: int, added: int, steps: dict[str, Step]) -> str:
    import duckdb

    def fmt_rss(step):
        return f"{step.rss_mib:,.0f}" if step.rss_mib is not None else "n/a"

    full_runs = steps["full"].runs
    rows_by_node = {}
    for line in full_runs[0].stdout.splitlines():
        match = re.match(r"^OK\s+(?:source|model)\s+(\S+)\s+([\d,]+) rows", line)
        if match:
            rows_by_node[match.group(1)] = match.group(2)
    lines = [
        f"<!-- scale:{scale} -->",
        f"## Scale {scale}",
        "",
        f"- Data: `{data}` — {rows_by_node.get('leads', '?')} leads, {rows_by_node.get('campaign_leads', '?')} "
        f"campaign_leads rows, {rows_by_node.get('segments', '?')} segments; "
        f"segment_leads {rows_by_node.get('segment_leads', '?')} rows, "
        f"segment_performance_daily {rows_by_node.get('segment_performance_daily', '?')} rows. "
        f"The appended day adds {added:,} campaign_leads rows.",
        f"- Machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'}), "
        f"{platform.system()} {platform.machine()}, Python {platform.python_version()}, DuckDB {duckdb.__version__}; "
        f"shared and noisy (load average {LOAD_AT_START} at the start), so expect ±20 % or more between runs.",
        f"- When: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, segpipe at {git_revision()}; "
        f"{repeat} interleaved round{'s' if repeat > 1 else ''}, medians (peak RSS: the maximum).",
        "",
        "| step | median s | all runs s | peak RSS MiB |",
        "|---|---:|---|---:|",
    ]
    for key, label in STEPS.items():
        step = steps[key]
        if not step.runs:
            continue
        lines.append(f"| {label} | {step.seconds:.2f} | {', '.join(f'{m.seconds:.2f}' for m in step.runs)} | {fmt_rss(step)} |")
    lines += ["", "| ratio (issue 5) | measured | target | |", "|---|---:|---:|---|"]
    for name, (num, den, target) in TARGETS.items():
        ratio = steps[num].seconds / steps[den].seconds
        lines.append(f"| {name} | {ratio:.2f} | ≤ {target:.2f} | {'met' if ratio <= target else 'NOT met'} |")
    full_rss = steps["full"].rss_mib
    if full_rss is not None:
        lines.append(f"| peak RSS of a full run (target < 4 GiB at scale l) | {full_rss / 1024:.2f} GiB | < 4 GiB | "
                     f"{'met' if full_rss < 4096 else 'NOT met'}{'' if scale == 'l' else ' (at this scale)'} |")
    demo = steps["demo"].seconds
    lines.append(f"| demo project full run | {demo:.2f} s | ~1 s (≤ 1.25) | {'met' if demo <= 1.25 else 'NOT met'} |")
    if BEFORE:
        lines += ["", f"| ratio (issue 12; --before {BEFORE}) | measured | target | |", "|---|---:|---:|---|"]
        for name, (num, den, target) in BEFORE_TARGETS.items():
            ratio = steps[num].seconds / steps[den].seconds
            lines.append(f"| {name} | {ratio:.2f} | ≤ {target:.2f} | {'met' if ratio <= target else 'NOT met'} |")
        ratio = steps["before_incr"].seconds / steps["before_full"].seconds
        lines.append(f"| (before) incremental / full run, segpipe at --before | {ratio:.2f} | | |")
    titles = [("full", "full run"), ("incr", "incremental run (+1 day)"), ("noop", "no-change rerun")]
    if BEFORE:
        titles += [("before_full", f"full run, segpipe at {BEFORE}"), ("before_incr", f"incremental run, segpipe at {BEFORE}")]
    for key, title in titles:
        lines += ["", f"Where the time goes, {title} (runner's per-node seconds, medians):", ""]
        lines += node_table(steps[key].runs, steps[key].seconds)
    lines.append(f"<!-- /scale:{scale} -->")
    return "\n".join(lines) + "\n"


HEADER = """# Benchmark results

Figures from `python benchmarks/run.py --scale …` (see benchmarks/README.md). They are
measurements on a shared machine, not timed tests, and change as segpipe changes; each
section says when and at which revision it was measured. Targets are issue 5's.

"""


def write_results(scale: str, section: str) -> None:
    """Replace this scale's section of RESULTS.md in place (or add it at the end); every
    other section, such as benchmarks/spark.py's, stays as it was."""
    text = RESULTS.read_text() if RESULTS.exists() else HEADER
    pattern = re.compile(rf"<!-- scale:{scale} -->.*?<!-- /scale:{scale} -->\n", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)


def main() -> None:
    sys.path.insert(0, str(BENCH))
    from generate import SCALES

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", choices=list(SCALES), required=True)
    ap.add_argument("--data", type=Path, help="data folder (default benchmarks/data/<scale>; generated if missing)")
    ap.add_argument("--repeat", type=int, help="interleaved rounds (default 3 for xs/s, 1 for m/l)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary projects and print where")
    ap.add_argument("--no-write", action="store_true", help="do not update benchmarks/RESULTS.md")
    ap.add_argument("--before", metavar="REF", help="also time full and incremental runs with the models of git revision REF")
    args = ap.parse_args()
    global BEFORE
    BEFORE = args.before
    repeat = args.repeat or (3 if args.scale in ("xs", "s") else 1)
    global LOAD_AT_START
    LOAD_AT_START = " / ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    data = ensure_data(args.scale, (args.data or BENCH / "data" / args.scale).resolve())

    work = Path(tempfile.mkdtemp(prefix=f"segpipe-bench-{args.scale}-"))
    steps = {key: Step() for key in STEPS}
    try:
        for index in range(repeat):
            added = one_round(index, work, data, steps)
    finally:
        if args.keep:
            print(f"kept the projects in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    section = report(args.scale, data, repeat, added, steps)
    print()
    print(section.split("\n", 1)[1].rsplit("<!--", 1)[0])
    if not args.no_write:
        write_results(args.scale, section)
        print(f"wrote {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
