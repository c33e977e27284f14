"""The gross-margin page: the report by the chosen dimension, its charts, the ledger beside it, its CSV."""

from decimal import ROUND_HALF_UP, Decimal

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.models import StaffRole
from accounts.permissions import staff_required
from billing.money import quantize_money
from billing.upstream.margin.csv_rows import report_csv_rows
from billing.upstream.margin.dimensions import Dimension
from billing.upstream.margin.forms import MarginForm
from billing.upstream.margin.ledger import ledger_comparison
from billing.upstream.margin.selectors import chart_rows, margin_over_time, margin_report, rows_sorted
from common.csv_export import csv_lines, csv_response

PAGE_SIZE = 50
# Finance reads margins; auditors read every staff page (staff_required); sales and support do not.
MARGIN_ROLES = (StaffRole.ADMIN, StaffRole.FINANCE)


@staff_required(roles=MARGIN_ROLES)
def margin_page(request):
    form = MarginForm(request.GET or None)
    scope, label, dimension, grain = form.choice()
    report = margin_report(scope, dimension, grain=grain, label=label)
    order = request.GET.get("o", "")
    rows = rows_sorted(report.rows, order) if order else report.rows
    period_name = label or f"{scope.start.isoformat()}_{scope.end.isoformat()}"
    if request.GET.get("format") == "csv":
        lines = csv_lines(report_csv_rows(report, rows))
        return csv_response(lines, f"margin-{dimension}-{period_name}.csv")
    bars, base = chart_rows(report), report.base_currency
    over_time = [(day, pct) for day, pct, _margin in margin_over_time(scope) if pct is not None]
    context = {
        "form": form,
        "report": report,
        "scope": scope,
        "period_label": label,
        "dimension_label": Dimension(dimension).label,
        "page_obj": Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page")),
        "ledger": ledger_comparison(scope.start, scope.end),
        "bar_chart": {
            "labels": [r.key.label for r in bars],
            "cost": [str(quantize_money(r.current.cost_base, base)) for r in bars],
            "margin": [str(quantize_money(r.current.margin_base, base)) for r in bars],
        },
        "bar_labels": {"cost": _("Cost"), "margin": _("Gross margin")},
        "line_chart": {
            "labels": [d for d, _pct in over_time],
            "sell": [str(p.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)) for _d, p in over_time],
        },
        "line_labels": {"sell": _("Gross margin, percent of revenue")},
        "csv_query": _query_with(request, format="csv"),
        "filtered": scope.filtered,
    }
    return render(request, "upstream/margin/report.html", context)


def _query_with(request, **values) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    for name, value in values.items():
        query[name] = value
    return query.urlencode()
