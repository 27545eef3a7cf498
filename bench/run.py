"""The benchmark of NCE Migration Radar: `make bench`, or

    python bench/run.py [--sizes 10k,1m] [--large] [--no-browser] [--smoke] [--out DIR] [--data DIR]

For each size it generates an export (bench/generate.py; reused when already generated with the same seed and
generator), then measures, each in its own process (bench/worker.py) so the peak RSS is that step's own:
ingest (analytics.dataset.load_files) against DuckDB's own CREATE TABLE AS read_csv of the same files,
Store.publish and Store.load, the queries of every page cold and warm with and without the DE filter, and the
headline figures computed by a straightforward pandas implementation. At 1 million rows (or the largest size
run, when 1m is not among them) it serves the published snapshot with `streamlit run app.py` and times the
pages in Chromium (bench/browser.py).

Prints a table and writes RESULTS.md into --out (default: bench/), and every raw figure as results.json into
the data folder. Sizes default to 10k and
1m; --large adds 10m (about 1.7 GB of CSV under bench/out/, git-ignored). --smoke runs only 10k without the
browser, writes into --out (default bench/out/smoke, never bench/RESULTS.md) and exits non-zero when anything
breaks, never because of a timing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402
from report import render_table, table_rows, targets, write_report  # noqa: E402

CHILD_TIMEOUT = 3 * 3600


class BenchError(Exception):
    pass


# ---------------------------------------------------------------- running the steps


def child(task: str, data: Path, store: Path, work: Path, rss_limit_gb: float) -> dict:
    """Run one bench/worker.py task in its own process; its JSON result, or BenchError with its stderr."""
    result = work / f"{task}.json"
    result.unlink(missing_ok=True)
    command = [sys.executable, str(BENCH / "worker.py"), task, "--data", str(data), "--store", str(store)]
    command += ["--result", str(result), "--rss-limit-gb", str(rss_limit_gb)]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    if done.returncode != 0 or not result.is_file():
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise BenchError(f"worker {task} failed (exit {done.returncode}):\n{tail}")
    out = json.loads(result.read_text(encoding="utf-8"))
    out["process_seconds"] = time.perf_counter() - started
    return out


def prepare_data(rows: int, folder: Path, seed: int, regenerate: bool) -> dict:
    """Generated files for `rows` in `folder` (in a child process), reused when they match."""
    manifest = None if regenerate else generate.cached(rows, folder, seed)
    if manifest is not None:
        manifest = dict(manifest, reused=True)
        return manifest
    if folder.exists():
        shutil.rmtree(folder)
    command = [sys.executable, str(BENCH / "generate.py"), "--rows", str(rows), "--out", str(folder)]
    command += ["--seed", str(seed)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    if done.returncode != 0:
        raise BenchError(f"generating {rows:,} rows failed:\n{done.stderr.strip()[-2000:]}")
    manifest = generate.cached(rows, folder, seed)
    if manifest is None:
        raise BenchError(f"generating {rows:,} rows left no usable files in {folder}")
    return dict(manifest, reused=False)


def server_config(data_root: Path, largest_file: int) -> Path:
    """A copy of the server settings (RADAR_CONFIG or config/server.toml) whose upload limit admits the largest
    generated file; DuckDB's memory limit and threads stay as configured. Every step runs with it."""
    source = Path(os.environ.get("RADAR_CONFIG") or ROOT / "config" / "server.toml")
    raw = tomllib.loads(source.read_text(encoding="utf-8")) if source.is_file() else {}
    upload = raw.setdefault("upload", {})
    needed = math.ceil(largest_file / 2**20) + 1
    if float(upload.get("max_file_mb", 500)) < needed:
        upload["max_file_mb"] = needed
    lines = [f"# Written by bench/run.py from {source}: the upload limit raised to fit the generated files."]
    for section, values in raw.items():
        lines.append(f"\n[{section}]")
        for key, value in values.items():
            lines.append(f"{key} = {json.dumps(value)}")
    path = data_root / "server.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def warm_cache(folder: Path) -> None:
    """Read the files once so every contender starts with them in the OS page cache (as after an upload)."""
    for name in generate.FILES:
        with (folder / name).open("rb") as handle:
            while handle.read(1 << 24):
                pass


