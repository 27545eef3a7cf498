"""Generate benchmark exports: subscriptions, partners and customers CSVs of any size, vectorised and deterministic.

    python bench/generate.py --rows 1m --out bench/out/1m [--seed 2022]

The distributions follow the bundled sample's generator (data/sample/generate.py, whose country, name, offer
and segment tables are reused): 12 European countries, ~85% commercial customers, term ends 2022-01..2023-07
(denser in 2022) plus ~1% usage-based subscriptions ending 9999-12-31, auto_renew true/false/empty, billing
monthly/annual/empty, ~4% NCE, status active/suspended/deleted, 10% of listed partners opted out (a few late or
undated), readiness steps mostly done in order. Partners and customers scale with the subscriptions in the
sample's proportions (1 partner per 15.5 subscriptions, 1 customer per 2.33), 1% of partners are missing from
partners.csv, and a few rows per million carry an invalid value (an impossible date or "1,5" seats) so the
reject path is measured too.

Numbers are drawn with numpy from one seed; the CSV text (comma, ISO dates, quotes only where needed) is written
by DuckDB's COPY from Arrow arrays, so 10 million rows take well under a minute on two cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.util
import json
import random
import sys
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
FORMAT_VERSION = 1  # bump when the output of the same seed changes

SUBS_PER_PARTNER = 4660 / 300  # the sample's proportions
SUBS_PER_CUSTOMER = 2.346  # mean of 1 + min(floor(Exp(mean 1.8)), 11) subscriptions per customer
UNLISTED_SHARE = 0.01
OPT_OUT_SHARE = 0.10
USAGE_SHARE = 0.01
NCE_SHARE = 0.04
BAD_ROWS_PER_MILLION = 10
CROSS_BORDER_SHARE = 0.025  # partners serving a quarter of their customers in a neighbouring country
FILES = ("subscriptions.csv", "partners.csv", "customers.csv")


def _sample_generator():
    """data/sample/generate.py as a module: its country, name and offer tables."""
    path = ROOT / "data" / "sample" / "generate.py"
    spec = importlib.util.spec_from_file_location("radar_sample_generate", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


S = _sample_generator()
EPOCH = dt.date(1970, 1, 1)


def _day(d: dt.date) -> int:
    return (d - EPOCH).days


CUTOFF = _day(S.CUTOFF)
NO_TERM_END = _day(S.NO_TERM_END)


def parse_rows(text: str) -> int:
    """'10k' -> 10_000, '1m' -> 1_000_000, '2500' -> 2500."""
    text = text.strip().lower().replace("_", "")
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    number = text[:-1] if factor > 1 else text
    return int(float(number) * factor)


def label(rows: int) -> str:
    if rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}m"
    if rows % 1_000 == 0:
        return f"{rows // 1_000}k"
    return str(rows)


def _weights(values) -> np.ndarray:
    w = np.asarray(list(values), dtype=float)
    return w / w.sum()


def _pool(rng: random.Random, templates: tuple[str, ...], country, size: int) -> list[str]:
    """Plausible names for one country (drawn with the sample's own templates); repeats are allowed."""
    return [S.fill(rng, rng.choice(templates), country) for _ in range(size)]


def _dict_array(indices: np.ndarray, dictionary: list[str]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), pa.array(dictionary, pa.string()))


def _nullable_bool(values: np.ndarray, null: np.ndarray) -> pa.Array:
    return pa.array(values, type=pa.bool_(), mask=null)


def _term_end_days() -> tuple[np.ndarray, np.ndarray]:
    first, last = _day(S.FIRST_TERM_END), _day(S.LAST_TERM_END)
    days = np.arange(first, last + 1, dtype=np.int32)
    years = np.array([(EPOCH + dt.timedelta(days=int(d))).year for d in days])
    return days, _weights(np.where(years == 2022, 3.0, 1.3))


TERM_DAYS, TERM_P = _term_end_days()


