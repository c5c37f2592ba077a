"""How fast a `segpipe run` stops on Ctrl-C (SIGINT) or SIGTERM during a long query.

    python benchmarks/interrupt.py [--tree DIR ...] [--repeat N]

For each source tree (default: this one; pass an older checkout, e.g. /work/main,
to compare side by side), copies the repository's demo project into a temporary
folder, publishes it, adds a model whose query runs for minutes, starts
`python -m segpipe run` with that tree first on PYTHONPATH, sends the signal one
and a half seconds into the build and measures the seconds until the process
exits, its exit code and first stderr line. Figures, not a timed test
(tests/test_interrupt.py checks the behaviour).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SLOW_MODEL = "select count(*) as n from range(50000000000) as t(i) where i % 7 = 3\n"


def project_copy(folder: Path) -> Path:
    root = folder / "proj"
    root.mkdir()
    for name in ("models", "macros", "seeds"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy(REPO / "project.yml", root / "project.yml")
    return root


def one_stop(tree: Path, root: Path, signum: int) -> tuple[float, int, str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, "-m", "segpipe", "run", "--project-dir", str(root), "--as-of", "2026-11-15"]
    proc = subprocess.Popen(command, env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    db = root / "segpipe.duckdb"
    while not list(root.glob(db.name + ".building-*")):
        time.sleep(0.02)
    time.sleep(1.5)
    sent = time.perf_counter()
    proc.send_signal(signum)
    _, err = proc.communicate()
    return time.perf_counter() - sent, proc.returncode, (err.strip().splitlines() or [""])[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", type=Path, help="source tree to measure (repeatable)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    trees = args.tree or [REPO]
    with tempfile.TemporaryDirectory() as folder:
        root = project_copy(Path(folder))
        subprocess.run([sys.executable, "-m", "segpipe", "run", "--project-dir", str(root), "--as-of", "2026-11-15"],
                       env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=root, check=True, capture_output=True)
        (root / "models" / "slow.sql").write_text(SLOW_MODEL)
        print(f"{'tree':<28} {'signal':<8} {'median s':>9} {'max s':>7}  exit  stderr")
        for signum in (signal.SIGINT, signal.SIGTERM):
            for tree in trees:  # interleaved per signal, same project and machine
                runs = [one_stop(tree, root, signum) for _ in range(args.repeat)]
                seconds = [s for s, _, _ in runs]
                print(f"{str(tree):<28} {signum.name:<8} {statistics.median(seconds):9.2f} {max(seconds):7.2f}  "
                      f"{runs[-1][1]:>4}  {runs[-1][2][:90]}")
                for leftover in root.glob("segpipe.duckdb.building-*"):
                    leftover.unlink()  # a killed run's (SIGTERM before this change): not the next one's business


if __name__ == "__main__":
    main()