def run_size(label: str, rows: int, data_root: Path, seed: int, regenerate: bool, rss_limit_gb: float, log) -> dict:
    folder = data_root / label
    out: dict = {"label": label, "rows": rows, "errors": [], "load_before": os.getloadavg()}
    log(f"[{label}] data: generating or reusing {rows:,} subscriptions in {folder}")
    started = time.perf_counter()
    out["data"] = prepare_data(rows, folder, seed, regenerate)
    out["data_seconds"] = time.perf_counter() - started
    config = server_config(data_root, max(out["data"]["bytes"].values()))
    os.environ["RADAR_CONFIG"] = str(config)  # for the workers and the Streamlit server started after this
    out["server_config"] = tomllib.loads(config.read_text(encoding="utf-8"))
    warm_cache(folder)
    store = Path(tempfile.mkdtemp(prefix=f"store-{label}-", dir=data_root))
    work = data_root / f"work-{label}"
    work.mkdir(parents=True, exist_ok=True)
    out["store"] = str(store)
    steps = (
        ("raw", "DuckDB read_csv of the same files"),
        ("ingest", "load_files + Store.publish"),
        ("raw_again", "DuckDB read_csv again (after the ingest)"),
        ("serve", "Store.load + page queries + downloads"),
        ("pandas", "pandas read_csv + groupby"),
    )
    for key, what in steps:
        task = "raw_repeat" if key == "raw_again" else key
        if task == "serve" and "ingest" not in out:
            continue
        log(f"[{label}] {what} …")
        try:
            out[key] = child(task, folder, store, work, rss_limit_gb)
        except (BenchError, subprocess.TimeoutExpired) as exc:
            out["errors"].append(f"{label} {key}: {exc}")
            log(f"[{label}] {key} FAILED: {exc}")
    check_size(out)
    out["load_after"] = os.getloadavg()
    return out


def check_size(out: dict) -> None:
    """What must hold whatever the timings: counts, and pandas agreeing with DuckDB on every headline figure."""
    data, ingest = out["data"], out.get("ingest")
    if ingest:
        expected = {
            "subscriptions": data["rows"] - data["bad_rows"],
            "partners": data["partners_listed"],
            "customers": data["customers"],
        }
        if ingest["accepted"] != expected:
            out["errors"].append(f"{out['label']}: load_files accepted {ingest['accepted']}, expected {expected}")
        if ingest["rejected"] != data["bad_rows"]:
            out["errors"].append(f"{out['label']}: {ingest['rejected']} rows rejected, {data['bad_rows']} are bad")
    serve, pandas = out.get("serve"), out.get("pandas")
    if serve and pandas:
        differences = []
        for country, figures in serve["headline"].items():
            other = pandas["headline"].get(country, {})
            differences += [
                f"{country} {k}: DuckDB {v}, pandas {other.get(k)}" for k, v in figures.items() if other.get(k) != v
            ]
        missing = set(pandas["headline"]) - set(serve["headline"])
        differences += [f"{c}: only in pandas" for c in sorted(missing)]
        out["pandas_agrees"] = not differences
        if differences:
            out["errors"].append(f"{out['label']}: pandas and DuckDB headline differ: " + "; ".join(differences[:8]))


WATCHED = ("analytics", "ui", "pages", "app.py", "config")


