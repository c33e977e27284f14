"""An invoice's lines as CSV, with each usage line's token classes and its price adjustment.

The same figures as the PDF and the invoice pages (``line_prices``): a usage line's row carries the amount
charged; its class rows the count and the unit and batch prices (per million tokens; images per image and
audio in seconds per second, ``unit`` says which); and where the amount differs from the counts × unit
prices, a ``at_unit_prices`` row and a ``price_adjustment`` row that add up to it. A line split by time of
day (``line_prices``: standard hours and off-peak) has a ``time_window`` row per part, with its tokens and
amount (the parts add up to the line), before that part's class rows; ``time_window`` names the part
(translated, like the adjustment's reason), or on a usage row the one window a line was wholly sold in.
``token_class`` and ``unit`` are codes for machines; ``label`` and ``unit_label`` say the same in the
language the CSV is written in ("Cache read" / 缓存读取, "month" / 月).
"""

from collections.abc import Iterator

from django.utils.translation import gettext_lazy as _

from billing.documents.line_prices import unit_label, with_class_prices
from common.csv_export import CsvWriter

HEADER = (
    "invoice",
    "currency",
    "line",
    "row",
    "description",
    "token_class",
    "quantity",
    "unit",
    "unit_price",
    "batch_unit_price",
    "amount",
    "tax",
    "time_window",
    "label",
    "unit_label",
)
# The ``unit`` of a class row: what its unit price is for.
PRICE_UNITS = {
    "per_million_tokens": "tokens_per_million",
    "per_image": "per_image",
    "per_second": "per_second",
}


PER_MILLION = _("per 1M tokens")
AT_UNIT_PRICES = _("Tokens × unit prices")
PRICE_ADJUSTMENT = _("Price adjustment")


def invoice_lines_csv_rows(invoice) -> Iterator[str]:
    """Yield the CSV lines of ``invoice``'s lines (header first)."""
    w = CsvWriter()
    yield w.writerow(HEADER)
    ref, ccy = invoice.number or f"draft-{invoice.pk}", invoice.currency
    for line in with_class_prices(invoice.lines.select_related("ai_model").order_by("position", "id")):
        yield w.writerow(
            [
                ref,
                ccy,
                line.position,
                line.kind,
                line.description,
                "",
                line.quantity,
                line.unit,
                line.unit_price,
                "",
                line.amount,
                line.tax_amount,
                line.time_window,
                line.get_kind_display(),
                line.unit_label,
            ]
        )
        parts = line.line_parts or [None]
        for part in parts:
            if part is not None:
                yield w.writerow(
                    [
                        ref,
                        ccy,
                        line.position,
                        "time_window",
                        line.description,
                        "",
                        part.tokens,
                        "tokens",
                        "",
                        "",
                        part.amount,
                        "",
                        part.label,
                        part.label,
                        unit_label("tokens"),
                    ]
                )
            for cp in line.class_prices if part is None else part.rows:
                yield w.writerow(
                    [
                        ref,
                        ccy,
                        line.position,
                        "token_class",
                        line.description,
                        cp.token_class,
                        cp.quantity,
                        PRICE_UNITS[cp.unit],
                        cp.unit_price,
                        cp.batch_price,
                        "",
                        "",
                        cp.part,
                        cp.label,
                        cp.price_unit or PER_MILLION,
                    ]
                )
        check = line.price_check
        if check is not None and check.adjustment:
            yield w.writerow(
                [
                    ref,
                    ccy,
                    line.position,
                    "at_unit_prices",
                    line.description,
                    "",
                    "",
                    "",
                    "",
                    "",
                    check.at_unit_prices,
                    "",
                    "",
                    AT_UNIT_PRICES,
                    "",
                ]
            )
            yield w.writerow(
                [
                    ref,
                    ccy,
                    line.position,
                    "price_adjustment",
                    check.reason_text,
                    "",
                    "",
                    "",
                    "",
                    "",
                    check.adjustment,
                    "",
                    "",
                    PRICE_ADJUSTMENT,
                    "",
                ]
            )
