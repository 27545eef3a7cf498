"""Canonical tables and columns, the header synonyms that map onto them, and value vocabularies."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from babel import Locale

# Column kinds decide how a raw text value is parsed and validated.
ID, TEXT, COUNTRY, SEGMENT, INT, DATE, BOOL, BILLING, DECIMAL, PROGRAM, STATUS, LANGUAGE = (
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
    "language",
)

# The country of a subscription whose file, customer and partner all leave it open (PRODUCT.md section 4:
# unknown is a value). "ZZ" is the user-assigned ISO 3166 code CLDR uses for "Unknown Region"; the interface
# calls it "Unknown"/"Unbekannt" and `summary --json` keys it "ZZ".
UNKNOWN_COUNTRY = "ZZ"


@dataclass(frozen=True)
class Column:
    """A canonical column. `stored=False`: read and used while ingesting (to collapse charge lines or to tell
    legacy from NCE), not kept in the published tables."""

    name: str
    kind: str
    required: bool = False
    stored: bool = True


TABLES: dict[str, tuple[Column, ...]] = {
    "subscriptions": (
        # Only the id, the seats and the end date are required (PRODUCT.md section 3, "Real exports").
        Column("subscription_id", ID, True),
        Column("partner_id", ID),
        Column("partner_name", TEXT),
        Column("customer_id", ID),
        Column("customer_name", TEXT),
        Column("country", COUNTRY),
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
        Column("offer_id", TEXT, stored=False),
        Column("term_duration", TEXT, stored=False),
        Column("period_end", DATE, stored=False),
        # A marketplace name gives the country when the row has none; one that names no country leaves it unknown.
        Column("marketplace", COUNTRY, stored=False),
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
        Column("contact_email", TEXT),
        Column("language", LANGUAGE),
    ),
    "customers": (
        Column("customer_id", ID, True),
        Column("partner_id", ID),
        Column("customer_name", TEXT),
        Column("mca_accepted", BOOL),
        Column("country", COUNTRY),
        Column("domain", TEXT),
    ),
}


def stored_columns(table: str) -> list[str]:
    """The columns a published table keeps, in order."""
    return [c.name for c in TABLES[table] if c.stored]


# Columns only a partners table (or a flat file's partner part) carries.
PARTNER_ONLY = (
    "mpa_signed",
    "indirect_provider_confirmed",
    "mpn_id_updated",
    "mca_all_customers",
    "opted_out",
    "opt_out_date",
    "contact_email",
    "language",
)
CUSTOMER_ONLY = ("mca_accepted", "domain")


def header_key(name: str) -> str:
    """Fold a header for matching: case, accents kept for ä/ö/ü, punctuation and spaces dropped."""
    text = unicodedata.normalize("NFC", str(name)).casefold().replace("ß", "ss")
    return re.sub(r"[^0-9a-zäöü]", "", text)


# Canonical name -> header spellings (English, German, Microsoft Partner Center / distributor exports).
# The order matters: when a file has two headers for one column, the one listed first wins (ingest.map_source),
# and for partner_id reseller columns come first (see RESELLER_KEYS). Where a spelling comes from a public tool,
# its source is named beside it (README "Exports we read"); the sources:
#   [PS]   Partner Center PowerShell 3.0.11, PSSubscription.cs / PSCustomer.cs (Get-PartnerCustomerSubscription,
#          Get-PartnerCustomer | Export-Csv); [API] Partner Center REST "Subscription resources";
#   [LRC]  Partner Center "License-based reconciliation file fields" (legacy); [NRC] "New commerce invoice
#          reconciliation file fields" (and its Graph attribute set, which writes Tier2MpnId);
#   [INS]  Partner Center Insights: "Seats, subscriptions and revenue" system query (SeatsSubscriptionsAndRevenue)
#          and the "Subscription details" data definitions; [CUS] Partner Center "Export your customer list";
#   [CBM]  cloudblue/microsoft_reports reports/missing_subscriptions (Missing Microsoft Active Subscriptions);
#   [CBA]  cloudblue/microsoft_reports reports/audit_tool (Microsoft Audit Tool Report);
#   [CBN]  cloudblue/microsoft_reports reports/nce_migrations and nce_promos.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "subscription_id": (
        "subscription_id",
        "SyndicationPartnerSubscriptionNumber",  # [LRC] Microsoft's GUID; its SubscriptionId is the billing id
        "Microsoft Subscription ID",  # [CBM] [CBN] (nce_promos' "Subscription ID" is Connect's asset id)
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
        "Tier2MpnId",  # [NRC] Graph attribute set, API tier2MpnId
        "Tier 2 MPN ID",
        "ResellerMpnId",  # [LRC] [NRC] (ResellerMPNID in older copies: the same folded key)
        "Reseller MPN ID",  # [CBM]
        "Reseller ID",
        "ResellerId",  # [INS] Subscription details: ResellerID
        "Reseller-ID",
        "Händler-ID",
        "Partner-ID",
        "PartnerId",  # [PS] [API] the reseller's MPN id; in [LRC] [NRC] the distributor's own tenant (constant)
        "Partner ID",
        "MpnId",  # [LRC] [NRC] [INS] the file owner's own MPN id (constant, never the partner)
        "MPN ID",
        "Partnernummer",
    ),
    "partner_name": (
        "partner_name",
        "ResellerName",  # [INS]
        "Reseller Name",
        "Reseller",
        "Tier2Name",
        "Tier 2 Name",
        "Reseller Company Name",
        "Partner Name",
        "PartnerName",  # [INS] the file owner itself (constant)
        "Partner",
        "Partnername",
        "Händler",
        "Händlername",
        "Wiederverkäufer",
    ),
    "customer_id": (
        "customer_id",
        "Microsoft Customer ID",  # [CBM] the tenant GUID; its "Customer ID" is Connect's TA- account
        "CustomerId",  # [LRC] [NRC] [PS] PSCustomer
        "Customer ID",
        "CustomerTenantId",  # [INS]
        "Customer Tenant ID",  # [CBN]
        "Microsoft ID",  # [CUS]
        "TenantId",
        "Tenant ID",
        "Kunden-ID",
        "Kundennummer",
        "Kunden ID",
        "End Customer ID",
        "External Customer ID",  # [CBA] Connect's customer id (the report has no Microsoft tenant id)
    ),
    "customer_name": (
        "customer_name",
        "CustomerName",  # [LRC] [NRC] [INS]
        "Customer Name",  # [CBA] [CBN]
        "Company name",  # [CUS]
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
        "CustomerCountry",  # [NRC] two-letter code
        "Customer Country",
        "CustomerMarket",  # [INS] a country name ("United States")
        "CustomerTenantCountry",  # [INS] Customers and revenue
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
        "OfferName",  # [PS] [LRC]
        "Offer Name",  # [CBA]
        "ProductName",  # [NRC]
        "Product Name",  # [CBM] [CBN]
        "SkuName",  # [NRC]
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
        "TotalSoldSeats",  # [INS] Seats, subscriptions and revenue
        "AvailableSeatsEOP",  # [INS] Subscription details ("AvailableSeats" there is a month-on-month change)
        "Microsoft Licenses",  # [CBA] Microsoft's count; its "Licenses" is Connect's
        "Quantity Of Licenses",  # [CBM]
        "Number of Licenses",  # [CBN]
        "Quantity",  # [PS] [LRC] [NRC]
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
        "CommitmentEndDate",  # [PS] [API]
        "Commitment End Date",
        "Microsoft Commitment End Date",  # [CBA]
        "Subscription Commitment End Date",  # [CBM]
        "SubscriptionEndDate",  # [LRC] [NRC] [INS]
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
        "AutoRenewEnabled",  # [PS] [API]
        "IsAutoRenew",  # [INS] Y/N
        "Auto-renewal Status",  # [CBM]
        "Microsoft Auto Renew",  # [CBA]
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
        "BillingCycle",  # [PS] [API]
        "BillingCycleType",  # [LRC]
        "Billing Cycle",
        "BillingFrequency",  # [NRC]
        "Billing Frequency",
        "Billing Term",
        "BillingTerm",
        "Abrechnungszyklus",
        "Abrechnungsintervall",
        "Abrechnungszeitraum",
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
    "status": (
        # Microsoft's status first: CloudBlue's reports have a "Status" of their own (the Connect asset's).
        "Microsoft Subscription Status",  # [CBM]
        "Microsoft Status",  # [CBA]
        "status",
        "Status",  # [PS]
        "SubscriptionState",  # [INS] Active, Churned, Disabled
        "Subscription Status",
        "SubscriptionStatus",
        "Abonnementstatus",
        "Zustand",
    ),
    # Read to tell legacy from NCE (PRODUCT.md section 3) and to collapse repeated rows; not kept.
    "offer_id": (
        "offer_id",
        "OfferId",  # [PS] [API] [LRC] a GUID or MS-AZR-... (legacy), PRODUCT:SKU:AVAILABILITY (NCE)
        "Offer ID",  # [CBA] Connect's item MPN: CFQ7TTC0LHPG:0001_P1Y:Annual
        "DurableOfferId",  # [LRC]
        "ProductId",  # [NRC] CFQ7TTC0LH18
        "Product ID",  # [CBM] [CBN] the first part of the offer id
        "Item MPN",  # [CBN] nce_promos
        "Angebots-ID",
    ),
    "term_duration": (
        "term_duration",
        "TermDuration",  # [PS] [API] P1M, P1Y, P3Y
        "Term Duration",
        "TermAndBillingCycle",  # [NRC] "One-year commitment for monthly/yearly billing"
        "Laufzeit",
    ),
    "marketplace": (
        "marketplace",
        "Marketplace Name",  # [CBA] a marketplace such as "IM - Germany" names its country
        "Marketplace",
        "Marktplatz",
    ),
    "period_end": (
        "period_end",
        "ChargeEndDate",  # [LRC] [NRC] charge lines
        "Month",  # [INS] one row per subscription per month
        "Monat",
    ),
    "contact_email": (
        "contact_email",
        "Contact email",
        "Contact e-mail",
        "E-Mail",
        "Email",
        "Kontakt",
        "Kontakt-E-Mail",
    ),
    "language": ("language", "Language", "Sprache", "Preferred language", "Korrespondenzsprache"),
    "domain": (
        "domain",
        "Domain",  # [PS] PSCustomer, [CBA]
        "DomainName",  # [LRC]
        "CustomerDomainName",  # [NRC]
        "Customer Domain",  # [CBM] [CBN]
        "Primary domain name",  # [CUS]
        "TenantDomainName",  # [INS]
    ),
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
# Headers that say what a file is (PRODUCT.md section 3): charge lines of a reconciliation file [LRC] [NRC],
# monthly rows of an Insights report [INS], and the columns only a new-commerce reconciliation file has [NRC].
CHARGE_KEYS = frozenset(header_key(s) for s in ("ChargeStartDate", "ChargeEndDate", "ChargeType"))
MONTH_KEYS = frozenset(header_key(s) for s in ("Month", "Monat"))
NCE_FILE_KEYS = frozenset(header_key(s) for s in ("TermAndBillingCycle", "AvailabilityId"))
WEAK_PARTNER_KEYS = frozenset(header_key(s) for s in ("PartnerId", "Partner ID", "Partner-ID", "MpnId", "MPN ID"))


@cache
def synonym_rank() -> dict[str, int]:
    """Folded header -> its position in its canonical column's list (lower wins)."""
    rank: dict[str, int] = {}
    for canonical, spellings in SYNONYMS.items():
        # Our own column name ranks with the export spelling it folds to ("subscription_id" = "SubscriptionId"),
        # not ahead of the spellings listed before that one.
        for position, spelling in enumerate(spellings):
            if spelling != canonical:
                rank.setdefault(header_key(spelling), position)
        rank.setdefault(header_key(canonical), 0)
    return rank


