"""Write the bundled sample's weekly history: `python data/sample/history.py` (after generate.py).

The bundled sample (subscriptions.csv, partners.csv, customers.csv) is the export of the week of SAMPLE_AS_OF.
This script derives the four weekly exports before it, so that Trends shows movement on a fresh install
(PRODUCT.md section 6): going back a week at a time, partners undo the opt-outs dated after that week and some
of their readiness steps, a few subscriptions have not appeared yet and a few that have since vanished are
still there. Each week's folder holds its subscriptions.csv and partners.csv; the customers are those of the
bundled sample. It then writes history/summary.parquet, the weeks' trend summaries (analytics/history.py), so
that Trends draws them without reading the weeks; tests/test_history.py checks that it is up to date.

Deterministic: the same sample gives the same history, byte for byte.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import uuid
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from analytics.history import HISTORY, SAMPLE_AS_OF, write_sample_summary  # noqa: E402

WEEKS = 4
STEPS = ("mpa_signed", "indirect_provider_confirmed", "mpn_id_updated", "mca_all_customers")


def read(name: str) -> tuple[list[str], list[dict]]:
    with (HERE / name).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def write(path: Path, columns: list[str], rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=HISTORY, help="write the weeks here (the summary only into history/)"
    )
    out = parser.parse_args().out
    rng = random.Random(20220711)
    sub_columns, subscriptions = read("subscriptions.csv")
    partner_columns, partners = read("partners.csv")
    # The week (0 = the sample's own, WEEKS = the oldest) in which each change happened; before it, it had not.
    step_done = {
        (p["partner_id"], step): rng.choices(range(WEEKS + 3), weights=(3, 3, 2, 2, 1, 4, 6))[0]
        for p in partners
        for step in STEPS
        if p[step] == "true"
    }
    appeared = {s["subscription_id"]: rng.randrange(WEEKS) for s in rng.sample(subscriptions, 40)}
    vanished = []
    for row in rng.sample(subscriptions, 24):
        gone = dict(row, subscription_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper())
        vanished.append((rng.randrange(WEEKS), gone))  # there until (and including) week `gone + 1`
    for weeks_back in range(1, WEEKS + 1):
        day = SAMPLE_AS_OF - timedelta(weeks=weeks_back)
        folder = out / day.isoformat()
        week_partners = []
        for partner in partners:
            row = dict(partner)
            for step in STEPS:
                if step_done.get((row["partner_id"], step), -1) in range(weeks_back):
                    row[step] = "false"
            if row["opt_out_date"] and date.fromisoformat(row["opt_out_date"]) > day:
                row["opted_out"], row["opt_out_date"] = "false", ""
            week_partners.append(row)
        week_subscriptions = [s for s in subscriptions if appeared.get(s["subscription_id"], WEEKS) >= weeks_back]
        week_subscriptions += [row for gone, row in vanished if gone < weeks_back]
        write(folder / "subscriptions.csv", sub_columns, week_subscriptions)
        write(folder / "partners.csv", partner_columns, week_partners)
    if out == HISTORY:
        write_sample_summary()
    print(f"wrote {WEEKS} weeks before {SAMPLE_AS_OF} into {out}")


if __name__ == "__main__":
    main()
