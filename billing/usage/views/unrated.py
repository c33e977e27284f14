"""The unrated queue: events that could not be rated, why, and a bulk re-rate once the cause is fixed."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.permissions import staff_required
from billing.usage.actions import rerate_enqueue
from billing.usage.filters import UnratedFilter
from billing.usage.selectors import rerate_runs, unrated_counts, unrated_events
from billing.usage.views.common import USAGE_WRITE_ROLES
from common.listing import filtered_page
from common.stored_text import stored, stored_render


@staff_required()
def unrated_list(request):
    events = unrated_events().select_related("source")
    context = filtered_page(request, events.order_by("-occurred_at", "-id"), UnratedFilter)
    usage_filter = context["filter"]
    matching = usage_filter.qs if usage_filter.is_bound and usage_filter.is_valid() else events
    context.update(
        # Counted by reason code, each told by its stored text's label (``usage.unrated_code.<code>``).
        reason_counts=[
            (code, stored_render(stored(f"usage.unrated_code.{code}"), code), count)
            for code, count in unrated_counts(unrated_events())
        ],
        matching_count=matching.count(),
        runs=rerate_runs(),
        can_rerate=request.user.staff_role in USAGE_WRITE_ROLES,
        query=request.GET.urlencode(),
    )
    return render(request, "dashboard/usage/unrated.html", context)


@require_POST
@staff_required(roles=USAGE_WRITE_ROLES)
def unrated_rerate(request):
    """Queue a re-rate of the selected events, or of every event the posted filter matches."""
    if request.POST.get("scope") == "selected":
        ids = [int(v) for v in request.POST.getlist("event") if v.isdigit()]
        if not ids:
            messages.warning(request, _("Select at least one event to re-rate."))
            return redirect(_back(request))
    else:
        usage_filter = UnratedFilter(request.POST, queryset=unrated_events(), request=request)
        if not usage_filter.is_valid():
            messages.error(request, usage_filter.errors.as_text())
            return redirect(_back(request))
        ids = list(usage_filter.qs.order_by().values_list("pk", flat=True))
    queued = rerate_enqueue(event_ids=ids)
    if queued.kept:
        messages.warning(
            request,
            ngettext(
                "%(count)d event to re-rate, but the task queue is unreachable: the re-rating starts by "
                "itself within a minute of its return.",
                "%(count)d events to re-rate, but the task queue is unreachable: the re-rating starts by "
                "itself within a minute of its return.",
                queued.events,
            )
            % {"count": queued.events},
        )
        return redirect(_back(request))
    messages.success(
        request,
        ngettext(
            "%(count)d event queued for re-rating. Once its cause is fixed it is rated and charged; "
            "the re-rating runs below show the results.",
            "%(count)d events queued for re-rating. Those whose cause is fixed are rated and charged; "
            "the re-rating runs below show the results.",
            queued.events,
        )
        % {"count": queued.events},
    )
    return redirect(_back(request))


def _back(request) -> str:
    query = request.POST.get("query", "")
    return f"{reverse('staff-usage-unrated')}{'?' + query if query else ''}"
