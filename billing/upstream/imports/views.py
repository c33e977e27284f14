"""Staff pages of vendor usage and invoice imports: the list, upload (a preview), the preview or the
applied import, and applying it. Admin and finance import; auditors read the list and the imports; sales
and support are refused."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import StaffRole
from accounts.permissions import staff_required
from billing.upstream.imports import generic, vendor_bills
from billing.upstream.imports.filters import UpstreamImportFilter
from billing.upstream.imports.forms import ImportUploadForm
from billing.upstream.imports.report import changes_shown
from billing.upstream.imports.services import upstream_import, upstream_import_apply, upstream_import_preview
from billing.upstream.models import UpstreamImport, VendorUsage
from common.listing import filtered_page

IMPORTERS = (StaffRole.ADMIN, StaffRole.FINANCE)
OUTCOMES = ("created", "changed", "unchanged")


def _imports():
    return UpstreamImport.objects.select_related("channel", "created_by")


@staff_required(roles=IMPORTERS)
def import_list(request):
    context = filtered_page(request, _imports(), UpstreamImportFilter)
    context["can_import"] = not request.user.is_read_only
    return render(request, "upstream/imports/list.html", context)


@staff_required(roles=IMPORTERS, auditor_reads=False)
def import_new(request):
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    refused = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        record = upstream_import(
            content=data["file"].read(),
            filename=data["file"].name,
            fmt=data["fmt"],
            channel=data["channel"],
            preview=True,
            user=request.user,
        )
        if record.state != UpstreamImport.State.FAILED:
            return redirect("upstream-import-detail", pk=record.pk)
        refused = record
    status = 400 if request.method == "POST" else 200
    context = {
        "form": form,
        "refused": refused,
        "generic_header": generic.HEADER,
        "bills_header": vendor_bills.HEADER,
    }
    return render(request, "upstream/imports/new.html", context, status=status)


@staff_required(roles=IMPORTERS)
def import_detail(request, pk: int):
    record = get_object_or_404(_imports(), pk=pk)
    context = {
        "record": record,
        "can_apply": False,
        "plan": None,
        "outcome": request.GET.get("outcome", ""),
        "is_bills": record.fmt == UpstreamImport.Format.VENDOR_BILLS,
    }
    rows = []
    if record.state == UpstreamImport.State.PREVIEW:
        try:
            context["plan"] = plan = upstream_import_preview(record)
        except ValidationError as exc:
            context["stale"] = exc.messages
        else:
            rows = [p for p in plan.planned if context["outcome"] in ("", p.outcome)]
            context["counts"] = {outcome: plan.count(outcome) for outcome in OUTCOMES}
            context["can_apply"] = not request.user.is_read_only and bool(plan.planned)
    elif record.state == UpstreamImport.State.APPLIED and record.fmt != UpstreamImport.Format.VENDOR_BILLS:
        rows = VendorUsage.objects.filter(source_import=record).select_related("channel", "model")
        rows = rows.order_by("channel__name", "day", "model_name", "is_batch")
    context["page_obj"] = page = Paginator(rows, 50).get_page(request.GET.get("page"))
    if context["plan"] is not None and not context["is_bills"]:
        for planned in page:
            planned.shown_changes = changes_shown(planned)
    return render(request, "upstream/imports/detail.html", context)


@require_POST
@staff_required(roles=IMPORTERS)
def import_apply(request, pk: int):
    record = get_object_or_404(UpstreamImport, pk=pk)
    try:
        applied = upstream_import_apply(record, user=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _(
                "Applied: %(created)s new, %(changed)s changed, %(unchanged)s unchanged; "
                "%(rejected)s rows rejected."
            )
            % {
                "created": applied.created,
                "changed": applied.updated,
                "unchanged": applied.unchanged,
                "rejected": applied.rejected,
            },
        )
    return redirect("upstream-import-detail", pk=record.pk)
