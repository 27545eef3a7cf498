"""Ingest time of this tree against another checkout of the project, on the same generated export.

    .venv/bin/python bench/compare_ingest.py --base /path/to/other/checkout [--rows 1m] [--rounds 3]

Runs `analytics.dataset.load_files` of the three generated CSVs in a fresh process per measurement, alternating
the two trees round by round (so a load that comes and goes on a shared machine hits both alike), and prints
wall and CPU seconds (user + system of the process, DuckDB's threads included) with the median of each. CPU
time is the steadier figure when other work shares the cores. The export is bench/generate.py's, in
bench/out/data/<rows> (made when missing).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

MEASURE = """
import json, resource, sys, time
from pathlib import Path
from analytics.dataset import load_files
folder = Path(sys.argv[1])
files = [folder / n for n in ("subscriptions.csv", "partners.csv", "customers.csv")]
before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
load_files(files, max_file_bytes=None)
after = resource.getrusage(resource.RUSAGE_SELF)
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
print(json.dumps({"wall": time.perf_counter() - start, "cpu": cpu}))
"""


def measure(tree: Path, data: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(data)],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, required=True, help="the other checkout (e.g. a git worktree)")
    parser.add_argument("--rows", default="1m", help="10k, 1m or 10m (default 1m)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from generate import generate, parse_rows

    data = HERE / "out" / "data" / args.rows
    if not (data / "subscriptions.csv").exists():
        generate(parse_rows(args.rows), data)
    trees = {"this tree": ROOT, "base": args.base.resolve()}
    figures: dict[str, list[dict]] = {name: [] for name in trees}
    for round_ in range(args.rounds):
        for name, tree in trees.items():
            figure = measure(tree, data)
            figures[name].append(figure)
            print(f"round {round_ + 1}  {name:9}  wall {figure['wall']:6.2f} s  cpu {figure['cpu']:6.2f} s", flush=True)
    medians = {name: {k: statistics.median(f[k] for f in fs) for k in ("wall", "cpu")} for name, fs in figures.items()}
    for name, median in medians.items():
        print(f"median     {name:9}  wall {median['wall']:6.2f} s  cpu {median['cpu']:6.2f} s")
    ratio = medians["this tree"]["cpu"] / medians["base"]["cpu"]
    print(f"this tree / base (CPU): {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
