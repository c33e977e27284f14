"""货不对版 pages: the flags, one flag's evidence and events, its state, scans and dispute packs.

Roles, as every upstream page: admin and finance read and write, auditors read (the packs too), sales
and support are refused (403).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import StaffRole
from accounts.permissions import staff_required
from billing.documents.pdf import language_for
from billing.upstream.mismatch.display import evidence_view, with_views
from billing.upstream.mismatch.filters import MismatchFlagFilter
from billing.upstream.mismatch.forms import PackForm, ScanForm, StateForm
from billing.upstream.mismatch.pack import pack_csv_rows, pack_pdf
from billing.upstream.mismatch.selectors import channel_month_flags, flag_events, flag_vendor_rows, flags
from billing.upstream.mismatch.services import mismatch_flag_state_set, mismatch_scan
from billing.upstream.models import MismatchFlag
from common.csv_export import csv_lines, csv_response
from common.forms import form_errors_add
from common.listing import filtered_page
from common.responses import pdf_response

ROLES = (StaffRole.ADMIN, StaffRole.FINANCE)
EVENTS_PER_PAGE = 50


def _list(request, *, scan_form=None, pack_form=None, status=200) -> HttpResponse:
    context = filtered_page(request, flags(), MismatchFlagFilter)
    for flag in context["page_obj"]:
        flag.view = evidence_view(flag)
    today = timezone.localdate()
    context.update(
        can_write=not request.user.is_read_only,
        scan_form=scan_form or ScanForm(initial={"date_from": today.replace(day=1), "date_to": today}),
        pack_form=pack_form or PackForm(initial={"month": today.strftime("%Y-%m")}),
    )
    return render(request, "upstream/mismatch/list.html", context, status=status)


@staff_required(roles=ROLES)
def mismatch_list(request):
    return _list(request)


@require_POST
@staff_required(roles=ROLES, auditor_reads=False)
def mismatch_scan_run(request):
    form = ScanForm(request.POST)
    if not form.is_valid():
        return _list(request, scan_form=form, status=400)
    data = form.cleaned_data
    result = mismatch_scan(date_from=data["date_from"], date_to=data["date_to"])
    messages.success(
        request,
        _("Scanned %(start)s to %(end)s: %(new)s new flags, %(changed)s changed, %(removed)s no longer held.")
        % {
            "start": data["date_from"],
            "end": data["date_to"],
            "new": result.created,
            "changed": result.updated,
            "removed": result.removed,
        },
    )
    query = urlencode({"start": data["date_from"].isoformat(), "end": data["date_to"].isoformat()})
    return redirect(f"{reverse('upstream-mismatch-list')}?{query}")


def _detail(request, flag: MismatchFlag, *, state_form=None, status=200) -> HttpResponse:
    view = evidence_view(flag)
    vendor_rows = flag_vendor_rows(flag)
    # Each vendor row links to the import that brought it, while the row is still the one flagged.
    imports = {row.pk: row.source_import_id for row in vendor_rows}
    for row in view.get("rows", []):
        row["import_id"] = imports.get(row["vendor_usage"])
    context = {
        "flag": flag,
        "view": view,
        "vendor_rows": vendor_rows,
        "can_write": not request.user.is_read_only,
    }
    if context["can_write"]:
        context["state_form"] = state_form or StateForm(initial={"state": flag.state, "note": flag.note})
    return render(request, "upstream/mismatch/detail.html", context, status=status)


@staff_required(roles=ROLES)
def mismatch_detail(request, pk: int):
    return _detail(request, get_object_or_404(flags(), pk=pk))


@require_POST
@staff_required(roles=ROLES, auditor_reads=False)
def mismatch_state(request, pk: int):
    flag = get_object_or_404(flags(), pk=pk)
    form = StateForm(request.POST)
    if form.is_valid():
        try:
            mismatch_flag_state_set(
                flag=flag, state=form.cleaned_data["state"], note=form.cleaned_data["note"]
            )
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(request, _("The flag is now %(state)s.") % {"state": flag.get_state_display()})
            return redirect("upstream-mismatch-detail", pk=flag.pk)
    flag.refresh_from_db()
    return _detail(request, flag, state_form=form, status=400)


@staff_required(roles=ROLES)
def mismatch_events(request, pk: int):
    flag = get_object_or_404(flags(), pk=pk)
    page = Paginator(flag_events(flag), EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "upstream/mismatch/events.html", {"flag": flag, "page_obj": page})


def _pack(request, selected: list[MismatchFlag], *, fmt: str, name: str, period: str) -> HttpResponse:
    if fmt == "csv":
        return csv_response(csv_lines(pack_csv_rows(selected)), f"{name}.csv")
    language = language_for(request.GET.get("lang") or "zh-hans")
    suffix = "zh" if language == "zh-hans" else "en"
    data = pack_pdf(with_views(selected), title_period=period, language=language)
    return pdf_response(data, f"{name}-{suffix}.pdf")


@staff_required(roles=ROLES)
def mismatch_flag_pack(request, pk: int):
    flag = get_object_or_404(flags(), pk=pk)
    fmt = request.GET.get("format", "pdf")
    if fmt not in ("csv", "pdf"):
        return HttpResponseBadRequest(_("format must be csv or pdf."))
    name = f"dispute-{flag.channel.name}-{flag.day:%Y%m%d}-{flag.pk}"
    return _pack(request, [flag], fmt=fmt, name=name, period=flag.day.isoformat())


@staff_required(roles=ROLES)
def mismatch_channel_pack(request):
    form = PackForm(request.GET)
    if not form.is_valid():
        return _list(request, pack_form=form, status=400)
    channel, period = form.cleaned_data["channel"], form.cleaned_data["month"]
    selected = list(channel_month_flags(channel, period.start, period.end))
    if not selected:
        messages.info(
            request,
            _("Channel %(channel)s has no open or disputed flags in %(month)s: there is nothing to dispute.")
            % {"channel": channel.name, "month": period.label},
        )
        return redirect(f"{reverse('upstream-mismatch-list')}?{urlencode({'channel': channel.pk})}")
    name = f"dispute-{channel.name}-{period.label}"
    return _pack(request, selected, fmt=form.cleaned_data["fmt"], name=name, period=period.label)
