"""The request log pages (portal and staff) and their CSV exports: thin views over ``request_log``."""

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer
from accounts.permissions import customer_user_required, staff_required
from billing.usage.request_log import (
    COUNT_COLUMNS,
    RequestLogQuery,
    RequestStatus,
    request_log_iter,
    request_log_page,
    with_operator_sale,
    with_operator_sale_iter,
)
from billing.usage.request_log_forms import INPUT_FORMAT, RequestLogForm
from common.csv_export import csv_lines, csv_response
from common.stored_text import stored_render

PORTAL_TEMPLATE = "portal/usage/requests.html"
STAFF_TEMPLATE = "usage/request_log.html"
# Unit counts shown as columns only when a row of the page has one (nearly every request has none).
UNIT_COLUMNS = ("audio_prompt_tokens", "audio_completion_tokens", "images", "audio_ms")


@customer_user_required
def portal_request_log(request):
    return _page(request, PORTAL_TEMPLATE, staff=False)


@staff_required()
def staff_request_log(request):
    return _page(request, STAFF_TEMPLATE, staff=True)


@customer_user_required
def portal_request_log_csv(request):
    return _csv(request, PORTAL_TEMPLATE, staff=False)


@staff_required()
def staff_request_log_csv(request):
    return _csv(request, STAFF_TEMPLATE, staff=True)


def _page(request, template: str, *, staff: bool):
    form = RequestLogForm(request.GET, user=request.user)
    context = {
        "form": form,
        "staff": staff,
        "show_customer": "customer" in form.fields,
        "csv_url": reverse("staff-request-log-csv" if staff else "portal-request-log-csv"),
        "quick_ranges": _quick_ranges(),
    }
    if form.is_valid():
        page = request_log_page(form.query(), form.cleaned_data["cursor"])
        if staff:
            with_operator_sale(page.rows)
        named = {row[name] for row in page.rows for name in ("customer_id", "charged_by_id") if name in row}
        customers = Customer.objects.in_bulk(named - {None})
        for row in page.rows:
            row["customer"] = customers.get(row["customer_id"])
            if staff:
                row["charged_by"] = customers.get(row["charged_by_id"])
        context.update(
            rows=page.rows,
            show_units=any(row[name] for row in page.rows for name in UNIT_COLUMNS),
            next_query=_query(form, page.next_cursor) if page.next_cursor else None,
            previous_query=_query(form, page.previous_cursor) if page.previous_cursor else None,
            csv_query=_query(form, None),
            first_page=form.cleaned_data["cursor"] is None,
        )
    return render(request, template, context, status=200 if form.is_valid() else 400)


def _query(form: RequestLogForm, cursor) -> str:
    """The page's query string with ``cursor`` instead of its own (None: none, as the export needs).

    The range is the form's, resolved: a link made from the default range (the last 24 hours) keeps
    that range when it is followed later."""
    params = form.data.copy()
    params.pop("cursor", None)
    if cursor is not None:
        params["cursor"] = cursor.encode()
    return params.urlencode()


def _quick_ranges() -> list[tuple[str, str]]:
    """Links to common ranges in the reader's time zone (a whole day is what an export usually wants)."""
    now = timezone.localtime()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    until = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    ranges = [
        (_("Last hour"), until - timedelta(hours=1), until),
        (_("Last 24 hours"), until - timedelta(hours=24), until),
        (_("Today"), today, today + timedelta(days=1)),
        (_("Yesterday"), today - timedelta(days=1), today),
        (_("Last 7 days"), today - timedelta(days=6), today + timedelta(days=1)),
    ]
    return [
        (label, urlencode({"start": start.strftime(INPUT_FORMAT), "end": end.strftime(INPUT_FORMAT)}))
        for label, start, end in ranges
    ]


def _csv(request, template: str, *, staff: bool):
    form = RequestLogForm(request.GET, user=request.user)
    if not form.is_valid():
        context = {"form": form, "staff": staff, "quick_ranges": _quick_ranges()}
        return render(request, template, context, status=400)
    query = form.query()
    start, end = (timezone.localtime(value) for value in (query.start, query.end))
    name = f"requests-{start:%Y%m%d-%H%M}-{end:%Y%m%d-%H%M}.csv"
    return csv_response(csv_lines(_csv_rows(query, staff=staff)), name)


def _csv_rows(query: RequestLogQuery, *, staff: bool) -> Iterator[list]:
    """Header, then one row per request: the time with its offset in the reader's zone, every count, the
    charge exact (never rounded), the status and, for unrated requests, why, in the reader's language.

    Staff read the charge as what the end customer was charged and by whom (a reseller, or the operator),
    then the operator's own sale and cost (``with_operator_sale``): a resold request's hop-0 cost is the
    reseller's, never ours."""
    yield [
        _("Time"),
        _("Request id"),
        _("Customer code"),
        _("Gateway key"),
        _("Model as sent"),
        _("Input tokens"),
        _("Cache read tokens"),
        _("Cache write tokens (5 min)"),
        _("Cache write tokens (1 h)"),
        _("Output tokens"),
        _("Reasoning tokens"),
        _("Audio input tokens"),
        _("Audio output tokens"),
        _("Images"),
        _("Audio seconds"),
        _("Customer charged") if staff else _("Charge"),
        _("Currency"),
        *(
            [_("Charged by"), _("Our sale"), _("Our sale currency"), _("Our cost"), _("Our cost currency")]
            if staff
            else []
        ),
        _("Status"),
        _("Reason"),
    ]
    codes: dict[int, str] = {}
    labels = {value: str(label) for value, label in RequestStatus.choices}  # translated once, not per row
    sellers: dict[int | None, str] = {None: settings.OPERATOR_NAME}
    rows = request_log_iter(query)
    for row in with_operator_sale_iter(rows) if staff else rows:
        customer_id = row["customer_id"]
        if customer_id is not None and customer_id not in codes:
            codes[customer_id] = (
                Customer.objects.filter(pk=customer_id).values_list("code", flat=True).first()
            )
        if staff and row["charged_by_id"] not in sellers:
            seller_id = row["charged_by_id"]
            sellers[seller_id] = Customer.objects.filter(pk=seller_id).values_list("name", flat=True).first()
        counts = [row[name] for name in COUNT_COLUMNS if name != "audio_ms"]
        yield [
            timezone.localtime(row["occurred_at"]).isoformat(),
            row["request_id"],
            codes.get(customer_id, ""),
            row["gateway_key"],
            row["model_name"],
            *counts,
            row["audio_seconds"],
            row["sell_amount"],
            row["sell_currency"],
            *(
                [
                    sellers[row["charged_by_id"]] if row["sell_amount"] is not None else "",
                    row["our_sell_amount"],
                    row["our_sell_currency"],
                    row["our_cost_amount"],
                    row["our_cost_currency"],
                ]
                if staff
                else []
            ),
            labels[row["status"]],
            stored_render(row["unrated_message"], row["unrated_reason"]) if row["unrated_reason"] else "",
        ]
