"""The reconciliation pages: runs (with "run now"), a run's lines with totals per class and a chart, a
line's drill-down to our hourly rollups and raw events, and a run's lines as CSV.

Roles: admin and finance read and run; auditors read (``staff_required`` lets them GET); sales and
support are refused.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import StaffRole
from accounts.permissions import staff_required
from billing.upstream.reconcile.forms import LineFilter, RunFilter, RunForm
from billing.upstream.reconcile.selectors import (
    class_chart,
    class_rows,
    line_events,
    line_get,
    line_rollups,
    line_spans,
    lines_csv_rows,
    run_lines,
    runs,
)
from billing.upstream.reconcile.tasks import reconcile_task
from common.csv_export import csv_lines, csv_response
from common.listing import filtered_page
from common.task_queue import QueueUnavailable, task_queue

FINANCE_ROLES = (StaffRole.ADMIN, StaffRole.FINANCE)


def _runs_page(request, form: RunForm, status: int = 200):
    context = filtered_page(request, runs(), RunFilter)
    for run in context["page_obj"]:
        run.flagged_classes = [row for row in class_rows(run) if row["lines"] and row["klass"] != "matched"]
    context.update(run_form=form, can_run=not request.user.is_read_only)
    return render(request, "upstream/reconcile/runs.html", context, status=status)


@staff_required(roles=FINANCE_ROLES)
def recon_runs(request):
    return _runs_page(request, RunForm())


@require_POST
@staff_required(roles=FINANCE_ROLES)
def recon_run_now(request):
    form = RunForm(request.POST)
    if not form.is_valid():
        return _runs_page(request, form, status=400)
    data = form.cleaned_data
    args = (data["date_from"].isoformat(), data["date_to"].isoformat())
    channel_id = data["channel"].pk if data["channel"] else None
    # Queued now, not through the outbox: finance waits for this run, and a run that started by itself an
    # hour later would surprise them; when the queue is down they are told and press the button again.
    # Nothing is written before the task runs (it records the run), so nothing is left pending.
    try:
        task_queue(reconcile_task, *args, channel_id, request.user.pk)
    except QueueUnavailable:
        messages.error(
            request,
            _(
                "The task queue is unreachable, so the reconciliation was not started. Try again in a few "
                "minutes."
            ),
        )
        return redirect("upstream-recon-runs")
    messages.success(
        request,
        _("Reconciliation of %(start)s to %(end)s started; the run appears here when it is done.")
        % {"start": data["date_from"], "end": data["date_to"]},
    )
    return redirect("upstream-recon-runs")


@staff_required(roles=FINANCE_ROLES)
def recon_run(request, pk: int):
    run = get_object_or_404(runs(), pk=pk)
    context = filtered_page(request, run_lines(run), LineFilter, per_page=50)
    context.update(run=run, classes=class_rows(run), chart=class_chart(run))
    context["chart_labels"] = {"value": _("Value at stake"), "lines": _("Lines")}
    return render(request, "upstream/reconcile/run.html", context)


@staff_required(roles=FINANCE_ROLES)
def recon_run_csv(request, pk: int):
    run = get_object_or_404(runs(), pk=pk)
    return csv_response(
        csv_lines(lines_csv_rows(run)), f"reconciliation-{run.pk}-{run.date_from}-{run.date_to}.csv"
    )


@staff_required(roles=FINANCE_ROLES)
def recon_line(request, pk: int):
    line = line_get(pk)
    if line is None:
        raise Http404
    events = line_events(line, request.GET.get("after", ""))
    context = {
        "line": line,
        "run": line.run,
        "rollups": line_rollups(line),
        "spans": line_spans(line),
        "events": events,
        "after": request.GET.get("after", ""),
        "sides": _sides(line),
    }
    return render(request, "upstream/reconcile/line.html", context)


def _sides(line) -> list[tuple[str, object, object]]:
    """Each figure with ours and theirs side by side, for the line's comparison table."""
    labels = (
        ("requests", _("Requests")),
        ("input", _("Uncached input tokens")),
        ("cache_read", _("Cache read tokens")),
        ("cache_write", _("Cache write tokens (5 min)")),
        ("cache_write_1h", _("Cache write tokens (1 h)")),
        ("output", _("Output tokens (reasoning included)")),
        ("cost", _("Cost")),
    )
    return [(label, line.ours.get(key), line.theirs.get(key)) for key, label in labels]
