"""The membership query (internal.lead_segments) alone, two renderings side by side.

    python benchmarks/membership.py --scale m [--data DIR] [--repeat N] [--against FILE.sql]

Builds a project on the scale's generated data (see run.py) once, then times
`CREATE TEMP TABLE … AS <lead_segments SQL>` on it, in one process: the SQL this
checkout compiles and, with --against, another rendering (e.g. target/compiled/
models/internal/lead_segments.sql of a project built by an older segpipe),
interleaved, medians of N: wall seconds, and CPU seconds of all DuckDB's threads
(steadier on a shared machine). Both must give the same rows, and the script
says whether DuckDB plans them identically (EXPLAIN).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from run import AS_OF, ensure_data, make_project, segpipe  # noqa: E402

COMPILED = Path("target/compiled/models/internal/lead_segments.sql")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="m")
    ap.add_argument("--data", type=Path)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--against", type=Path, help="another rendering of lead_segments to time beside this one")
    args = ap.parse_args()
    data = ensure_data(args.scale, args.data or BENCH / "data" / args.scale)
    with tempfile.TemporaryDirectory() as tmp:
        root = make_project(Path(tmp) / "project", data)
        subprocess.run(segpipe("run", "--as-of", AS_OF), cwd=root, check=True, capture_output=True)
        queries = {"this checkout": (root / COMPILED).read_text()}
        if args.against:
            queries[str(args.against)] = args.against.read_text()
        timings, same_plan = time_queries(root, queries, args.repeat)
    for name, runs in timings.items():
        wall, cpu = zip(*runs)
        print(f"{name:<45} wall median {statistics.median(wall):6.3f} s ({', '.join(f'{s:.2f}' for s in wall)})"
              f"  cpu median {statistics.median(cpu):6.3f} s")
    if len(queries) > 1:
        print(f"same physical plan: {same_plan}")


def time_queries(root: Path, queries: dict[str, str], repeat: int) -> tuple[dict[str, list[tuple[float, float]]], bool]:
    from segpipe.project import load_project
    from segpipe.published import connect_with_sources

    con = connect_with_sources(load_project(root))
    con.execute("SET memory_limit = '3GB'")
    timings = {name: [] for name in queries}
    digests = {}
    for _ in range(repeat):
        for name, sql in queries.items():
            wall, cpu = time.perf_counter(), time.process_time()
            con.execute(f"CREATE OR REPLACE TEMP TABLE membership AS {sql}")
            timings[name].append((time.perf_counter() - wall, time.process_time() - cpu))
            digests[name] = con.execute("SELECT count(*), sum(hash(lead_id, segment_ids)) FROM membership").fetchone()
    if len(set(digests.values())) != 1:
        raise SystemExit(f"the renderings give different rows: {digests}")
    plans = {str(con.execute(f"EXPLAIN {sql}").fetchall()) for sql in queries.values()}
    return timings, len(plans) == 1


if __name__ == "__main__":
    main()
