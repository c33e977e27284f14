"""What every usage page shows: totals, a chart per day and a table by model, from the daily rollups."""

from django.conf import settings
from django.utils.translation import gettext as _

from accounts.models import StaffRole
from billing.usage.selectors import (
    chart_currency,
    chart_series,
    usage_by_day,
    usage_by_model,
    usage_totals,
)
from common.listing import filtered_page

# Staff who may change usage data: upload files and re-rate (support helps customers with both).
USAGE_WRITE_ROLES = (StaffRole.ADMIN, StaffRole.FINANCE, StaffRole.SUPPORT)


def usage_context(request, rows, filter_class, *, show_cost: bool) -> dict:
    """Filter the rollup ``rows``; return totals, per-day chart data and the page of the by-model table."""
    context = filtered_page(request, usage_by_model(rows), filter_class)
    usage_filter = context["filter"]
    page = context["page_obj"]
    page.object_list = [_percent(row) for row in page.object_list]
    filtered = usage_filter.rows(rows)
    start, end = usage_filter.period()
    totals = usage_totals(filtered)
    wanted = usage_filter.form.cleaned_data.get("currency") if usage_filter.is_valid() else None
    currency = chart_currency(totals, wanted)
    days = usage_by_day(filtered, currency=currency, start=start, end=end)
    chart = chart_series(days)
    if not show_cost:
        # The chart's data is in the page even where nothing draws it: our cost stays off customers' pages.
        del chart["cost"]
    context.update(
        rows=filtered,
        totals=totals,
        chart_currency=currency,
        days=[d for d in reversed(days) if d["requests"]],
        chart=chart,
        chart_labels={
            "sell": _("Sales") if show_cost else _("Charged"),
            "cost": _("Cost"),
            "input": _("Input (uncached)"),
            "cache_read": _("Cache reads"),
            "cache_write": _("Cache writes"),
            "output": _("Output"),
        },
        show_cost=show_cost,
        show_money=True,
        # Rankings compare sales in the base currency; staff see that figure beside each row's own.
        base_currency=settings.BASE_CURRENCY,
        start=start,
        end=end,
    )
    return context


def _percent(row: dict) -> dict:
    row["margin_pct"] = 100 * row["margin"] / row["sell"] if row["sell"] else None
    return row
