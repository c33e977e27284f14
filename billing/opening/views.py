"""Staff pages of opening balances: upload a file to a preview, apply it, read the history.

Admin and finance import; auditors read the history and every import but cannot upload or apply; sales,
support and portal users are refused.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.models import StaffRole
from accounts.permissions import staff_required
from billing.opening.filters import OpeningImportFilter
from billing.opening.forms import OpeningUploadForm
from billing.opening.models import OpeningImport
from billing.opening.parse import header_of
from billing.opening.plan import OUTCOMES
from billing.opening.services import opening_import, opening_import_apply, opening_import_preview
from common.csv_export import csv_response, csv_text
from common.listing import filtered_page

IMPORTERS = (StaffRole.ADMIN, StaffRole.FINANCE)
Kind = OpeningImport.Kind
# One example row per kind for the template file (the columns are ``parse.COLUMNS``).
EXAMPLES = {
    Kind.RECEIVABLES: "acme,OLD-2026-0412,2026-10-31,2026-11-30,12800.00,CNY,October services",
    Kind.DEPOSITS: "acme,DEP-0007,2026-11-30,5000.00,CNY,Prepaid balance",
    Kind.UPSTREAM: "openai-main,ORD-88123,2026-11-30,1500.00,USD,2027-06-30,Credit left at the vendor",
}


def _imports():
    return OpeningImport.objects.select_related("created_by")


@staff_required(roles=IMPORTERS)
def import_list(request):
    """The history of imports and, for those who may import, the upload form (POST: preview a file)."""
    form = OpeningUploadForm(request.POST or None, request.FILES or None)
    refused = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        record = opening_import(
            content=upload.read(),
            filename=upload.name,
            kind=form.cleaned_data["kind"],
            apply=False,
            user=request.user,
        )
        if record.state == OpeningImport.State.PREVIEW:
            return redirect("opening-import-detail", pk=record.pk)
        refused = record
    context = filtered_page(request, _imports(), OpeningImportFilter)
    context |= {
        "form": form,
        "refused": refused,
        "can_import": not request.user.is_read_only,
        "headers": [(kind, label, header_of(kind)) for kind, label in Kind.choices],
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "opening/list.html", context, status=status)


@staff_required(roles=IMPORTERS)
def import_template(request, kind: str):
    """A CSV file with the header of ``kind`` and one example row, to fill in."""
    if kind not in Kind.values:
        raise Http404
    rows = [header_of(kind).split(","), EXAMPLES[kind].split(",")]
    return csv_response(csv_text(rows), f"opening-{kind}.csv")


@staff_required(roles=IMPORTERS)
def import_detail(request, pk: int):
    """A preview (every row with what applying would do, its errors and the totals) or a past import."""
    record = get_object_or_404(_imports(), pk=pk)
    outcome = request.GET.get("outcome", "")
    outcome = outcome if outcome in OUTCOMES else ""
    context = {"record": record, "outcome": outcome, "plan": None, "can_apply": False}
    rows = []
    if record.state != OpeningImport.State.REFUSED:
        try:
            plan = opening_import_preview(record)
        except ValidationError as exc:
            context["stale"] = exc.messages
        else:
            context["plan"] = plan
            context["counts"] = {name: plan.count(name) for name in OUTCOMES}
            context["totals"] = plan.totals()
            context["digest"] = plan.digest()
            context["can_apply"] = (
                record.state == OpeningImport.State.PREVIEW
                and not request.user.is_read_only
                and not plan.errors
            )
            rows = [p for p in plan.rows if outcome in ("", p.outcome)]
    context["page_obj"] = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "opening/detail.html", context)


@require_POST
@staff_required(roles=IMPORTERS)
def import_apply(request, pk: int):
    record = get_object_or_404(OpeningImport, pk=pk)
    try:
        applied = opening_import_apply(record, digest=request.POST.get("digest", ""), user=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        if applied.state == OpeningImport.State.APPLIED:
            messages.success(
                request,
                _("Applied: %(created)s created, %(unchanged)s already imported.")
                % {"created": applied.created, "unchanged": applied.unchanged},
            )
        else:
            messages.error(
                request,
                ngettext(
                    "Nothing was applied: %(rows)s row is in error now. The errors are listed below.",
                    "Nothing was applied: %(rows)s rows are in error now. The errors are listed below.",
                    applied.rejected,
                )
                % {"rows": applied.rejected},
            )
    return redirect("opening-import-detail", pk=record.pk)
