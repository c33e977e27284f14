"""Staff pages for manual journal entries: the list, the proposal form, a proposal with its decision, and
its attachments (served through a view so only finance and admins can read them)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import staff_required
from billing.journals.filters import ManualJournalFilter
from billing.journals.forms import LINES_DEFAULT, LINES_MAX, ManualJournalForm, RejectForm, line_formset
from billing.journals.models import ManualJournal, ManualJournalAttachment
from billing.journals.selectors import manual_journals
from billing.journals.services import (
    APPROVER_ROLES,
    PROPOSER_ROLES,
    manual_journal_approve,
    manual_journal_propose,
    manual_journal_reject,
)
from common.forms import form_errors_add
from common.listing import filtered_page


@staff_required(roles=PROPOSER_ROLES)
def journal_list(request):
    context = filtered_page(request, manual_journals(), ManualJournalFilter)
    context["pending"] = ManualJournal.objects.filter(status=ManualJournal.Status.PROPOSED).count()
    return render(request, "dashboard/journals/list.html", context)


@staff_required(roles=PROPOSER_ROLES, auditor_reads=False)
def journal_create(request):
    posted = request.method == "POST"
    form = ManualJournalForm(request.POST or None, request.FILES or None)
    lines = line_formset(request.POST if posted else None)
    if posted and form.is_valid() and lines.is_valid():
        try:
            journal = manual_journal_propose(
                proposer=request.user,
                reason=form.cleaned_data["reason"],
                effective_date=form.cleaned_data["effective_date"],
                lines=lines.line_inputs(),
                attachments=form.cleaned_data["attachments"],
                idempotency_key=form.cleaned_data["idempotency_key"],
                book=form.cleaned_data["book"],
            )
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(request, _("Journal entry proposed. An admin other than you must approve it."))
            return redirect("staff-manual-journal-detail", pk=journal.pk)
    context = {"form": form, "lines": lines, "next_index": lines.total_form_count()}
    return render(request, "dashboard/journals/form.html", context, status=400 if posted else 200)


@staff_required(roles=PROPOSER_ROLES, auditor_reads=False)
def journal_line_row(request):
    """One more blank line for the form (htmx), with the formset's new count and the next button."""
    raw = request.GET.get("index", "")
    index = int(raw) if raw.isdigit() else LINES_DEFAULT
    if index >= LINES_MAX:
        return HttpResponse(status=204)
    row = line_formset().empty_form
    row.prefix = f"lines-{index}"
    context = {"row": row, "position": index + 1, "next_index": index + 1, "lines_max": LINES_MAX}
    return render(request, "dashboard/journals/_line_row.html", context)


@staff_required(roles=PROPOSER_ROLES)
def journal_detail(request, pk: int):
    journal = get_object_or_404(manual_journals(), pk=pk)
    context = {
        "journal": journal,
        "lines": journal.lines.select_related("account", "account__customer", "account__vendor"),
        "attachments": journal.attachments.all(),
        "reject_form": RejectForm(),
        "may_decide": journal.status == ManualJournal.Status.PROPOSED
        and request.user.staff_role in APPROVER_ROLES
        and journal.proposed_by_id != request.user.pk,
        "may_download": request.user.staff_role in PROPOSER_ROLES,
    }
    return render(request, "dashboard/journals/detail.html", context)


@require_POST
@staff_required(roles=APPROVER_ROLES)
def journal_decide(request, pk: int):
    journal = get_object_or_404(manual_journals(), pk=pk)
    try:
        if request.POST.get("decision") == "approve":
            manual_journal_approve(journal=journal, approver=request.user)
            messages.success(request, _("Journal entry approved and posted."))
        else:
            form = RejectForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Say why the journal entry is rejected."))
                return redirect("staff-manual-journal-detail", pk=pk)
            manual_journal_reject(journal=journal, approver=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, _("Journal entry rejected; nothing was posted."))
    except PermissionDenied as exc:
        # The page offers no buttons to the proposer; reaching here is a forged or stale request.
        return HttpResponseForbidden(str(exc) or _("You may not decide this journal entry."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("staff-manual-journal-detail", pk=pk)


@staff_required(roles=PROPOSER_ROLES, auditor_reads=False)
def journal_attachment(request, pk: int, attachment_pk: int):
    attachment = get_object_or_404(ManualJournalAttachment, pk=attachment_pk, journal_id=pk)
    return FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.name)
