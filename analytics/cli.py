"""Command line: summary, ingest, snapshots and rollback (see README "Command line")."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from analytics.dataset import summary
from analytics.errors import InputError
from analytics.ingest import Overrides
from analytics.metrics import Filters, rejects
from analytics.programme import load_programme
from analytics.store import Store
from analytics.uploads import Limits, load_files_isolated
from analytics.words import text

log = logging.getLogger("analytics")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analytics", description="NCE Migration Radar figures.")
    verbs = parser.add_subparsers(dest="verb", required=True)
    s = verbs.add_parser("summary", help="print the headline figures of PRODUCT.md section 4")
    s.add_argument(
        "files",
        nargs="*",
        type=Path,
        metavar="FILE",
        help="CSV, XLSX or Parquet export(s); none: the current published snapshot",
    )
    s.add_argument("--store", type=Path, help="snapshot store folder (default: $RADAR_STORE or data/store)")
    s.add_argument("--country", action="append", default=[], metavar="CC", help="ISO code; repeat for several")
    s.add_argument("--mapping", type=Path, help="TOML file that overrides the column mapping")
    s.add_argument("--programme", type=Path, help="programme TOML (default: config/programme.toml)")
    s.add_argument("--json", action="store_true", help="print the documented JSON document")
    s.add_argument("--max-file-mb", type=float, help="refuse files larger than this (default: no limit)")

    i = verbs.add_parser("ingest", help="validate export files and (with --publish) publish them as a snapshot")
    i.add_argument("files", nargs="+", type=Path, metavar="FILE")
    i.add_argument("--mapping", type=Path, help="TOML file that overrides the column mapping")
    i.add_argument("--publish", action="store_true", help="publish the result as the current snapshot")
    i.add_argument("--store", type=Path, help="snapshot store folder (default: $RADAR_STORE or data/store)")
    i.add_argument("--json", action="store_true", help="print the ingest report as JSON")
    i.add_argument("--max-file-mb", type=float, help="refuse files larger than this (default: no limit)")
    i.add_argument(
        "--allow-shrink",
        action="store_true",
        help="publish even when far fewer subscriptions are accepted than the current snapshot has",
    )

    ls = verbs.add_parser("snapshots", help="list the published snapshots, newest first")
    ls.add_argument("--store", type=Path)
    ls.add_argument("--json", action="store_true")

    r = verbs.add_parser("rollback", help="make an earlier snapshot current again")
    r.add_argument("id", metavar="ID")
    r.add_argument("--store", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.verb == "summary":
            return _summary(args)
        if args.verb == "ingest":
            return _ingest(args)
        if args.verb == "snapshots":
            return _snapshots(args)
        if args.verb == "rollback":
            Store(args.store).rollback(args.id)
            print(f"current snapshot: {args.id}")
            return 0
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: one line for the user, the traceback only in the debug log
        log.debug("unexpected error", exc_info=True)
        print(
            f"error: unexpected {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr
        )
        return 1
    return 2


def _summary(args: argparse.Namespace) -> int:
    programme = load_programme(args.programme)
    _warn(programme.warnings)
    if args.files:
        _check_files(args.files)
        dataset = _load(args, programme)
    else:
        store = Store(args.store)
        current = store.current_id()
        if current is None:
            raise InputError(f"no FILE given and no published snapshot in {store.path}")
        dataset = store.load(current, programme)
    countries = tuple(dict.fromkeys(c.strip().upper() for c in args.country))
    doc = summary(dataset, Filters(countries=countries))
    if args.json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return 0
    for warning in dataset.result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(render_table(doc, programme.describe(), countries))
    return 0


def _limit(args: argparse.Namespace) -> int | None:
    """The command line is the operator's: no file size limit unless --max-file-mb asks for one."""
    return None if args.max_file_mb is None else int(args.max_file_mb * 2**20)


def _check_files(files: list[Path]) -> None:
    """FILE arguments are taken literally: a name with * or [ ] is that file, never a pattern (the shell expands
    patterns before we see them; DuckDB would expand them again, so the readers never give it such a name)."""
    for path in files:
        if path.is_dir():
            raise InputError(f"{path}: is a directory; give the export files in it (FILE...)")
        if not path.is_file():
            raise InputError(f"{path}: no such file")


def _load(args: argparse.Namespace, programme):
    """The files read in a worker process: no time or row limit for the operator, but a memory limit, so that a
    memory bomb ends this command with a message instead of taking the server down (README "Command line")."""
    limits = Limits.command_line(_limit(args))
    return load_files_isolated(args.files, Overrides.load(args.mapping), programme, None, _limit(args), limits)


