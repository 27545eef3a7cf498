"""Command line: summary, ingest, snapshots, rollback, notify and touchpoints (see README "Command line")."""

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
    _add_notice_verbs(verbs)
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
        if args.verb == "notify":
            return _notify(args)
        if args.verb == "touchpoints":
            return _touchpoints(args)
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
        # One row per readiness step of the programme, in its order.
        *((f"  {step}", lambda b, step=step: _pct(b["step_rates"].get(step))) for step in doc["totals"]["step_rates"]),
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


# ---------------------------------------------------------------- notices and the touchpoint log (PRODUCT.md 8)


def _add_notice_verbs(verbs) -> None:
    n = verbs.add_parser(
        "notify",
        help="per-partner notices on the published snapshot: list them, write drafts (--out) or send (--send)",
    )
    n.add_argument("--country", action="append", default=[], metavar="CC", help="ISO code; repeat for several")
    n.add_argument("--out", type=Path, metavar="DIR", help="write one .eml draft per partner and mailmerge.csv")
    n.add_argument("--send", action="store_true", help="send through [smtp] of config/server.toml (RADAR_SMTP_*)")
    n.add_argument("--dry-run", action="store_true", help="list who would get what; write and send nothing")
    n.add_argument("--resend", action="store_true", help="send also to partners this notice was sent to already")
    n.add_argument("--template", default=None, metavar="NAME", help="template set in config/notices (default: notice)")
    n.add_argument("--json", action="store_true", help="print the result as JSON")
    n.add_argument("--store", type=Path, help="snapshot store folder (default: $RADAR_STORE or data/store)")

    t = verbs.add_parser("touchpoints", help="list the touchpoint log (notices drafted, sent, failed; calls)")
    t.add_argument("--partner", metavar="ID", help="only this partner")
    t.add_argument("--limit", type=int, metavar="N", help="only the newest N entries")
    t.add_argument("--json", action="store_true", help="print a list of objects")
    t.add_argument("--store", type=Path, help="snapshot store folder (default: $RADAR_STORE or data/store)")


def _notify(args: argparse.Namespace) -> int:
    """List, draft or send the notices of the published snapshot; exit 1 when a message could not be sent."""
    from analytics import mailer, notices
    from analytics.touchpoints import TouchpointLog

    store = Store(args.store)
    current = store.current_id()
    if current is None:
        raise InputError(f"no published snapshot in {store.path} (publish one with `ingest --publish`)")
    if args.send and not args.dry_run:
        settings = mailer.smtp_settings()  # refused before anything is built when the settings are wrong
        if not settings.configured:
            raise InputError(
                "no SMTP server configured: set [smtp] host and from, or RADAR_SMTP_HOST and RADAR_SMTP_FROM"
            )
    templates = notices.Templates.load(args.template)
    dataset = store.load(current)
    countries = tuple(dict.fromkeys(c.strip().upper() for c in args.country))
    built = notices.build_notices(dataset.cursor(), dataset.programme, Filters(countries=countries), templates)
    log = TouchpointLog(store=store.path)
    snapshot, who = notices.data_key(dataset), _cli_user()
    doc = {"snapshot": current, "template": templates.name, "countries": list(countries), "dry_run": args.dry_run}
    outcomes = mailer.plan(built, log, snapshot, templates.name, args.resend)
    if args.out and not args.dry_run:
        written = notices.write_drafts(built, args.out, mailer.smtp_settings().sender or None)
        mailer.record_drafts(built, log, snapshot=snapshot, template=templates.name, who=who)
        doc["written"] = [str(path) for path in written]
    if args.send and not args.dry_run:
        report = None if args.json else (lambda done, total, o: print(f"  {done}/{total} {o.partner_id}: {o.status}"))
        outcomes = mailer.send(
            built, settings, log, snapshot=snapshot, template=templates.name, who=who, resend=args.resend,
            progress=report,
        )  # fmt: skip
    counts = {n.partner_id: n.counts for n in built}
    doc["notices"] = [{**o.to_json(), **counts[o.partner_id]} for o in outcomes]
    doc["totals"] = {status: sum(o.status == status for o in outcomes) for status in _STATUSES}
    failed = doc["totals"]["failed"]
    if args.json:
        print(json.dumps(doc, indent=2, ensure_ascii=False, default=str))
        return 1 if failed else 0
    print(f"snapshot {current}, template {templates.name}, countries: {', '.join(countries) or 'all'}")
    for o in outcomes:
        extra = f" ({o.detail})" if o.detail else ""
        print(f"  {o.partner_id:<12} {o.status:<13} {o.language}  {o.recipient or '-':<40} {o.subject}{extra}")
    print("; ".join(f"{status}: {count}" for status, count in doc["totals"].items() if count) or "no notices")
    if "written" in doc:
        print(f"wrote {len(doc['written']) - 1} drafts and mailmerge.csv into {args.out}")
    if args.dry_run:
        print("dry run: nothing written, nothing sent")
    return 1 if failed else 0


_STATUSES = ("will_send", "already_sent", "no_address", "sent", "failed")


def _cli_user() -> str:
    import getpass

    try:
        return f"{getpass.getuser()} (command line)"
    except Exception:  # no user name in some containers
        return "command line"


def _touchpoints(args: argparse.Namespace) -> int:
    from analytics.touchpoints import TouchpointLog

    if args.limit is not None and args.limit < 1:
        raise InputError("--limit must be 1 or more")
    entries = TouchpointLog(store=Store(args.store).path).entries(partner_id=args.partner, limit=args.limit)
    rows = [
        {k: (None if v is None or (isinstance(v, float) and v != v) else v) for k, v in row.items()}
        for row in entries.assign(at=entries["at"].map(lambda at: at.isoformat())).to_dict("records")
    ]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("no touchpoints")
    for r in rows:
        what = r["outcome"] if r["kind"] == "call" else (r["recipient"] or "")
        tail = r["note"] if r["kind"] == "call" else (r["detail"] or r["template"] or "")
        tail = " ".join(str(tail or "").split())
        print(f"{r['at'][:19]}  {r['partner_id']:<12} {r['kind']:<8} {what or '-':<32} {r['who'] or '-':<20} {tail}")
    return 0