class Generator:
    def __init__(self, rows: int, seed: int):
        self.rows = rows
        self.seed = seed
        self.rng = np.random.default_rng([seed, 0])
        self.names = random.Random(seed)  # name pools: the sample's fill() takes a random.Random
        self.countries = list(S.COUNTRIES)
        self.n_partners = max(len(self.countries) * 2, round(rows / SUBS_PER_PARTNER))
        self.n_customers = max(self.n_partners, round(rows / SUBS_PER_CUSTOMER))

    # ------------------------------------------------------------ partners

    def partners(self) -> dict:
        rng, n = self.rng, self.n_partners
        country = rng.choice(len(self.countries), size=n, p=_weights(c.partners for c in self.countries))
        names: list[str] = []
        name_index = np.zeros(n, dtype=np.int64)
        for ci, c in enumerate(self.countries):
            members = np.flatnonzero(country == ci)
            pool = _pool(self.names, c.partner_names, c, min(len(members), 4000) or 1)
            name_index[members] = len(names) + rng.integers(0, len(pool), size=len(members))
            names += pool
        listed = rng.random(n) >= UNLISTED_SHARE
        opted = listed & (rng.random(n) < OPT_OUT_SHARE)
        # Opt-out dates: mostly on time (1 March .. 29 June 2022), some on the deadline, a few late or undated.
        roll = rng.random(n)
        deadline = _day(S.OPT_OUT_DEADLINE)
        date = np.where(
            roll < 0.03,
            deadline,
            np.where(
                roll < 0.07,
                deadline + rng.integers(1, 9, size=n),
                _day(dt.date(2022, 3, 1)) + rng.integers(0, 121, size=n),
            ),
        ).astype(np.int32)
        undated = opted & (roll > 0.98)
        # Readiness: steps done in order, mostly; opted-out partners are the less ready ones.
        done = np.where(
            opted,
            rng.choice(5, size=n, p=_weights((35, 30, 20, 10, 5))),
            rng.choice(5, size=n, p=_weights((10, 14, 18, 20, 38))),
        )
        steps = np.arange(4)[None, :] < done[:, None]
        flip = rng.random(n) < 0.06
        flip_step = rng.integers(0, 4, size=n)
        steps[flip, flip_step[flip]] = ~steps[flip, flip_step[flip]]
        step_null = rng.random((n, 4)) < np.array([0.025, 0.025, 0.025, 0.70])  # MCA mostly derived
        return {
            "country": country,
            "name_index": name_index,
            "names": names,
            "listed": listed,
            "opted": opted,
            "opt_out_date": date,
            "undated": undated,
            "steps": steps,
            "step_null": step_null,
            "mca_done": steps[:, 3],
        }

    # ------------------------------------------------------------ customers

    def customers(self, partners: dict) -> dict:
        rng, n = self.rng, self.n_customers
        shares = _weights(c.customer_share for c in self.countries)
        counts = np.floor(shares * n).astype(np.int64)
        counts[0] += n - counts.sum()
        owner = np.empty(n, dtype=np.int64)
        country = np.empty(n, dtype=np.int64)
        start = 0
        for ci, _ in enumerate(self.countries):
            local = np.flatnonzero(partners["country"] == ci)
            k = int(counts[ci])
            # A few big resellers and a long tail; every partner has a customer when there are enough.
            weights = np.minimum(rng.pareto(1.2, size=len(local)) + 1, 25.0)
            if k >= len(local):
                chosen = np.concatenate([local, rng.choice(local, size=k - len(local), p=weights / weights.sum())])
            else:
                chosen = rng.choice(local, size=k, replace=False)
            owner[start : start + k] = chosen
            country[start : start + k] = ci
            start += k
        perm = rng.permutation(n)
        owner, country = owner[perm], country[perm]
        # Cross-border customers: some partners with neighbours serve a quarter of their customers abroad.
        neighbours = [[self._index(code) for code in c.neighbours] for c in self.countries]
        border_partner = rng.random(self.n_partners) < CROSS_BORDER_SHARE
        moves = border_partner[owner] & (rng.random(n) < 0.25)
        for ci, options in enumerate(neighbours):
            if not options:
                continue
            which = np.flatnonzero(moves & (country == ci))
            country[which] = np.asarray(options)[rng.integers(0, len(options), size=len(which))]
        segments = list(S.SEGMENT_WEIGHTS)
        segment = rng.choice(len(segments), size=n, p=_weights(S.SEGMENT_WEIGHTS.values()))
        names: list[str] = []
        name_index = np.zeros(n, dtype=np.int64)
        for ci, c in enumerate(self.countries):
            for si, seg in enumerate(segments):
                members = np.flatnonzero((country == ci) & (segment == si))
                if not len(members):
                    continue
                pool = _pool(self.names, c.customer_names[seg], c, min(len(members), 3000))
                name_index[members] = len(names) + rng.integers(0, len(pool), size=len(members))
                names += pool
        roll = rng.random(n)
        mca_done = partners["mca_done"][owner]
        mca = mca_done | (roll < 0.55)
        mca_null = ~mca_done & (roll >= 0.94)
        return {
            "owner": owner,
            "country": country,
            "segment": segment,
            "segments": segments,
            "name_index": name_index,
            "names": names,
            "mca": mca,
            "mca_null": mca_null,
            "anchor": rng.choice(TERM_DAYS, size=n, p=TERM_P),
        }

    def _index(self, code: str) -> int:
        return next(i for i, c in enumerate(self.countries) if c.code == code)

    # ------------------------------------------------------------ subscriptions

    def assignment(self) -> np.ndarray:
        """The customer of every subscription, in a random order (as the sample shuffles its rows)."""
        rng = self.rng
        per_customer = 1 + np.minimum(np.floor(rng.exponential(1.8, size=self.n_customers)), 11).astype(np.int64)
        total = int(per_customer.sum())
        if total < self.rows:
            np.add.at(per_customer, rng.integers(0, self.n_customers, size=self.rows - total), 1)
        customer = np.repeat(np.arange(self.n_customers), per_customer)[: self.rows]
        return customer[rng.permutation(self.rows)]

    def offers(self, segments: list[str]) -> tuple[list[str], list[Decimal], list[bool], list[np.ndarray]]:
        """One offer list for all segments, with each segment's probabilities over it."""
        catalog: dict[str, object] = {}
        for seg in segments:
            for offer in S.SEGMENT_OFFERS.get(seg, ()) + S.GENERAL_OFFERS:
                catalog.setdefault(offer.name, offer)
        names = list(catalog)
        probs = []
        for seg in segments:
            allowed = {o.name: o.weight for o in S.SEGMENT_OFFERS.get(seg, ()) + S.GENERAL_OFFERS}
            probs.append(_weights(allowed.get(name, 0.0) for name in names))
        return names, [Decimal(catalog[n].eur) for n in names], [catalog[n].small for n in names], probs

    def subscriptions(self, partners: dict, customers: dict, chunk: int = 2_000_000):
        """Subscription columns as Arrow tables, in chunks (each drawn from its own seeded stream)."""
        customer_of = self.assignment()
        segments = customers["segments"]
        offer_names, offer_eur, offer_small, offer_p = self.offers(segments)
        fx = [Decimal(c.fx) for c in self.countries]
        # Price per seat in local cents, per (country, offer): the sample's rounding (half up to cents).
        price = np.array(
            [[int((e * f).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) * 100) for e in offer_eur] for f in fx],
            dtype=np.int64,
        )
        usage_names = list(S.USAGE_OFFERS)
        all_offers = offer_names + usage_names
        currencies = [c.currency for c in self.countries]
        for number, begin in enumerate(range(0, self.rows, chunk)):
            rng = np.random.default_rng([self.seed, 1, number])
            cust = customer_of[begin : begin + chunk]
            n = len(cust)
            country = customers["country"][cust]
            segment = customers["segment"][cust]
            partner = customers["owner"][cust]
            offer = np.empty(n, dtype=np.int64)
            for si in range(len(segments)):
                which = np.flatnonzero(segment == si)
                offer[which] = rng.choice(len(offer_names), size=len(which), p=offer_p[si])
            roll = rng.random(n)
            small = np.asarray(offer_small)[offer]
            seats = np.where(
                roll < 0.01,
                0,
                np.where(
                    small,
                    1 + np.floor(rng.exponential(3, size=n)),
                    np.where(
                        roll < 0.06,
                        rng.integers(100, 501, size=n),
                        np.where(
                            roll < 0.09,
                            rng.integers(51, 100, size=n),
                            np.minimum(50, 1 + np.floor(rng.exponential(9, size=n))),
                        ),
                    ),
                ),
            ).astype(np.int64)
            # Licences bought together share an anniversary.
            term_end = np.where(
                rng.random(n) < 0.5, customers["anchor"][cust], rng.choice(TERM_DAYS, size=n, p=TERM_P)
            ).astype(np.int32)
            nce = rng.random(n) < NCE_SHARE
            for _ in range(6):  # already migrated: their term mostly ends after the cutoff
                redraw = nce & (term_end < CUTOFF) & (rng.random(n) < 0.9)
                term_end[redraw] = rng.choice(TERM_DAYS, size=int(redraw.sum()), p=TERM_P)
            value = price[country, offer] * seats
            roll = rng.random(n)
            auto_renew, auto_null = roll < 0.75, roll >= 0.93
            roll = rng.random(n)
            billing = np.where(roll < 0.30, 0, np.where(roll < 0.95, 1, 2))  # monthly, annual, empty
            roll = rng.random(n)
            status = np.where(roll < 0.93, 0, np.where(roll < 0.97, 1, 2))
            # Usage-based (Azure): one seat, no term end, monthly, nothing to renew.
            usage = rng.random(n) < USAGE_SHARE
            nce &= ~usage
            offer = np.where(usage, len(offer_names) + rng.integers(0, len(usage_names), size=n), offer)
            seats[usage] = 1
            term_end[usage] = NO_TERM_END
            fx_cents = np.array([int(f * 100) for f in fx])[country]
            value = np.where(usage, rng.integers(2500, 400001, size=n) * fx_cents // 100, value)
            auto_null |= usage
            billing[usage] = 0
            status[usage] = 0
            # A few invalid values, as real exports have: an impossible date or a decimal seat count.
            bad = rng.random(n) < BAD_ROWS_PER_MILLION / 1_000_000
            if begin == 0 and not bad.any():
                bad[n // 2] = True  # at least one, so every size exercises the reject path
            bad_date = bad & (rng.random(n) < 0.5)
            bad_seats = bad & ~bad_date
            yield pa.table(
                {
                    "number": pa.array(np.arange(begin + 1, begin + n + 1, dtype=np.int64)),
                    "partner": pa.array(partner),
                    "customer": pa.array(cust),
                    "country": _dict_array(country, [c.code for c in self.countries]),
                    "segment": _dict_array(segment, segments),
                    "offer_name": _dict_array(offer, all_offers),
                    "seats": pa.array(seats),
                    "term_end": pa.array(term_end, type=pa.date32()),
                    "auto_renew": _nullable_bool(auto_renew, auto_null),
                    "billing": pa.array(billing.astype(np.int8)),
                    "cents": pa.array(value.astype(np.int64)),
                    "currency": _dict_array(country, currencies),
                    "nce": pa.array(nce),
                    "status": pa.array(status.astype(np.int8)),
                    "bad_date": pa.array(bad_date),
                    "bad_seats": pa.array(bad_seats),
                }
            )


def generate(rows: int, out: Path, seed: int = 2022) -> dict:
    """Write subscriptions.csv, partners.csv, customers.csv and generated.json into `out`; returns the manifest."""
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    gen = Generator(rows, seed)
    partners = gen.partners()
    customers = gen.customers(partners)
    pw = max(4, len(str(gen.n_partners)))
    cw = max(5, len(str(gen.n_customers)))
    sw = max(6, len(str(rows)))
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    con.register("partner_names", pa.table({"i": np.arange(len(partners["names"])), "name": partners["names"]}))
    con.register("customer_names", pa.table({"i": np.arange(len(customers["names"])), "name": customers["names"]}))
    codes = [c.code for c in gen.countries]
    steps = partners["steps"]
    nulls = partners["step_null"]
    partner_table = pa.table(
        {
            "i": np.arange(gen.n_partners),
            "name_i": partners["name_index"],
            "country": _dict_array(partners["country"], codes),
            "listed": partners["listed"],
            **{
                step: _nullable_bool(steps[:, k], nulls[:, k])
                for k, step in enumerate(("mpa_signed", "indirect_provider_confirmed", "mpn_id_updated", "mca"))
            },
            "opted": partners["opted"],
            "opt_out_date": pa.array(
                partners["opt_out_date"], type=pa.date32(), mask=~partners["opted"] | partners["undated"]
            ),
        }
    )
    con.register("p", partner_table)
    con.execute(
        f"""COPY (
            SELECT 'P-' || lpad(CAST(p.i + 1 AS VARCHAR), {pw}, '0') AS partner_id, n.name AS partner_name,
                   p.country, p.mpa_signed, p.indirect_provider_confirmed, p.mpn_id_updated,
                   p.mca AS mca_all_customers, p.opted AS opted_out, p.opt_out_date
            FROM p JOIN partner_names n ON n.i = p.name_i WHERE p.listed ORDER BY p.i
        ) TO '{out / "partners.csv"}' (HEADER, DELIMITER ',')"""
    )
    customer_table = pa.table(
        {
            "i": np.arange(gen.n_customers),
            "owner": customers["owner"],
            "name_i": customers["name_index"],
            "mca": _nullable_bool(customers["mca"], customers["mca_null"]),
        }
    )
    con.register("c", customer_table)
    con.execute(
        f"""COPY (
            SELECT 'C-' || lpad(CAST(c.i + 1 AS VARCHAR), {cw}, '0') AS customer_id,
                   'P-' || lpad(CAST(c.owner + 1 AS VARCHAR), {pw}, '0') AS partner_id,
                   n.name AS customer_name, c.mca AS mca_accepted
            FROM c JOIN customer_names n ON n.i = c.name_i ORDER BY c.i
        ) TO '{out / "customers.csv"}' (HEADER, DELIMITER ',')"""
    )
    # Names are looked up per partner and customer once, then joined to the subscriptions by position.
    con.execute("CREATE TABLE pn AS SELECT p.i, n.name FROM p JOIN partner_names n ON n.i = p.name_i ORDER BY p.i")
    con.execute("CREATE TABLE cn AS SELECT c.i, n.name FROM c JOIN customer_names n ON n.i = c.name_i ORDER BY c.i")
    parts = []
    bad_rows = 0
    for k, chunk in enumerate(gen.subscriptions(partners, customers)):
        bad_rows += int(np.count_nonzero(chunk["bad_date"].to_numpy(zero_copy_only=False)))
        bad_rows += int(np.count_nonzero(chunk["bad_seats"].to_numpy(zero_copy_only=False)))
        con.register("s", chunk)
        part = out / f"subscriptions.part{k:03d}.csv"
        con.execute(
            f"""COPY (
                SELECT 'SUB-' || lpad(CAST(s.number AS VARCHAR), {sw}, '0') AS subscription_id,
                       'P-' || lpad(CAST(s.partner + 1 AS VARCHAR), {pw}, '0') AS partner_id,
                       pn.name AS partner_name,
                       'C-' || lpad(CAST(s.customer + 1 AS VARCHAR), {cw}, '0') AS customer_id,
                       cn.name AS customer_name,
                       s.country, s.segment, s.offer_name,
                       CASE WHEN s.bad_seats THEN '1,5' ELSE CAST(s.seats AS VARCHAR) END AS seats,
                       CASE WHEN s.bad_date THEN '2022-02-30' ELSE strftime(s.term_end, '%Y-%m-%d') END
                           AS term_end_date,
                       s.auto_renew,
                       CASE s.billing WHEN 0 THEN 'monthly' WHEN 1 THEN 'annual' END AS billing_term,
                       printf('%d.%02d', s.cents // 100, s.cents % 100) AS monthly_value,
                       s.currency,
                       CASE WHEN s.nce THEN 'nce' ELSE 'legacy' END AS program,
                       CASE s.status WHEN 0 THEN 'active' WHEN 1 THEN 'suspended' ELSE 'deleted' END AS status
                FROM s JOIN pn ON pn.i = s.partner JOIN cn ON cn.i = s.customer
                ORDER BY s.number
            ) TO '{part}' (HEADER {"true" if k == 0 else "false"}, DELIMITER ',')"""
        )
        con.unregister("s")
        parts.append(part)
    with (out / "subscriptions.csv").open("wb") as target:
        for part in parts:
            with part.open("rb") as source:
                while block := source.read(1 << 24):
                    target.write(block)
            part.unlink()
    con.close()
    seconds = time.perf_counter() - started
    manifest = {
        "format": FORMAT_VERSION,
        "generator": _generator_digest(),
        "seed": seed,
        "rows": rows,
        "partners": gen.n_partners,
        "partners_listed": int(partners["listed"].sum()),
        "customers": gen.n_customers,
        "bad_rows": bad_rows,
        "seconds": round(seconds, 2),
        "bytes": {name: (out / name).stat().st_size for name in FILES},
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    (out / "generated.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def _generator_digest() -> str:
    digest = hashlib.blake2b(digest_size=8)
    digest.update(Path(__file__).read_bytes())
    digest.update((ROOT / "data" / "sample" / "generate.py").read_bytes())
    return digest.hexdigest()


def cached(rows: int, out: Path, seed: int) -> dict | None:
    """The manifest of data already generated in `out` with these parameters and this generator, else None."""
    try:
        manifest = json.loads((out / "generated.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    same = (
        manifest.get("format") == FORMAT_VERSION
        and manifest.get("generator") == _generator_digest()
        and manifest.get("seed") == seed
        and manifest.get("rows") == rows
        and all((out / name).is_file() and (out / name).stat().st_size == manifest["bytes"][name] for name in FILES)
    )
    return manifest if same else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="10k", help="subscriptions: 10k, 1m, 10m or a number")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=2022)
    args = parser.parse_args()
    manifest = generate(parse_rows(args.rows), args.out, args.seed)
    print(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main()
