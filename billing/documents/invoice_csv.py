"""An invoice's lines as CSV, with each usage line's token classes and its price adjustment.

The same figures as the PDF and the invoice pages (``line_prices``): a usage line's row carries the amount
charged; its class rows the count and the unit and batch prices (per million tokens; images per image and
audio in seconds per second, ``unit`` says which); and where the amount differs from the counts × unit
prices, a ``at_unit_prices`` row and a ``price_adjustment`` row that add up to it. A line split by time of
day (``line_prices``: standard hours and off-peak) has a ``time_window`` row per part, with its tokens and
amount (the parts add up to the line), before that part's class rows; ``time_window`` names the part
(translated, like the adjustment's reason), or on a usage row the one window a line was wholly sold in.
"""

from collections.abc import Iterator

from billing.documents.line_prices import with_class_prices
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
)
# The ``unit`` of a class row: what its unit price is for.
PRICE_UNITS = {
    "per_million_tokens": "tokens_per_million",
    "per_image": "per_image",
    "per_second": "per_second",
}


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
                ]
            )