@cache
def synonym_index() -> dict[str, str]:
    """Folded header -> canonical column name."""
    index: dict[str, str] = {}
    for canonical, spellings in SYNONYMS.items():
        for spelling in spellings:
            index.setdefault(header_key(spelling), canonical)
    return index


# Value vocabularies: folded text -> canonical value.
# A value that maps to None is a known spelling of "unknown": accepted, stored as NULL (PRODUCT.md section 3:
# `-` for unknown, as Partner Center and distributor reports write it).
BOOLEANS = {
    **dict.fromkeys(
        ("true", "t", "yes", "y", "ja", "j", "1", "wahr", "x", "done", "erledigt", "ok", "enabled", "on"), "true"
    ),
    **dict.fromkeys(("false", "f", "no", "n", "nein", "0", "falsch", "open", "offen", "disabled", "off"), "false"),
    **dict.fromkeys(("-", "unknown", "unbekannt", "n/a"), None),
}
LANGUAGES = {
    **dict.fromkeys(("de", "deu", "ger", "german", "deutsch", "de-de", "de-at", "de-ch", "de_de"), "de"),
    **dict.fromkeys(("en", "eng", "english", "englisch", "en-gb", "en-us", "en_gb", "en_us"), "en"),
}
# A partner without a language gets German in these countries, English elsewhere (PRODUCT.md section 3).
GERMAN_SPEAKING = ("DE", "AT", "CH", "LI")
# The spellings of a segment in an export, each read as one of the segments (analytics/programme.py SEGMENTS).
SEGMENT_SYNONYMS = {
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
            # Partner Center Insights segments (PRODUCT.md section 3).
            "small, medium & corporate commercial",
            "major commercial",
            "smb commercial",
            "smb",
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
            # Partner Center Insights segments (PRODUCT.md section 3): "... Public Sector" is government.
            "major public sector",
            "small, medium & corporate public sector",
            "smb public sector",
        ),
        "government",
    ),
    **dict.fromkeys(
        ("nonprofit", "non-profit", "non profit", "npo", "charity", "gemeinnützig", "gemeinnuetzig", "charitable"),
        "nonprofit",
    ),
}
# Partner Center writes billing cycles as Monthly, Annual, Triennial, OneTime, Unknown, None, and terms as
# P1M/P1Y/P3Y or "N Months"/"N Years" (PRODUCT.md section 3). Legacy renewals only know a monthly or an annual
# term; anything else renews like annual ("unknown", PRODUCT.md section 2).
BILLING_TERMS = {
    **dict.fromkeys(("monthly", "month", "monatlich", "p1m", "1 month", "1 months", "1 monat", "m"), "monthly"),
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
            "1 years",
            "1 jahr",
            "12 monate",
            "y",
        ),
        "annual",
    ),
    **dict.fromkeys(
        (
            "unknown",
            "unbekannt",
            "none",
            "n/a",
            "-",
            "triennial",
            "onetime",
            "one time",
            "one-time",
            "p3y",
            "3 years",
            "36 months",
            "3 jahre",
        ),
        "unknown",
    ),
}
PROGRAMS = {
    **dict.fromkeys(("legacy", "csp legacy", "legacy csp", "classic", "alt"), "legacy"),
    **dict.fromkeys(("nce", "new commerce", "new commerce experience", "csp nce", "neu"), "nce"),
}
# Partner Center statuses: Active, Suspended, Deleted, Expired, Disabled, Pending, None, Churned, and
# terminated/terminating in reports (PRODUCT.md section 3). Pending (being provisioned) and None (no status
# given) are taken as active, as a missing status column is.
STATUSES = {
    **dict.fromkeys(("active", "aktiv", "enabled", "live", "pending", "none", "-"), "active"),
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
            "terminating",
            "churned",
            "deprovisioned",
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
    # Names Partner Center Insights' CustomerMarket may use where CLDR's differ.
    "korea": "KR",
    "republic of korea": "KR",
    "hong kong sar": "HK",
    "macao sar": "MO",
    "turkey": "TR",
    "russian federation": "RU",
    "viet nam": "VN",
    "ivory coast": "CI",
    "cote d'ivoire": "CI",
    "côte d'ivoire": "CI",
    "taiwan, province of china": "TW",
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
    """Display name of an ISO code in English or German ("Unknown"/"Unbekannt" for the unknown country); the
    code itself when Babel does not know it."""
    if code == UNKNOWN_COUNTRY:
        from analytics.words import text

        return text(lang if lang in ("en", "de") else "en", "country.unknown")
    return Locale(lang).territories.get(code, code)


VOCABULARIES = {
    BOOL: BOOLEANS,
    SEGMENT: SEGMENT_SYNONYMS,
    BILLING: BILLING_TERMS,
    PROGRAM: PROGRAMS,
    STATUS: STATUSES,
    LANGUAGE: LANGUAGES,
}
