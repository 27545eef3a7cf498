"""Canonical tables and columns, the header synonyms that map onto them, and value vocabularies."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from babel import Locale

# Column kinds decide how a raw text value is parsed and validated.
ID, TEXT, COUNTRY, SEGMENT, INT, DATE, BOOL, BILLING, DECIMAL, PROGRAM, STATUS = (
    "id",
    "text",
    "country",
    "segment",
    "int",
    "date",
    "bool",
    "billing",
    "decimal",
    "program",
    "status",
)


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = False


TABLES: dict[str, tuple[Column, ...]] = {
    "subscriptions": (
        Column("subscription_id", ID, True),
        Column("partner_id", ID, True),
        Column("partner_name", TEXT),
        Column("customer_id", ID, True),
        Column("customer_name", TEXT),
        Column("country", COUNTRY, True),
        Column("segment", SEGMENT),
        Column("offer_name", TEXT),
        Column("seats", INT, True),
        Column("term_end_date", DATE, True),
        Column("auto_renew", BOOL),
        Column("billing_term", BILLING),
        Column("monthly_value", DECIMAL),
        Column("currency", TEXT),
        Column("program", PROGRAM),
        Column("status", STATUS),
    ),
    "partners": (
        Column("partner_id", ID, True),
        Column("partner_name", TEXT),
        Column("country", COUNTRY),
        Column("mpa_signed", BOOL),
        Column("indirect_provider_confirmed", BOOL),
        Column("mpn_id_updated", BOOL),
        Column("mca_all_customers", BOOL),
        Column("opted_out", BOOL),
        Column("opt_out_date", DATE),
    ),
    "customers": (
        Column("customer_id", ID, True),
        Column("partner_id", ID),
        Column("customer_name", TEXT),
        Column("mca_accepted", BOOL),
    ),
}

# Columns only a partners table (or a flat file's partner part) carries.
PARTNER_ONLY = (
    "mpa_signed",
    "indirect_provider_confirmed",
    "mpn_id_updated",
    "mca_all_customers",
    "opted_out",
    "opt_out_date",
)
CUSTOMER_ONLY = ("mca_accepted",)


def header_key(name: str) -> str:
    """Fold a header for matching: case, accents kept for ä/ö/ü, punctuation and spaces dropped."""
    text = unicodedata.normalize("NFC", str(name)).casefold().replace("ß", "ss")
    return re.sub(r"[^0-9a-zäöü]", "", text)


# Canonical name -> header spellings (English, German, Microsoft Partner Center / distributor exports).
# The order matters for partner_id: reseller columns come first (see RESELLER_KEYS).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "subscription_id": (
        "subscription_id",
        "SubscriptionId",
        "Subscription ID",
        "Subscription",
        "Abonnement-ID",
        "Abonnement ID",
        "Abonnement",
        "Abo-ID",
        "Abonnementnummer",
        "Subscription Number",
    ),
    "partner_id": (
        "partner_id",
        "Tier2MpnId",
        "Tier 2 MPN ID",
        "ResellerMpnId",
        "Reseller MPN ID",
        "Reseller ID",
        "ResellerId",
        "Reseller-ID",
        "Händler-ID",
        "Partner-ID",
        "PartnerId",
        "Partner ID",
        "MpnId",
        "MPN ID",
        "Partnernummer",
    ),
    "partner_name": (
        "partner_name",
        "ResellerName",
        "Reseller Name",
        "Reseller",
        "Tier2Name",
        "Tier 2 Name",
        "Reseller Company Name",
        "Partner Name",
        "PartnerName",
        "Partner",
        "Partnername",
        "Händler",
        "Händlername",
        "Wiederverkäufer",
    ),
    "customer_id": (
        "customer_id",
        "CustomerId",
        "Customer ID",
        "CustomerTenantId",
        "Customer Tenant ID",
        "TenantId",
        "Tenant ID",
        "Kunden-ID",
        "Kundennummer",
        "Kunden ID",
        "End Customer ID",
    ),
    "customer_name": (
        "customer_name",
        "CustomerName",
        "Customer Name",
        "Customer Company Name",
        "CustomerCompanyName",
        "Customer",
        "Kundenname",
        "Kunde",
        "Endkunde",
        "Firma",
    ),
    "country": (
        "country",
        "Country",
        "Country/Region",
        "CountryRegion",
        "CustomerCountry",
        "Customer Country",
        "Country Code",
        "CountryCode",
        "Land",
        "Kundenland",
        "Ländercode",
        "Landeskennzeichen",
    ),
    "segment": (
        "segment",
        "Segment",
        "Customer Segment",
        "CustomerSegment",
        "Market Segment",
        "Kundensegment",
        "Sektor",
        "Kundentyp",
        "Customer Type",
    ),
    "offer_name": (
        "offer_name",
        "OfferName",
        "Offer Name",
        "Offer",
        "Product",
        "Product Name",
        "ProductName",
        "SKU Name",
        "SkuName",
        "Angebot",
        "Angebotsname",
        "Produkt",
        "Produktname",
    ),
    "seats": (
        "seats",
        "Quantity",
        "Menge",
        "Lizenzen",
        "Licenses",
        "Licences",
        "Seat Count",
        "Seats",
        "Anzahl",
        "Anzahl Lizenzen",
        "Lizenzanzahl",
        "Arbeitsplätze",
        "Plätze",
        "Units",
    ),
    "term_end_date": (
        "term_end_date",
        "CommitmentEndDate",
        "Commitment End Date",
        "SubscriptionEndDate",
        "Subscription End Date",
        "EndDate",
        "End Date",
        "Term End Date",
        "TermEndDate",
        "Enddatum",
        "Laufzeitende",
        "Ablaufdatum",
        "Vertragsende",
        "Expiration Date",
        "ExpirationDate",
    ),
    "auto_renew": (
        "auto_renew",
        "AutoRenewEnabled",
        "Auto Renew Enabled",
        "AutoRenew",
        "Auto Renew",
        "Auto-Renew",
        "Auto Renewal",
        "Automatische Verlängerung",
        "Autoverlängerung",
        "Auto-Verlängerung",
        "Verlängerung",
    ),
    "billing_term": (
        "billing_term",
        "BillingCycle",
        "Billing Cycle",
        "BillingFrequency",
        "Billing Frequency",
        "Billing Term",
        "BillingTerm",
        "TermDuration",
        "Term Duration",
        "Abrechnungszyklus",
        "Abrechnungsintervall",
        "Abrechnungszeitraum",
        "Laufzeit",
    ),
    "monthly_value": (
        "monthly_value",
        "Monthly Value",
        "MonthlyValue",
        "MRR",
        "Monthly Amount",
        "Monatswert",
        "Monatlicher Wert",
        "Monatsbetrag",
        "Wert pro Monat",
    ),
    "currency": ("currency", "Currency", "CurrencyCode", "Currency Code", "Währung"),
    "program": (
        "program",
        "Program",
        "Programme",
        "Programm",
        "Commerce Type",
        "CommerceType",
        "Platform",
        "Plattform",
    ),
    "status": ("status", "Status", "Subscription Status", "SubscriptionStatus", "Abonnementstatus", "Zustand"),
    "mpa_signed": (
        "mpa_signed",
        "MPA Signed",
        "MpaSigned",
        "MPA",
        "Microsoft Partner Agreement",
        "MPA unterzeichnet",
        "MPA unterschrieben",
    ),
    "indirect_provider_confirmed": (
        "indirect_provider_confirmed",
        "Indirect Provider Confirmed",
        "IndirectProviderConfirmed",
        "Indirect Provider",
        "Indirekter Anbieter",
        "Indirekter Anbieter bestätigt",
        "Indirect Provider Authorized",
    ),
    "mpn_id_updated": (
        "mpn_id_updated",
        "MPN ID Updated",
        "MpnIdUpdated",
        "Local MPN ID Updated",
        "MPN-ID aktualisiert",
        "Lokale MPN-ID aktualisiert",
    ),
    "mca_all_customers": (
        "mca_all_customers",
        "MCA All Customers",
        "McaAllCustomers",
        "MCA alle Kunden",
        "Alle Kunden MCA",
    ),
    "opted_out": (
        "opted_out",
        "Opted Out",
        "OptedOut",
        "Opt-out",
        "Opt Out",
        "OptOut",
        "Opt-out erhalten",
        "Opt-out eingereicht",
    ),
    "opt_out_date": (
        "opt_out_date",
        "Opt-out Date",
        "OptOutDate",
        "Opt Out Date",
        "Opt-out-Datum",
        "Opt-out Datum",
        "Opt-out received on",
    ),
    "mca_accepted": (
        "mca_accepted",
        "MCA Accepted",
        "McaAccepted",
        "MCA",
        "Microsoft Customer Agreement",
        "MCA akzeptiert",
        "MCA angenommen",
    ),
}

# Header keys that name the reseller in a distributor's export; they win over PartnerId/MpnId,
# which in such an export identify the distributor itself.
RESELLER_KEYS = frozenset(header_key(s) for s in SYNONYMS["partner_id"][1:11])
WEAK_PARTNER_KEYS = frozenset(header_key(s) for s in ("PartnerId", "Partner ID", "Partner-ID", "MpnId", "MPN ID"))


@cache
def synonym_index() -> dict[str, str]:
    """Folded header -> canonical column name."""
    index: dict[str, str] = {}
    for canonical, spellings in SYNONYMS.items():
        for spelling in spellings:
            index.setdefault(header_key(spelling), canonical)
    return index


# Value vocabularies: folded text -> canonical value.
BOOLEANS = {
    **dict.fromkeys(("true", "t", "yes", "y", "ja", "j", "1", "wahr", "x", "done", "erledigt", "ok"), "true"),
    **dict.fromkeys(("false", "f", "no", "n", "nein", "0", "falsch", "-", "open", "offen"), "false"),
}
SEGMENTS = {
    **dict.fromkeys(
        (
            "commercial",
            "corporate",
            "gewerblich",
            "business",
            "enterprise",
            "kommerziell",
            "com",
            "unternehmen",
            "firmenkunde",
        ),
        "commercial",
    ),
    **dict.fromkeys(
        ("education", "academic", "edu", "bildung", "schule", "school", "akademisch", "forschung"), "education"
    ),
    **dict.fromkeys(
        (
            "government",
            "gov",
            "behörde",
            "behoerde",
            "öffentlich",
            "oeffentlich",
            "public sector",
            "öffentliche verwaltung",
            "regierung",
        ),
        "government",
    ),
    **dict.fromkeys(
        ("nonprofit", "non-profit", "non profit", "npo", "charity", "gemeinnützig", "gemeinnuetzig", "charitable"),
        "nonprofit",
    ),
}
BILLING_TERMS = {
    **dict.fromkeys(("monthly", "month", "monatlich", "p1m", "1 month", "1 monat", "m"), "monthly"),
    **dict.fromkeys(
        (
            "annual",
            "annually",
            "yearly",
            "year",
            "jährlich",
            "jaehrlich",
            "p1y",
            "1 year",
            "12 months",
            "1 jahr",
            "12 monate",
            "y",
        ),
        "annual",
    ),
    **dict.fromkeys(("unknown", "unbekannt", "none", "n/a"), "unknown"),
}
PROGRAMS = {
    **dict.fromkeys(("legacy", "csp legacy", "legacy csp", "classic", "alt"), "legacy"),
    **dict.fromkeys(("nce", "new commerce", "new commerce experience", "csp nce", "neu"), "nce"),
}
STATUSES = {
    **dict.fromkeys(("active", "aktiv", "enabled", "live"), "active"),
    **dict.fromkeys(("suspended", "gesperrt", "ausgesetzt", "disabled", "pausiert", "paused"), "suspended"),
    **dict.fromkeys(
        (
            "deleted",
            "cancelled",
            "canceled",
            "expired",
            "gekündigt",
            "gekuendigt",
            "gelöscht",
            "inactive",
            "inaktiv",
            "abgelaufen",
            "storniert",
            "terminated",
        ),
        "deleted",
    ),
}

# Extra spellings Babel's territory names do not carry.
COUNTRY_EXTRAS = {
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "grossbritannien": "GB",
    "großbritannien": "GB",
    "usa": "US",
    "u.s.a.": "US",
    "united states of america": "US",
    "holland": "NL",
    "the netherlands": "NL",
    "czech republic": "CZ",
    "tschechische republik": "CZ",
    "schweden": "SE",
    "oesterreich": "AT",
    "deutschland": "DE",
    "brd": "DE",
    "suisse": "CH",
    "schweiz": "CH",
    "france": "FR",
    "espana": "ES",
    "españa": "ES",
    "italia": "IT",
    "polska": "PL",
    "danmark": "DK",
    "sverige": "SE",
    "norge": "NO",
    "belgique": "BE",
    "belgië": "BE",
    "nederland": "NL",
    "österreich": "AT",
}


@cache
def countries() -> dict[str, str]:
    """Folded country name or code (English, German, ISO alpha-2) -> ISO alpha-2 code."""
    table: dict[str, str] = {}
    for lang in ("en", "de"):
        for code, name in Locale(lang).territories.items():
            if len(code) == 2 and code.isalpha() and code not in ("ZZ", "EU", "EZ", "UN", "QO"):
                table.setdefault(name.casefold(), code)
                table.setdefault(code.casefold(), code)
    table.update(COUNTRY_EXTRAS)
    return table


def country_name(code: str, lang: str = "en") -> str:
    """Display name of an ISO code in English or German; the code itself when unknown."""
    return Locale(lang).territories.get(code, code)


VOCABULARIES = {BOOL: BOOLEANS, SEGMENT: SEGMENTS, BILLING: BILLING_TERMS, PROGRAM: PROGRAMS, STATUS: STATUSES}
