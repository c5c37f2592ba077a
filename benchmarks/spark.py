"""engine: spark next to engine: duckdb, on the same generated data, in one run.

    python benchmarks/spark.py [--scales s m] [--spark-only l] [--master 'local[2]'] [--repeat 1]

For each scale in --scales: generates the data if missing (benchmarks/data/<scale>),
builds one project on it and times, each in a fresh process, a full
`segpipe run --engine duckdb` and a full `segpipe run --engine spark`
(wall seconds, and the peak of the summed RSS of the whole process tree — for
Spark that is mostly the JVM the Python driver starts). Scales in --spark-only
are run on Spark alone, to show how Spark's time grows with the sends. Both
builds publish into separate files, which are compared table by table, so a
figure never comes from a build that disagrees. Figures, not timed tests: the
machine they ran on is named in the output.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import yaml

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from run import AS_OF, ensure_data, make_project, segpipe  # noqa: E402

SENDS = {"xs": 50_000, "s": 1_000_000, "m": 10_000_000, "l": 50_000_000}


def tree_rss_mib(pid: int) -> float:
    """Summed RSS of `pid` and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += rss.get(current, 0)
        stack.extend(children.get(current, []))
    return total / 2**20


def measure(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak tree RSS (MiB) of one command; fails loudly."""
    started = time.perf_counter()
    process = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0.0]

    def sample():
        while process.poll() is None:
            peak[0] = max(peak[0], tree_rss_mib(process.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"failed ({process.returncode}): {' '.join(cmd)}\n{out[-2000:]}\n{err[-2000:]}")
    return seconds, peak[0]


def same_tables(a: Path, b: Path) -> bool:
    """Every published table holds the same rows (counts exactly, rates to 1e-12)."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{a}' AS a (READ_ONLY); ATTACH '{b}' AS b (READ_ONLY)")
    tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                        "WHERE table_catalog = 'a' AND table_schema = 'main'").fetchall()]
    for table in tables:
        for left, right in (("a", "b"), ("b", "a")):
            extra = con.execute(f'SELECT count(*) FROM (SELECT * FROM {left}.main."{table}" '
                                f'EXCEPT ALL SELECT * FROM {right}.main."{table}")').fetchone()[0]
            if extra:
                print(f"  {table}: {extra} rows of {left} not in {right}")
                return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", nargs="*", default=["s", "m"])
    parser.add_argument("--spark-only", nargs="*", default=["l"])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    print(f"machine: {platform.node()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
          f"Spark master {args.master}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="segpipe-spark-bench-") as tmp:
        for scale in [*args.scales, *args.spark_only]:
            data = ensure_data(scale, BENCH / "data" / scale)
            root = make_project(Path(tmp) / scale, data)
            config = yaml.safe_load((root / "project.yml").read_text())
            config["engine"] = {"type": "spark", "master": args.master,
                                "conf": {"spark.driver.memory": "6g", "spark.sql.shuffle.partitions": "8"}}
            (root / "project.yml").write_text(yaml.safe_dump(config, sort_keys=False))
            engines = ["spark"] if scale in args.spark_only else ["duckdb", "spark"]
            for _ in range(args.repeat):
                for engine in engines:
                    seconds, rss = measure(segpipe("run", "--project-dir", root, "--engine", engine, "--db",
                                                   root / f"{engine}.duckdb", "--full-refresh", "--as-of", AS_OF),
                                           root)
                    rows.append((scale, engine, seconds, rss))
                    print(f"  {scale:<2} {engine:<6} {seconds:8.1f} s  {rss:8.0f} MiB", flush=True)
            if len(engines) == 2:
                print(f"  {scale}: same published rows on both engines: {same_tables(root / 'duckdb.duckdb', root / 'spark.duckdb')}")
    print("\n| scale | sends | engine | wall s | peak RSS MiB |\n|---|---|---|---|---|")
    for scale, engine, seconds, rss in rows:
        print(f"| {scale} | {SENDS.get(scale, '?'):,} | {engine} | {seconds:.1f} | {rss:.0f} |")
    spark = {scale: seconds for scale, engine, seconds, _ in rows if engine == "spark"}
    duck = {scale: seconds for scale, engine, seconds, _ in rows if engine == "duckdb"}
    for scale in spark:
        if scale in duck:
            print(f"spark / duckdb at {scale}: {spark[scale] / duck[scale]:.1f}x")
    ordered = [s for s in ("xs", "s", "m", "l") if s in spark]
    for small, large in zip(ordered, ordered[1:]):
        print(f"spark {small} -> {large}: time x{spark[large] / spark[small]:.1f} for sends x{SENDS[large] / SENDS[small]:.0f}")


if __name__ == "__main__":
    main()
