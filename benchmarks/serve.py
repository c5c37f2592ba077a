"""`segpipe serve` next to the minimal FastAPI endpoint a user would write, under load.

    python benchmarks/serve.py [--scale m] [--data DIR] [--seconds 10] [--keep]

Builds a project on the scale's generated data (benchmarks/run.py's project,
sources symlinked), then measures top-segments on

  segpipe   `segpipe serve` (one worker, no tokens)
  baseline  benchmarks/serve_baseline.py: FastAPI + uvicorn, one read-only DuckDB
            connection shared by every request, the same window query ranked in SQL

at 1, 8 and 32 concurrent clients (keep-alive connections from one asyncio
client process), each server in turn for the same number of seconds, in one
run, asking the same card again and again ("same") or random windows and
limits ("varied", see MODES). Then segpipe again at 8 clients while real incremental `segpipe run`s
append a day of sends and publish. Prints requests per second, p50 and p99
latency and errors side by side. Figures, not a timed test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import run as bench  # noqa: E402  (benchmarks/run.py: data, project, appended days)
from generate import SCALES  # noqa: E402

RESULTS = BENCH / "SERVE_RESULTS.md"
RESULTS_HEADER = """# `segpipe serve` under load (benchmarks/serve.py)

Written by `python benchmarks/serve.py`; figures from one run on a shared, noisy machine:
compare the two servers within the run, not seconds across runs. "same": every request asks
for the same card (days=30, limit=5); "varied": each asks for a random days=1..365 and
limit=1..50, so answers are nearly always computed afresh (segpipe keeps each snapshot's last
256 answers; the baseline has no such cache).

