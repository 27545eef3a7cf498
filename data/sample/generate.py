"""Build the NCE sample data set; regenerate: `python data/sample/generate.py`."""

from __future__ import annotations

import argparse
import csv
import random
import re
import tomllib
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import xlsxwriter

# The programme rules the data is shaped around (see config/programme.toml).
CUTOFF = date(2022, 7, 11)
OPT_OUT_DEADLINE = date(2022, 6, 30)
NO_TERM_END = date(9999, 12, 31)  # usage-based offers have no commitment term
FIRST_TERM_END = date(2022, 1, 1)
LAST_TERM_END = date(2023, 7, 31)

SUBSCRIPTION_COLUMNS = (
    "subscription_id",
    "partner_id",
    "partner_name",
    "customer_id",
    "customer_name",
    "country",
    "segment",
    "offer_name",
    "seats",
    "term_end_date",
    "auto_renew",
    "billing_term",
    "monthly_value",
    "currency",
    "program",
    "status",
)
PARTNER_COLUMNS = (
    "partner_id",
    "partner_name",
    "country",
    "mpa_signed",
    "indirect_provider_confirmed",
    "mpn_id_updated",
    "mca_all_customers",
    "opted_out",
    "opt_out_date",
    "contact_email",
    "language",
)
CUSTOMER_COLUMNS = ("customer_id", "partner_id", "customer_name", "mca_accepted")
READINESS_STEPS = PARTNER_COLUMNS[3:7]

TOTAL_CUSTOMERS = 2000
UNLISTED_PARTNERS = 3  # partners seen in subscriptions but missing from partners.csv
CROSS_BORDER_PARTNERS = 7
OPT_OUT_SHARE = 0.10
USAGE_SHARE = 0.025  # per customer; gives roughly 1% usage rows overall
NCE_SHARE = 0.04


@dataclass(frozen=True)
class Country:
    """Everything needed to make plausible names and prices for one market."""

    code: str
    currency: str
    fx: str  # local list price per EUR list price
    partners: int
    customer_share: float
    neighbours: tuple[str, ...]
    surnames: tuple[str, ...]
    cities: tuple[str, ...]
    brands: tuple[str, ...]  # regional words resellers like to put in their name
    trades: tuple[str, ...]
    partner_names: tuple[str, ...]
    # Templates per segment; fields: {s}, {s2} surnames, {c} city, {t} trade,
    # {n} a small number, {b} brand (partners only).
    customer_names: dict[str, tuple[str, ...]]


COUNTRY_FILE = Path(__file__).resolve().parent / "countries.toml"
_LISTS = ("neighbours", "surnames", "cities", "brands", "trades", "partner_names")


def load_countries(path: Path = COUNTRY_FILE) -> tuple[Country, ...]:
    """The markets of the sample (data/sample/countries.toml), in the order the generator draws them."""
    with path.open("rb") as handle:
        raw = tomllib.load(handle)["country"]
    return tuple(
        Country(
            **{
                **entry,
                **{key: tuple(entry[key]) for key in _LISTS},
                "customer_names": {segment: tuple(names) for segment, names in entry["customer_names"].items()},
            }
        )
        for entry in raw
    )


COUNTRIES = load_countries()
COUNTRY_BY_CODE = {country.code: country for country in COUNTRIES}
SEGMENT_WEIGHTS = {
    "commercial": 85,
    "education": 7,
    "government": 4,
    "nonprofit": 4,
}


@dataclass(frozen=True)
class Offer:
    name: str
    eur: str  # monthly list price per seat in EUR, as text so Decimal is exact
    weight: float
    small: bool = False  # specialist offers are bought for a handful of users


