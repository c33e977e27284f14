"""The margin report as CSV, as the page shows it: one line per row in the page's order, then the total.

Columns: the row (``key``, ``name``, ``detail``), requests, the revenue per sell currency and the cost per
cost currency as recorded (one column per currency of the report: ``revenue_CNY``, ``cost_USD``…), then
the margin as recorded (only when revenue and cost share one currency), then the base currency's revenue,
cost, gross margin (``base_*_CNY``), margin % and the previous period's margin. Amounts are
numbers rounded once to their currency's minor unit (half up); a base amount that needs a missing rate
is left empty and ``fx_missing`` names the currencies at fault. Cells go through ``common.csv_export``.
"""

from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal

from billing.money import quantize_money
from billing.upstream.margin.figures import Figures
from billing.upstream.margin.selectors import MarginReport

TOTAL = "total"


def _money(amount: Decimal | None, currency: str) -> Decimal | None:
    return None if amount is None else quantize_money(amount, currency)


def _pct(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def header(report: MarginReport) -> list[str]:
    base = report.base_currency
    columns = ["key", "name", "detail", "requests", "uncosted_requests"]
    columns += [f"revenue_{c}" for c in report.sell_currencies]
    columns += [f"cost_{c}" for c in report.cost_currencies]
    columns += ["recorded_margin", "recorded_margin_currency"]
    columns += [f"base_revenue_{base}", f"base_cost_{base}", f"base_margin_{base}", "margin_pct"]
    if report.compares:
        columns += [f"previous_base_margin_{base}", f"change_base_margin_{base}"]
    return [*columns, "fx_missing"]


def _figures(report: MarginReport, figures: Figures, previous: Figures | None) -> list:
    base = report.base_currency
    cells: list = [figures.requests, figures.uncosted_requests]
    cells += [_money(figures.revenue.get(c, Decimal(0)), c) for c in report.sell_currencies]
    cells += [_money(figures.cost.get(c, Decimal(0)), c) for c in report.cost_currencies]
    recorded = figures.recorded_margin
    cells += [_money(recorded[1], recorded[0]), recorded[0]] if recorded else [None, ""]
    cells += [
        _money(figures.revenue_base, base),
        _money(figures.cost_base, base),
        _money(figures.margin_base, base),
        _pct(figures.margin_pct),
    ]
    if report.compares:
        before = previous.margin_base if previous is not None else None
        now = figures.margin_base
        cells += [_money(before, base), _money(now - before, base) if None not in (now, before) else None]
    cells.append(" ".join(c for c, _amount in figures.unconverted_items))
    return cells


def report_csv_rows(report: MarginReport, rows=None) -> Iterator[list]:
    """The CSV's rows (header first) for ``common.csv_export.csv_lines``: ``rows`` in the page's order
    (default the report's), then the total."""
    yield header(report)
    for row in report.rows if rows is None else rows:
        yield [row.key.ident, row.key.label, row.key.detail, *_figures(report, row.current, row.previous)]
    yield [TOTAL, "", "", *_figures(report, report.total, report.previous_total)]
