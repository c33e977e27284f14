"""The aging report as CSV and as a PDF (zh/en), from the same rows the page shows.

CSV amounts are exact to each currency's minor unit (numbers, never formatted text) and every text cell
goes through ``common.csv_export`` (no spreadsheet formulas). The PDF prints at most ``PDF_MAX_ROWS`` rows
in the page's order and says how many more the CSV holds: a printed report of ten thousand customers is
nobody's reading, and WeasyPrint would take minutes over it.
"""

from collections.abc import Iterator

from django.utils.translation import gettext as _

from accounts.chain import book_label
from accounts.models import Customer
from billing.documents.pdf import render_pdf
from billing.exposure.aging_report import AgingReport, AgingRow
from billing.money import quantize_money
from billing.receivables.aging import BUCKET_KEYS, BUCKET_LABELS

PDF_MAX_ROWS = 500
CUSTOMER_HEADER = ["customer", "name", "sub_distributor", "seller", "currency"]
GROUP_HEADER = ["sub_distributor", "name", "chain_mode", "customers", "currency"]
AMOUNT_HEADER = [*BUCKET_KEYS, "total", "base_currency", "rate", "base_total"]


def _amounts(row: AgingRow, report: AgingReport) -> list:
    rate = report.rates.get(row.currency)
    return [
        *(row.buckets[key] for key in BUCKET_KEYS),
        row.total,
        report.base_currency,
        rate if rate is not None else _("no rate"),
        row.base_total,
    ]


def csv_rows(report: AgingReport, rows: list[AgingRow], *, grouped: bool) -> Iterator[list]:
    """Header, one line per row, then a total line per currency and one in the base currency."""
    yield [*(GROUP_HEADER if grouped else CUSTOMER_HEADER), *AMOUNT_HEADER]
    for row in rows:
        party = row.party
        if grouped:
            lead = (
                [party.code, party.name, party.chain_mode, row.customers, row.currency]
                if party
                else ["", _("Direct customers (no sub-distributor)"), "", row.customers, row.currency]
            )
        else:
            lead = [party.code, party.name, party.parent_code, party.seller_code, row.currency]
        yield [*lead, *_amounts(row, report)]
    for currency, sums in report.totals.items():
        rate = report.rates.get(currency)
        base = None if rate is None else quantize_money(sums["total"] * rate, report.base_currency)
        yield [
            "", _("Total"), "", "", currency, *(sums[key] for key in BUCKET_KEYS), sums["total"],
            report.base_currency, rate if rate is not None else _("no rate"), base,
        ]  # fmt: skip
    base = report.base_totals
    yield [
        "", _("Total in the base currency"), "", "", report.base_currency,
        *(base[key] for key in BUCKET_KEYS), base["total"], report.base_currency, 1, base["total"],
    ]  # fmt: skip


def aging_pdf(report: AgingReport, rows: list[AgingRow], *, grouped: bool, language: str) -> bytes:
    return render_pdf(
        "exposure/aging_pdf.html",
        {
            "report": report,
            "rows": rows[:PDF_MAX_ROWS],
            "more": max(len(rows) - PDF_MAX_ROWS, 0),
            "grouped": grouped,
            "buckets": [(key, BUCKET_LABELS[key]) for key in BUCKET_KEYS],
            "book": book_label(report.book_id),
            # The header is the book owner's (render_pdf prints the seller of "customer"): the operator's,
            # or the resale sub-distributor's for a customer it sells to (unsaved: only its seller is read).
            "customer": None if report.book_id is None else Customer(seller_id=report.book_id),
        },
        language=language,
    )