def code_fingerprint() -> str:
    """A digest of the code under test, to notice when it changes during a run."""
    digest = hashlib.blake2b(digest_size=8)
    for name in WATCHED:
        base = ROOT / name
        files = (
            [base]
            if base.is_file()
            else sorted(p for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        )
        for path in files:
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


# ---------------------------------------------------------------- the report


def _total_ram() -> int:
    import psutil

    return psutil.virtual_memory().total


def machine() -> dict:
    import psutil

    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("duckdb", "pandas", "pyarrow", "numpy", "streamlit", "playwright", "psutil", "xlsxwriter"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "not installed"
    try:
        done = subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True, timeout=30)
        out["chromium"] = done.stdout.strip().splitlines()[0] if done.stdout.strip() else "?"
    except (OSError, subprocess.TimeoutExpired):
        out["chromium"] = "not found"
    return out


def git_commit() -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        return commit + (" (with uncommitted changes)" if dirty else "")
    except OSError:
        return "?"


def cpu_pressure() -> str:
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
        return line.replace("some ", "")
    except (OSError, IndexError):
        return "n/a"


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10k,1m", help="comma-separated sizes (default 10k,1m)")
    parser.add_argument("--large", action="store_true", help="add the 10m size (several GB of disk)")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium timings")
    parser.add_argument("--smoke", action="store_true", help="10k only, no browser; fail on any error")
    parser.add_argument("--out", type=Path, help="where RESULTS.md and results.json go (default bench/)")
    parser.add_argument("--data", type=Path, help="where generated data goes (default bench/out, or OUT/data)")
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--regenerate", action="store_true", help="generate the data even when it exists")
    parser.add_argument(
        "--rss-limit-gb",
        type=float,
        default=round(0.7 * _total_ram() / 1024**3, 1),
        help="stop a measuring process whose RSS passes this (default 70%% of RAM), so it cannot crowd out the machine",
    )
    args = parser.parse_args(argv)

    labels = ["10k"] if args.smoke else [x.strip().lower() for x in args.sizes.split(",") if x.strip()]
    if args.large and "10m" not in labels:
        labels.append("10m")
    sizes_rows = sorted(
        {generate.label(generate.parse_rows(x)): generate.parse_rows(x) for x in labels}.items(), key=lambda x: x[1]
    )
    out_dir = args.out or (BENCH / "out" / "smoke" if args.smoke else BENCH)
    data_root = (args.data or (out_dir / "data" if args.out or args.smoke else BENCH / "out")).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    data_root.mkdir(parents=True, exist_ok=True)
    browse = not (args.no_browser or args.smoke)

    def log(message: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    run: dict = {
        "command": "python bench/run.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "versions": versions(),
        "commit": git_commit(),
        "load_start": os.getloadavg(),
        "errors": [],
        "code_start": code_fingerprint(),
    }
    sizes: list[dict] = []
    for label, rows in sizes_rows:
        try:
            size = run_size(label, rows, data_root, args.seed, args.regenerate, args.rss_limit_gb, log)
        except (BenchError, subprocess.TimeoutExpired, OSError) as exc:
            run["errors"].append(f"{label}: {exc}")
            log(f"[{label}] FAILED: {exc}")
            continue
        sizes.append(size)
        run["errors"] += size["errors"]

    browser = None
    browser_label = None
    if browse:
        candidates = [s for s in sizes if "serve" in s]
        chosen = next((s for s in candidates if s["label"] == "1m"), candidates[-1] if candidates else None)
        if chosen is None:
            run["errors"].append("browser: no size was served, nothing to browse")
        else:
            browser_label = chosen["label"]
            log(f"[{browser_label}] browser: streamlit run app.py + Chromium …")
            sys.path.insert(0, str(ROOT))
            import browser as browser_bench

            expected = {c: chosen["serve"]["headline"].get(c, {}) for c in browser_bench.FILTER_COUNTRIES}
            try:
                browser = browser_bench.run(
                    Path(chosen["store"]), expected, data_root / f"browser-{browser_label}", log
                )
                browser["label"] = browser_label
                for kind in ("first_render", "cached_render", "filter_change"):
                    for page, entry in browser[kind].items():
                        if entry["errors"]:
                            run["errors"].append(f"browser: {page} shows {entry['errors']} error box(es) ({kind})")
                for kind in ("first_render", "cached_render", "filter_change"):
                    for page, entry in browser[kind].items():
                        if entry.get("failed"):
                            run["errors"].append(f"browser: {page} ({kind}) failed: {entry['failed']}")
                for page, entry in browser["filter_change"].items():
                    for code, trial in entry.get("trials", {}).items():
                        if trial["selected"] != [code] or f"country={code}" not in trial["url"]:
                            run["errors"].append(
                                f"browser: {page}: typing {code} selected {trial['selected']}, URL {trial['url']}"
                            )
            except Exception as exc:  # Playwright raises its own error types; the run goes on to write results
                run["errors"].append(f"browser: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
                log(f"browser FAILED: {exc}")
                browser = None
    for size in sizes:
        shutil.rmtree(size["store"], ignore_errors=True)

    run["seconds"] = time.perf_counter() - started
    run["commit_end"] = git_commit()
    run["code_changed"] = code_fingerprint() != run["code_start"]
    if run["code_changed"]:
        run["errors"].append(
            f"the code under test ({', '.join(WATCHED)}) changed during the run (commit at start {run['commit']}, "
            f"at the end {run['commit_end']}): the figures mix versions; run again"
        )
    run["load_end"] = os.getloadavg()
    run["pressure_end"] = cpu_pressure()
    run["targets"] = targets(sizes, browser)
    rows = table_rows(sizes, browser, browser_label) if sizes else []
    header = ["figure", *(s["label"] for s in sizes)]
    if rows:
        print(render_table(header, rows, markdown=False))
        print()
    for name, status, detail in run["targets"]:
        print(f"[{status}] {name}: {detail}")
    for error in run["errors"]:
        print(f"ERROR: {error}")
    print(f"total run time {run['seconds']:.0f} s")
    write_report(out_dir / "RESULTS.md", run, sizes, browser, render_table(header, rows, markdown=True) if rows else "")
    (data_root / "results.json").write_text(
        json.dumps({"run": run, "sizes": sizes, "browser": browser}, indent=1, default=str), encoding="utf-8"
    )
    log(f"wrote {out_dir / 'RESULTS.md'}")
    return 1 if run["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