"""
QUERY = f"/api/dashboard/top-segments?as_of={bench.AS_OF}&days={{days}}&limit={{limit}}"
CONCURRENCY = (1, 8, 32)
#: "same": every request asks for days=30&limit=5 (a dashboard polling one card); "varied": each asks
#: for a random days=1…365 and limit=1…50 (18,250 answers), so answers are nearly always computed afresh
MODES = ("same", "varied")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], port: int, env=None, log: Path | None = None) -> subprocess.Popen:
    out = open(log, "w") if log else subprocess.DEVNULL
    process = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=bench.REPO)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{QUERY.format(days=30, limit=5)}", timeout=60).close()
            return process
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"server exited: {' '.join(cmd)}")
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"server did not answer: {' '.join(cmd)}")


async def client(index: int, port: int, mode: str, until: float, latencies: list[float], errors: list[str]) -> None:
    """One keep-alive HTTP/1.1 connection sending GETs back to back until `until`; client `index`
    draws its own random sequence of questions (the same for both servers)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    rng = random.Random(index)
    try:
        while time.perf_counter() < until:
            days, limit = (30, 5) if mode == "same" else (rng.randint(1, 365), rng.randint(1, 50))
            started = time.perf_counter()
            writer.write(f"GET {QUERY.format(days=days, limit=limit)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            status = (await reader.readline()).split(b" ", 2)
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            if len(status) < 2 or status[1] != b"200":
                errors.append(b" ".join(status).decode(errors="replace").strip())
            else:
                latencies.append(time.perf_counter() - started)
    except (OSError, asyncio.IncompleteReadError) as exc:
        errors.append(repr(exc))
    finally:
        writer.close()


def load(port: int, clients: int, seconds: float, mode: str = "same") -> dict:
    async def main():
        latencies, errors = [], []
        warm = time.perf_counter() + 1.0
        await asyncio.gather(*(client(i, port, mode, warm, [], []) for i in range(clients)))
        until = time.perf_counter() + seconds
        began = time.perf_counter()
        await asyncio.gather(*(client(i, port, mode, until, latencies, errors) for i in range(clients)))
        return latencies, errors, time.perf_counter() - began

    latencies, errors, elapsed = asyncio.run(main())
    latencies.sort()
    pick = (lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000) if latencies else (lambda q: float("nan"))
    return {"rps": len(latencies) / elapsed, "p50": pick(0.50), "p99": pick(0.99), "errors": len(errors),
            "requests": len(latencies) + len(errors)}


def publishing(project: Path, data: Path, stop: threading.Event, done: list) -> None:
    """Incremental runs, each appending one more day of sends, until `stop`."""
    day = bench.dt.date.fromisoformat(bench.NEW_DAY)
    while not stop.is_set():
        bench.append_day(project / "data" / "campaign_leads", str(day), campaigns=data / "campaigns.parquet")
        result = subprocess.run(bench.segpipe("run", "--project-dir", str(project), "--as-of", str(day)),
                                capture_output=True, text=True)
        done.append((str(day), result.returncode, result.stderr.strip()[-200:]))
        day += bench.dt.timedelta(days=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="m", choices=list(SCALES))
    ap.add_argument("--data", type=Path)
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds per server and concurrency")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--no-write", action="store_true", help=f"do not rewrite {RESULTS.name}")
    args = ap.parse_args()
    data = bench.ensure_data(args.scale, args.data or BENCH / "data" / args.scale)
    work = Path(tempfile.mkdtemp(prefix="segpipe-serve-bench-"))
    project = bench.make_project(work / "project", data)
    built = subprocess.run(bench.segpipe("run", "--project-dir", str(project), "--as-of", bench.AS_OF),
                           capture_output=True, text=True)
    if built.returncode:
        raise SystemExit(built.stderr)
    database = project / "bench.duckdb"
    print(f"scale {args.scale}: {database.stat().st_size / 2**20:.0f} MiB published file; {os.cpu_count()} cores; "
          f"{args.seconds:.0f} s per measurement")

    ours_port, base_port = free_port(), free_port()
    ours = start(bench.segpipe("serve", "--project-dir", str(project), "--port", str(ours_port)), ours_port,
                 log=work / "serve.log")
    base = start([sys.executable, "-m", "uvicorn", "serve_baseline:app", "--port", str(base_port), "--no-access-log",
                  "--app-dir", str(BENCH)], base_port, env={**os.environ, "SEGPIPE_BASELINE_DB": str(database)})
    rows = []
    try:
        for mode in MODES:
            for index, clients in enumerate(CONCURRENCY):
                order = [("segpipe", ours_port), ("baseline", base_port)]
                for name, port in order if index % 2 == 0 else order[::-1]:
                    rows.append((name, clients, mode, load(port, clients, args.seconds, mode)))
        stop, runs = threading.Event(), []
        publisher = threading.Thread(target=publishing, args=(project, data, stop, runs))
        publisher.start()
        try:
            rows.append(("segpipe", 8, "varied, while runs publish", load(ours_port, 8, max(args.seconds, 20.0), "varied")))
        finally:
            stop.set()
            publisher.join()
    finally:
        for process in (ours, base):
            process.terminate()
            process.wait()
    lines = ["| server | clients | requests | req/s | p50 ms | p99 ms | p99/p50 | errors |", "|---|---:|---|---:|---:|---:|---:|---:|"]
    for name, clients, note, r in rows:
        lines.append(f"| {name} | {clients} | {note} | {r['rps']:.1f} | {r['p50']:.2f} | {r['p99']:.2f} | "
                     f"{r['p99'] / r['p50']:.2f} | {r['errors']} |")
    by = {(name, clients, note): r for name, clients, note, r in rows}
    lines.append("")
    for mode in MODES:
        lines.append(f"- segpipe / baseline throughput, {mode}: " + ", ".join(
            f"{c} clients {by['segpipe', c, mode]['rps'] / by['baseline', c, mode]['rps']:.2f}x" for c in CONCURRENCY))
    failed_runs = [r for r in runs if r[1] != 0]
    lines.append(f"- runs that published during the last measurement: {len(runs) - len(failed_runs)} of {len(runs)} "
                 "succeeded" + (f"; failed: {failed_runs}" if failed_runs else ""))
    head = (f"## Scale {args.scale}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, revision {bench.git_revision()}\n\n"
            f"{database.stat().st_size / 2**20:.0f} MiB published file, {os.cpu_count()} cores, load average at the end "
            f"{os.getloadavg()[0]:.1f}, {args.seconds:.0f} s per measurement.\n\n")
    report = head + "\n".join(lines) + "\n"
    print("\n" + report)
    if not args.no_write:
        RESULTS.write_text(RESULTS_HEADER + report)
    if args.keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