GENERAL_OFFERS = (
    Offer("Microsoft 365 Business Basic", "5.60", 14),
    Offer("Microsoft 365 Business Standard", "11.70", 16),
    Offer("Microsoft 365 Business Premium", "20.60", 14),
    Offer("Microsoft 365 Apps for business", "9.80", 6),
    Offer("Microsoft 365 Apps for enterprise", "11.70", 4),
    Offer("Microsoft 365 E3", "33.70", 6),
    Offer("Microsoft 365 E5", "53.70", 2),
    Offer("Microsoft 365 F3", "7.50", 3),
    Offer("Office 365 E1", "9.40", 5),
    Offer("Office 365 E3", "21.90", 8),
    Offer("Office 365 E5", "36.50", 2),
    Offer("Exchange Online (Plan 1)", "3.70", 8),
    Offer("Exchange Online (Plan 2)", "7.50", 2),
    Offer("Exchange Online Kiosk", "1.90", 1),
    Offer("Microsoft Teams Phone Standard", "7.50", 2),
    Offer("Microsoft Teams Rooms Standard", "14.10", 1, small=True),
    Offer("Microsoft 365 Audio Conferencing", "3.70", 1),
    Offer("Visio Plan 1", "4.70", 1, small=True),
    Offer("Visio Plan 2", "14.10", 2, small=True),
    Offer("Project Plan 1", "9.40", 1, small=True),
    Offer("Project Plan 3", "28.10", 2, small=True),
    Offer("Project Plan 5", "51.60", 1, small=True),
    Offer("Power BI Pro", "9.40", 4),
    Offer("Power BI Premium Per User", "18.70", 1, small=True),
    Offer("Dynamics 365 Business Central Essentials", "65.60", 2, small=True),
    Offer("Dynamics 365 Business Central Premium", "93.70", 1, small=True),
    Offer("Dynamics 365 Sales Professional", "60.90", 1, small=True),
    Offer("Dynamics 365 Customer Service Enterprise", "88.50", 0.5, small=True),
    Offer("Dynamics 365 Sales Enterprise", "88.50", 0.5, small=True),
)
# Academic and nonprofit customers mostly buy their discounted variants.
SEGMENT_OFFERS = {
    "education": (
        Offer("Office 365 A3 for faculty", "2.80", 30),
        Offer("Office 365 A3 for students", "1.60", 20),
        Offer("Microsoft 365 A3 for faculty", "7.20", 25),
        Offer("Microsoft 365 A3 for students", "2.90", 20),
        Offer("Microsoft 365 A5 for faculty", "10.90", 8),
    ),
    "nonprofit": (
        Offer("Microsoft 365 Business Premium (Nonprofit Staff Pricing)", "4.70", 40),
        Offer("Microsoft 365 Business Standard (Nonprofit Staff Pricing)", "2.80", 25),
        Offer("Office 365 E3 (Nonprofit Staff Pricing)", "6.80", 15),
        Offer("Microsoft 365 E3 (Nonprofit Staff Pricing)", "8.60", 8),
    ),
}
USAGE_OFFERS = ("Azure plan (legacy)", "Microsoft Azure (MS-AZR-0145P)")


@dataclass
class Partner:
    country: str
    name: str
    steps: dict[str, bool | None] = field(default_factory=dict)
    mca_done: bool = False  # truth the customers' MCA flags are generated from
    opted_out: bool = False
    opt_out_date: date | None = None
    listed: bool = True  # False: only known from subscriptions
    partner_id: str = ""


@dataclass
class Customer:
    partner: Partner
    country: str
    segment: str
    name: str = ""
    mca_accepted: bool | None = None
    customer_id: str = ""


def pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def fill(rng: random.Random, template: str, country: Country) -> str:
    surname, surname2 = rng.sample(country.surnames, 2)
    return template.format(
        s=surname,
        s2=surname2,
        c=rng.choice(country.cities),
        t=rng.choice(country.trades),
        b=rng.choice(country.brands),
        n=rng.randint(1, 40),
    )


def unique_name(rng: random.Random, templates: tuple[str, ...], country: Country, taken: set[str]) -> str:
    for _ in range(500):
        name = fill(rng, rng.choice(templates), country)
        if name not in taken:
            taken.add(name)
            return name
    raise RuntimeError(f"name pool for {country.code} is too small")


