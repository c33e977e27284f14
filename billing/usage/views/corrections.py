"""Finance re-rates rated usage after a price error: preview the difference, then post it (with a reason).

The service is ``billing.usage.corrections``; this page lists past corrections (the audit trail), shows
what a re-rating would change before anything is written, and applies it.
"""

import django_filters
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import StaffRole
from accounts.permissions import staff_required
from accounts.selectors import customers_visible_to
from billing.usage.correction_forms import UsageCorrectionForm
from billing.usage.corrections import rerate_diff, usage_correct
from billing.usage.models import UsageCorrection
from common.filters import StyledFilterSet
from common.forms import form_errors_add
from common.listing import filtered_page

CORRECTING_ROLES = (StaffRole.FINANCE, StaffRole.ADMIN)


class UsageCorrectionFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=gettext_lazy("Customer, model or reason"), method="search")
    o = django_filters.OrderingFilter(fields=(("created_at", "created"), ("since", "since")))

    class Meta:
        model = UsageCorrection
        fields = ["q"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(customer__name__icontains=value) | Q(model__name__icontains=value) | Q(reason__icontains=value)
        )


@staff_required(roles=CORRECTING_ROLES)
def usage_corrections(request):
    customers = customers_visible_to(request.user)
    form = UsageCorrectionForm(request.POST or None, customers=customers)
    diff = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        since, until = form.span
        scope = {"customer": data["customer"], "model": data["model"], "since": since, "until": until}
        if "apply" in request.POST:
            try:
                correction = usage_correct(
                    **scope,
                    reason=data["reason"],
                    actor=request.user,
                    idempotency_key=data["idempotency_key"],
                )
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(
                    request,
                    _("%(count)s event(s) re-rated; the difference is posted.")
                    % {"count": correction.events},
                )
                return redirect("staff-usage-corrections")
        else:
            diff = rerate_diff(**scope)
    context = filtered_page(
        request,
        UsageCorrection.objects.filter(customer__in=customers).select_related(
            "customer", "model", "created_by"
        ),
        UsageCorrectionFilter,
    )
    context.update(form=form, diff=diff)
    status = 400 if request.method == "POST" and form.errors else 200
    return render(request, "dashboard/usage/corrections.html", context, status=status)
