"""The customer risk page: exposure against limits, concentration, open risk flags; its CSV; clearing.

Roles: admin, finance and sales read, auditors read; support is refused (403), as are portal users.
One book at a time (``billing.exposure.risk``): the operator's unless the Book filter names a resale
sub-distributor's; the page says which.
Clearing a usage-spike flag is a POST for finance and administrators (``billing.dunning.risk``).
Bad filter input shows the form's errors over an empty list, never a 500.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.chain import book_label
from accounts.models import StaffRole
from accounts.permissions import staff_required
from billing.dunning.risk import CLEARERS, risk_flag_clear
from billing.dunning.risk_notify import risk_flag_sentence
from billing.exposure.aging_forms import resale_books
from billing.exposure.risk import HIGH_UTILISATION, concentration, risk_rows, rows_filter, rows_sort
from billing.money import quantize_money
from billing.terms.models import BillingTerms, RiskFlag
from common.csv_export import csv_lines, csv_response
from common.forms import BootstrapFormMixin
from common.listing import PAGE_SIZE

READERS = (StaffRole.ADMIN, StaffRole.FINANCE, StaffRole.SALES)


class RiskFilterForm(BootstrapFormMixin, forms.Form):
    book = forms.ModelChoiceField(
        label=gettext_lazy("Book"),
        queryset=resale_books(),
        required=False,
        empty_label=gettext_lazy("The operator's book"),
        help_text=gettext_lazy(
            "A resale sub-distributor's book holds the invoices of the customers it bills itself."
        ),
    )
    q = forms.CharField(label=gettext_lazy("Customer name or code"), required=False, max_length=100)
    policy = forms.ChoiceField(
        label=gettext_lazy("Credit policy"),
        required=False,
        choices=[("", gettext_lazy("Any")), *BillingTerms.CreditPolicy.choices],
    )
    flagged = forms.BooleanField(label=gettext_lazy("Flagged only"), required=False)
    # The figure is HIGH_UTILISATION's.
    high = forms.BooleanField(label=gettext_lazy("Over 80% of the limit"), required=False)


def _rows(request):
    """The book's filtered, sorted rows, the concentration over every credit customer of that book, the
    book's id (None: the operator's), the form and the sort. An unknown book is a form error and reads
    the operator's book's figures over no rows."""
    today = timezone.localdate()
    form = RiskFilterForm(request.GET or None)
    valid = not form.is_bound or form.is_valid()
    data = dict(form.cleaned_data) if form.is_bound else {}
    book = data.pop("book", None)
    book_id = book.pk if book else None
    rows = risk_rows(today=today, book_id=book_id)
    figures = concentration(rows, today=today)
    rows = rows_filter(rows, **data) if valid else []
    rows, sort = rows_sort(rows, request.GET.get("o") or "")
    return rows, figures, book_id, form, sort, today


@staff_required(roles=READERS)
def risk_list(request):
    rows, figures, book_id, form, sort, today = _rows(request)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    for row in page:
        row.flag_texts = [(flag, risk_flag_sentence(flag, row.currency)) for flag in row.flags]
    chart = {
        "labels": [r.name for r in figures.top],
        "shares": [str(round(r.share, 2)) for r in figures.top],
        "cumulative": [],
    }
    running = 0
    for share in (r.share for r in figures.top):
        running += share
        chart["cumulative"].append(str(round(running, 2)))
    context = {
        "filter": form,
        "book": book_label(book_id),
        "operator_book": book_id is None,
        "page_obj": page,
        "figures": figures,
        "sort": sort,
        "today": today,
        "chart": chart,
        "chart_labels": {"share": _("Share of exposure (%)"), "cumulative": _("Cumulative share (%)")},
        "can_clear": request.user.staff_role in CLEARERS,
        "high": HIGH_UTILISATION,
    }
    return render(request, "exposure/risk.html", context)


@staff_required(roles=READERS)
def risk_csv(request):
    rows, figures, book_id, _form, _sort, today = _rows(request)
    name = (
        f"customer-risk-{today:%Y%m%d}" if book_id is None else f"customer-risk-book{book_id}-{today:%Y%m%d}"
    )
    return csv_response(csv_lines(_csv_rows(rows, figures.currency)), f"{name}.csv")


def _money(value, currency: str):
    return None if value is None else quantize_money(value, currency)


def _csv_rows(rows, base: str):
    """Amounts to each currency's minor unit (base-currency figures to the base's); percents as numbers."""
    yield [
        "customer", "name", "seller", "currency", "receivables", "unbilled", "deposits", "exposure",
        "credit_limit", "utilisation_percent", "headroom", f"exposure_{base}", "share_percent",
        "oldest_overdue_days", "open_flags", "policy",
    ]  # fmt: skip
    for r in rows:
        c = r.currency
        yield [
            r.code, r.name, r.seller_name, c, _money(r.receivables, c), _money(r.unbilled, c),
            _money(r.deposits, c), _money(r.exposure, c),
            _money(r.credit_limit, c) if r.credit_limit > 0 else None,
            None if r.utilisation is None else round(r.utilisation, 2), _money(r.headroom, c),
            _money(r.exposure_base, base), None if r.share is None else round(r.share, 4),
            r.overdue_days, " ".join(f.kind for f in r.flags), r.policy,
        ]  # fmt: skip


@require_POST
@staff_required(roles=CLEARERS, auditor_reads=False)
def risk_flag_clear_view(request, pk: int):
    flag = get_object_or_404(RiskFlag.objects.select_related("customer"), pk=pk)
    try:
        risk_flag_clear(flag=flag, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("The risk flag of %(customer)s is cleared.") % {"customer": flag.customer.name}
        )
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("exposure-risk")