def readiness(rng: random.Random, opted_out: bool) -> tuple[dict[str, bool | None], bool]:
    """Readiness flags and whether all customers accepted the MCA."""
    # Partners who opted out are mostly the ones who were not ready.
    weights = (35, 30, 20, 10, 5) if opted_out else (10, 14, 18, 20, 38)
    done = rng.choices(range(5), weights=weights)[0]
    flags = [index < done for index in range(4)]
    # Steps are usually done in order, but a few partners skip ahead.
    if rng.random() < 0.06:
        index = rng.randrange(4)
        flags[index] = not flags[index]
    mca_done = flags[3]
    steps: dict[str, bool | None] = dict(zip(READINESS_STEPS, flags, strict=True))
    for step in READINESS_STEPS[:3]:
        if rng.random() < 0.025:
            steps[step] = None  # the distributor has no data for this step
    # Most partners leave the MCA column empty: it is derived from customers.
    if rng.random() < 0.70:
        steps["mca_all_customers"] = None
    return steps, mca_done


def build_partners(rng: random.Random) -> list[Partner]:
    partners: list[Partner] = []
    taken: set[str] = set()
    for country in COUNTRIES:
        for _ in range(country.partners):
            name = unique_name(rng, country.partner_names, country, taken)
            partners.append(Partner(country=country.code, name=name))
    # Shuffle before numbering so an id says nothing about the country.
    rng.shuffle(partners)
    for number, partner in enumerate(partners, start=1):
        partner.partner_id = f"P-{number:04d}"
    for partner in rng.sample(partners, UNLISTED_PARTNERS):
        partner.listed = False

    listed = [partner for partner in partners if partner.listed]
    opted = rng.sample(listed, round(OPT_OUT_SHARE * len(listed)))
    for partner in opted:
        partner.opted_out = True
    # Deadline edge cases first, then ordinary on-time dates for the rest.
    special = [date(2022, 6, 30)] * 4 + [
        date(2022, 7, 1),
        date(2022, 7, 4),
        date(2022, 7, 8),
        None,  # opted out, but the form's date was never recorded
        None,
    ]
    for partner, when in zip(opted, special, strict=False):
        partner.opt_out_date = when
    for partner in opted[len(special) :]:
        partner.opt_out_date = date(2022, 3, 1) + timedelta(days=rng.randrange(121))
    for partner in partners:
        partner.steps, partner.mca_done = readiness(rng, partner.opted_out)
    return partners