def _warn(warnings) -> None:
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def _ingest(args: argparse.Namespace) -> int:
    _check_files(args.files)
    programme = load_programme()
    _warn(programme.warnings)
    dataset = _load(args, programme)
    result = dataset.result
    report = {**result.to_json(), "warnings": result.warnings, "snapshot": None}
    if args.publish:
        sources = [(p.name, p.stat().st_size) for p in args.files]
        report["snapshot"] = Store(args.store).publish(dataset, sources, allow_shrink=args.allow_shrink)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for f in result.files:
        collapsed = f" ({f['collapsed']:,} repeated rows collapsed)" if f.get("collapsed") else ""
        print(f"file: {f['name']}: {text('en', 'kind.' + f['kind'])}, {f['rows']:,} rows{collapsed}")
    if result.programs:
        parts = [f"{p['subscriptions']:,} {p['program']} by {text('en', 'rule.' + p['rule'])}" for p in result.programs]
        print(f"legacy or NCE: {'; '.join(parts)}")
    print(f"accepted: {result.accepted}; rejected rows: {result.rejected}")
    for row in rejects(dataset.cursor(), limit=20).itertuples():
        print(f"  rejected: {row.file}, line {row.line}, column {row.column!r}: {row.reason} ({row.value!r})")
    if result.rejected > 20:
        print(f"  ... and more: {result.rejected} rows in all")
    print(f"published snapshot {report['snapshot']}" if args.publish else "not published (use --publish)")
    return 0


def _snapshots(args: argparse.Namespace) -> int:
    snapshots = [s.to_json() for s in Store(args.store).list()]
    if args.json:
        print(json.dumps(snapshots, indent=2, ensure_ascii=False))
        return 0
    if not snapshots:
        print("no published snapshots")
    for s in snapshots:
        mark = "*" if s["current"] else " "
        rows = s["rows"]
        print(
            f"{mark} {s['id']}  {s['created'][:19]}  {rows.get('subscriptions', 0):>9,} subscriptions  "
            f"{s['rejected']:>6,} rejected  {s['label']}"
        )
    return 0


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def render_table(doc: dict, programme: str, countries: tuple[str, ...]) -> str:
    """The summary as a plain-text table: one column for the total, one per country."""
    columns = [("Total", doc["totals"])] + list(doc["by_country"].items())
    rows = [
        ("Subscriptions in scope", lambda b: f"{b['subscriptions_in_scope']:,}"),
        ("Seats in scope", lambda b: f"{b['seats_in_scope']:,}"),
        ("Exempt subscriptions", lambda b: f"{b['subscriptions_exempt']:,}"),
        (
            "Before cutoff (subs / seats)",
            lambda b: f"{b['before_cutoff']['subscriptions']:,} / {b['before_cutoff']['seats']:,}",
        ),
        (
            "After cutoff (subs / seats)",
            lambda b: f"{b['after_cutoff']['subscriptions']:,} / {b['after_cutoff']['seats']:,}",
        ),
        ("Lapse risk (subs / seats)", lambda b: f"{b['lapse_risk']['subscriptions']:,} / {b['lapse_risk']['seats']:,}"),
        ("Exposed partners", lambda b: f"{b['partners_exposed']:,}"),
        ("Opted out", lambda b: f"{b['partners_opted_out']:,} ({_pct(b['opt_out_rate'])})"),
        ("Opt-out seat rate", lambda b: _pct(b["opt_out_seat_rate"])),
        ("Late opt-outs", lambda b: f"{b['late_opt_outs']:,}"),
        (
            "Fully ready",
            lambda b: f"{b['partners_fully_ready']:,} of {b['partners_assessed']:,} ({_pct(b['readiness_rate'])})",
        ),
        (
            "Projected NCE (subs / seats)",
            lambda b: f"{b['projected']['subscriptions']:,} / {b['projected']['seats']:,}",
        ),
        ("  of which at risk (subs)", lambda b: f"{b['projected']['at_risk_subscriptions']:,}"),
    ]
    table = [["", *[name for name, _ in columns]]]
    table += [[label, *[fmt(b) for _, b in columns]] for label, fmt in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = [programme, f"Countries: {', '.join(countries) or 'all'}", ""]
    for r in table:
        lines.append("  ".join(r[0].ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)))
    ingest = doc["ingest"]
    lines += ["", f"Accepted: {ingest['accepted']}; rejected rows: {ingest['rejected']}"]
    return "\n".join(lines)
