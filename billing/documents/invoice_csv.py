"""An invoice's lines as CSV, with each usage line's token classes and its price adjustment.

The same figures as the PDF and the invoice pages (``line_prices``): a usage line's row carries the amount
charged; its class rows the tokens, unit and batch prices per million; and where the amount differs from
tokens × unit prices, a ``at_unit_prices`` row and a ``price_adjustment`` row that add up to it.
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
)


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
            ]
        )
        for cp in line.class_prices:
            yield w.writerow(
                [
                    ref,
                    ccy,
                    line.position,
                    "token_class",
                    line.description,
                    cp.token_class,
                    cp.tokens,
                    "tokens_per_million",
                    cp.unit_price,
                    cp.batch_price,
                    "",
                    "",
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
                ]
            )