def build_customers(rng: random.Random, partners: list[Partner]) -> list[Customer]:
    customers: list[Customer] = []
    for country in COUNTRIES:
        local = [partner for partner in partners if partner.country == country.code]
        count = round(TOTAL_CUSTOMERS * country.customer_share)
        # A few big resellers and a long tail of small ones; capped so no
        # single partner dominates a country.
        weights = [min(rng.paretovariate(1.2), 25.0) for _ in local]
        owners = local + rng.choices(local, weights=weights, k=count - len(local))
        for partner in owners:
            segment = pick(rng, SEGMENT_WEIGHTS)
            customers.append(Customer(partner, country.code, segment))

    # Some resellers also serve customers across the border.
    sizes = Counter(customer.partner.partner_id for customer in customers)
    candidates = [
        partner
        for partner in partners
        if COUNTRY_BY_CODE[partner.country].neighbours and sizes[partner.partner_id] >= 5
    ]
    for partner in rng.sample(candidates, CROSS_BORDER_PARTNERS):
        neighbours = COUNTRY_BY_CODE[partner.country].neighbours
        own = [customer for customer in customers if customer.partner is partner]
        for customer in rng.sample(own, max(1, len(own) // 4)):
            customer.country = rng.choice(neighbours)

    taken: set[str] = set()
    for customer in customers:
        country = COUNTRY_BY_CODE[customer.country]
        templates = country.customer_names[customer.segment]
        customer.name = unique_name(rng, templates, country, taken)
        customer.mca_accepted = mca_flag(rng, customer.partner)
    # Partners short of the last step must have at least one customer without MCA.
    by_partner: dict[str, list[Customer]] = {}
    for customer in customers:
        by_partner.setdefault(customer.partner.partner_id, []).append(customer)
    for own in by_partner.values():
        if not own[0].partner.mca_done and all(c.mca_accepted for c in own):
            rng.choice(own).mca_accepted = False

    rng.shuffle(customers)
    for number, customer in enumerate(customers, start=1):
        customer.customer_id = f"C-{number:05d}"
    return customers


def mca_flag(rng: random.Random, partner: Partner) -> bool | None:
    if partner.mca_done:
        return True
    roll = rng.random()
    if roll < 0.55:
        return True
    return False if roll < 0.94 else None


def term_end_calendar() -> tuple[list[date], list[float]]:
    """Every possible term end day with cumulative weights, 2022 denser than 2023."""
    days: list[date] = []
    cumulative: list[float] = []
    total = 0.0
    day = FIRST_TERM_END
    while day <= LAST_TERM_END:
        total += 3.0 if day.year == 2022 else 1.3
        days.append(day)
        cumulative.append(total)
        day += timedelta(days=1)
    return days, cumulative


TERM_END_DAYS, TERM_END_WEIGHTS = term_end_calendar()


def draw_term_end(rng: random.Random) -> date:
    return rng.choices(TERM_END_DAYS, cum_weights=TERM_END_WEIGHTS)[0]


def draw_seats(rng: random.Random, offer: Offer) -> int:
    roll = rng.random()
    if roll < 0.01:
        return 0  # licences all removed, subscription not cancelled yet
    if offer.small:
        return 1 + int(rng.expovariate(1 / 3))
    if roll < 0.06:
        return rng.randint(100, 500)
    if roll < 0.09:
        return rng.randint(51, 99)
    return min(50, 1 + int(rng.expovariate(1 / 9)))


def draw_bool(rng: random.Random) -> bool | None:
    roll = rng.random()
    if roll < 0.75:
        return True
    return False if roll < 0.93 else None


def local_price(offer_eur: str, country: Country) -> Decimal:
    """Per-seat list price in the country's currency, rounded like a price list."""
    price = Decimal(offer_eur) * Decimal(country.fx)
    return price.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def choose_offers(rng: random.Random, segment: str, count: int) -> list[Offer]:
    catalog = SEGMENT_OFFERS.get(segment, ()) + GENERAL_OFFERS
    weights = [offer.weight for offer in catalog]
    chosen: dict[str, Offer] = {}
    # A customer rarely holds the same offer twice, so draw without repeats.
    while len(chosen) < count:
        offer = rng.choices(catalog, weights=weights)[0]
        chosen.setdefault(offer.name, offer)
    return list(chosen.values())


def subscription(
    rng: random.Random,
    customer: Customer,
    offer_name: str,
    seats: int,
    value: Decimal,
    term_end: date,
) -> dict:
    partner = customer.partner
    roll = rng.random()
    return {
        "partner_id": partner.partner_id,
        "partner_name": partner.name,
        "customer_id": customer.customer_id,
        "customer_name": customer.name,
        "country": customer.country,
        "segment": customer.segment,
        "offer_name": offer_name,
        "seats": seats,
        "term_end_date": term_end,
        "auto_renew": draw_bool(rng),
        "billing_term": "monthly" if roll < 0.30 else "annual" if roll < 0.95 else None,
        "monthly_value": value,
        "currency": COUNTRY_BY_CODE[customer.country].currency,
        "program": "legacy",
        "status": pick(rng, {"active": 93, "suspended": 4, "deleted": 3}),
    }


def build_subscriptions(rng: random.Random, customers: list[Customer]) -> list[dict]:
    rows: list[dict] = []
    for customer in sorted(customers, key=lambda c: c.customer_id):
        country = COUNTRY_BY_CODE[customer.country]
        # Licences bought together share an anniversary.
        anchor = draw_term_end(rng)
        count = 1 + min(int(rng.expovariate(1 / 1.8)), 11)
        for offer in choose_offers(rng, customer.segment, count):
            seats = draw_seats(rng, offer)
            value = local_price(offer.eur, country) * seats
            term_end = anchor if rng.random() < 0.5 else draw_term_end(rng)
            row = subscription(rng, customer, offer.name, seats, value, term_end)
            if rng.random() < NCE_SHARE:
                row["program"] = "nce"
                # Already-migrated subscriptions started recently, so their
                # term mostly ends after the cutoff.
                while row["term_end_date"] < CUTOFF and rng.random() < 0.9:
                    row["term_end_date"] = draw_term_end(rng)
            rows.append(row)
        if rng.random() < USAGE_SHARE:
            usage = Decimal(rng.randint(2500, 400000)) / 100 * Decimal(country.fx)
            value = usage.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            offer_name = rng.choice(USAGE_OFFERS)
            row = subscription(rng, customer, offer_name, 1, value, NO_TERM_END)
            # Pay-as-you-go: billed monthly and nothing to renew.
            row.update(billing_term="monthly", auto_renew=None, status="active")
            rows.append(row)
    return rows


def on_time(partner: Partner) -> bool:
    return partner.opt_out_date is not None and partner.opt_out_date <= OPT_OUT_DEADLINE


def keep_before_cutoff(rng: random.Random, rows: list[dict], partner_ids: set[str]) -> None:
    """Give these partners' subscriptions term ends before the cutoff only."""
    for row in rows:
        if row["partner_id"] in partner_ids:
            while row["term_end_date"] >= CUTOFF:
                row["term_end_date"] = draw_term_end(rng)
            if row["offer_name"] in USAGE_OFFERS:
                row["offer_name"] = "Exchange Online (Plan 1)"
            row["program"] = "legacy"


def pin_edge_days(rng: random.Random, rows: list[dict], partners: list[Partner], excluded: set[str]) -> None:
    """Put clean legacy commercial rows exactly on the days the rules turn on."""
    by_id = {partner.partner_id: partner for partner in partners}
    pool = [
        row
        for row in rows
        if row["segment"] == "commercial"
        and row["program"] == "legacy"
        and row["status"] == "active"
        and row["term_end_date"] != NO_TERM_END
        and row["partner_id"] not in excluded
    ]
    rng.shuffle(pool)
    opted = [row for row in pool if by_id[row["partner_id"]].opted_out]
    # An undated opt-out counts as late here: it cannot be shown to be on time.
    late = [row for row in opted if not on_time(by_id[row["partner_id"]])]
    opted = [row for row in opted if on_time(by_id[row["partner_id"]])]
    regular = [row for row in pool if not by_id[row["partner_id"]].opted_out]
    # Each day on either side of the cutoff gets every auto-renew state and
    # partners with an on-time opt-out, a late (or undated) one and none.
    renew_cycle = (True, False, None, True, True, False, True, True, None, True)
    for day in (date(2022, 7, 10), CUTOFF):
        picked = [opted.pop(), late.pop()] + [regular.pop() for _ in range(8)]
        for row, renew in zip(picked, renew_cycle, strict=True):
            row.update(term_end_date=day, auto_renew=renew)
    for day in (date(2022, 1, 31), date(2022, 2, 28)):
        for _ in range(6):
            regular.pop().update(term_end_date=day, billing_term="monthly")
    for _ in range(8):
        regular.pop()["term_end_date"] = OPT_OUT_DEADLINE


GERMAN_SPEAKING = ("DE", "AT", "CH", "LI")
MISSING_EMAIL_SHARE = 0.04
INVALID_EMAIL_SHARE = 0.01
EXPLICIT_LANGUAGE_SHARE = 0.12  # of these, a third prefer the other language


def slug(name: str) -> str:
    """A partner name as a host name label: ASCII letters and digits joined by hyphens."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return "-".join(re.findall(r"[a-z0-9]+", ascii_name))[:60].strip("-")


def contact(rng: random.Random, partner: Partner) -> tuple[str | None, str | None]:
    """A contact address under the reserved .example top-level domain (RFC 2606: never a real domain), missing or
    unusable for a few partners, and an explicit language for some (the rest follow their country)."""
    german = partner.country in GERMAN_SPEAKING
    roll = rng.random()
    local = rng.choice(("kontakt", "vertrieb", "microsoft") if german else ("contact", "sales", "licensing"))
    if roll < MISSING_EMAIL_SHARE:
        email = None
    elif roll < MISSING_EMAIL_SHARE + INVALID_EMAIL_SHARE:
        email = f"{local} at {slug(partner.name)}.example"  # as typed into a CRM field: not an address
    else:
        email = f"{local}@{slug(partner.name)}.example"
    language = None
    if rng.random() < EXPLICIT_LANGUAGE_SHARE:
        usual = "de" if german else "en"
        language = usual if rng.random() < 2 / 3 else ("en" if german else "de")
    return email, language


def build(seed: int) -> tuple[list[dict], list[dict], list[dict]]:
    rng = random.Random(seed)
    partners = build_partners(rng)
    customers = build_customers(rng, partners)
    rows = build_subscriptions(rng, customers)

    # Two opted-out partners whose whole book ends before the cutoff, so the
    # opt-out changes nothing for them.
    ordinary = [p for p in partners if p.opt_out_date and p.opt_out_date < OPT_OUT_DEADLINE]
    idle = {p.partner_id for p in rng.sample(ordinary, 2)}
    keep_before_cutoff(rng, rows, idle)
    pin_edge_days(rng, rows, partners, idle)

    rng.shuffle(rows)
    for number, row in enumerate(rows, start=1):
        row["subscription_id"] = f"SUB-{number:06d}"
    subscriptions = sorted(rows, key=lambda row: row["subscription_id"])

    # Contacts come from a generator of their own, so that adding them changed no other value of the sample.
    contacts = random.Random(f"contacts-{seed}")
    partner_rows = []
    for p in sorted(partners, key=lambda p: p.partner_id):
        if not p.listed:
            continue
        email, language = contact(contacts, p)
        partner_rows.append(
            {
                "partner_id": p.partner_id,
                "partner_name": p.name,
                "country": p.country,
                **p.steps,
                "opted_out": p.opted_out,
                "opt_out_date": p.opt_out_date,
                "contact_email": email,
                "language": language,
            }
        )
    customer_rows = [
        {
            "customer_id": c.customer_id,
            "partner_id": c.partner.partner_id,
            "customer_name": c.name,
            "mca_accepted": c.mca_accepted,
        }
        for c in sorted(customers, key=lambda c: c.customer_id)
    ]
    return subscriptions, partner_rows, customer_rows


def csv_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_csv(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    # "\n" line ends keep the files diff-friendly in git on every platform.
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([csv_text(row[column]) for column in columns])


def write_xlsx(path: Path, tables: list[tuple[str, tuple[str, ...], list[dict]]]) -> None:
    workbook = xlsxwriter.Workbook(str(path))
    # A fixed creation time keeps the workbook byte-for-byte reproducible.
    workbook.set_properties({"created": datetime_of(CUTOFF), "author": "generate.py"})
    bold = workbook.add_format({"bold": True})
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    money = workbook.add_format({"num_format": "0.00"})
    for name, columns, rows in tables:
        sheet = workbook.add_worksheet(name)
        sheet.write_row(0, 0, columns, bold)
        for r, row in enumerate(rows, start=1):
            for c, column in enumerate(columns):
                value = row[column]
                # Typed writes: bool is an int subclass, so test it first.
                if value is None:
                    continue
                if isinstance(value, bool):
                    sheet.write_boolean(r, c, value)
                elif isinstance(value, date):
                    sheet.write_datetime(r, c, datetime_of(value), day)
                elif isinstance(value, Decimal):
                    sheet.write_number(r, c, float(value), money)
                elif isinstance(value, int):
                    sheet.write_number(r, c, value)
                else:
                    sheet.write_string(r, c, value)
        for c, column in enumerate(columns):
            width = max([len(column)] + [len(csv_text(row[column])) for row in rows])
            sheet.set_column(c, c, min(width, 50) + 2)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, len(rows), len(columns) - 1)
    workbook.close()


def datetime_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--seed", type=int, default=2022)
    args = parser.parse_args()

    subscriptions, partners, customers = build(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    tables = [
        ("subscriptions", SUBSCRIPTION_COLUMNS, subscriptions),
        ("partners", PARTNER_COLUMNS, partners),
        ("customers", CUSTOMER_COLUMNS, customers),
    ]
    for name, columns, rows in tables:
        write_csv(args.out / f"{name}.csv", columns, rows)
    write_xlsx(args.out / "nce_sample.xlsx", tables)
    for name, _, rows in tables:
        print(f"{name}: {len(rows)} rows")


if __name__ == "__main__":
    main()
