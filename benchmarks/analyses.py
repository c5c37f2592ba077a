"""Each analysis command next to `segpipe top` on a built project (issue 12: ≤ 1.5x top).

    python benchmarks/analyses.py PROJECT_DIR [--as-of D] [--repeat N]

PROJECT_DIR is a project `segpipe run` has published (e.g. one `benchmarks/run.py
--scale m --keep` left behind). Every command runs in its own process, as a user
runs it, reading the published file only; rounds are interleaved (each round runs
every command once) and the medians and their ratio to `segpipe top` are printed.
Figures from a shared machine: compare ratios from one run, not seconds across runs.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb


def commands(project: Path, as_of: str, out: Path) -> dict[str, list[str]]:
    """The commands timed: the two largest segments for compare, the largest for variants."""
    database = next(project.glob("*.duckdb"))
    with duckdb.connect(str(database), read_only=True) as con:
        largest = [str(r[0]) for r in con.execute(
            "select segment_id from segment_leads group by 1 order by count(*) desc, 1 limit 2").fetchall()]
    window = ["--as-of", as_of, "--project-dir", str(project)]
    return {
        "top": ["top", *window],
        "top --rank-by wilson": ["top", "--rank-by", "wilson", *window],
        "top --rank-by shrunk": ["top", "--rank-by", "shrunk", *window],
        "top --format xlsx": ["top", "--format", "xlsx", "--output", str(out / "top.xlsx"), *window],
        f"compare {largest[0]} {largest[1]}": ["compare", *largest, *window],
        f"compare {largest[0]} {largest[1]} --days 365": ["compare", *largest, "--days", "365", *window],
        f"variants {largest[0]}": ["variants", largest[0], *window],
        "export segment_performance (parquet)": ["export", "segment_performance", "--format", "parquet",
                                                 "--output", str(out / "perf.parquet"), *window[2:]],
        "export leads --top 1 (parquet)": ["export", "leads", "--top", "1", "--format", "parquet",
                                           "--output", str(out / "leads.parquet"), *window],
    }


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode:
        sys.exit(f"{' '.join(argv)} failed: {result.stderr.strip()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--as-of", default="2026-11-15")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    segpipe = shutil.which("segpipe") or str(Path(sys.executable).with_name("segpipe"))
    with tempfile.TemporaryDirectory() as out:
        steps = commands(args.project.resolve(), args.as_of, Path(out))
        times: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(args.repeat):
            for name, argv in steps.items():
                times[name].append(timed([segpipe, *argv]))
    top = statistics.median(times["top"])
    print(f"| command | median s | all runs s | / top |\n|---|---:|---|---:|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| `segpipe {name}` | {median:.3f} | {', '.join(f'{v:.2f}' for v in values)} | {median / top:.2f} |")


if __name__ == "__main__":
    main()
