"""Staff pages for dunning: policies with their levels (finance and admin edit), and the notices sent."""

from django.contrib import messages
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from accounts.models import StaffRole
from accounts.permissions import staff_required
from accounts.selectors import customers_visible_to
from billing.dunning.filters import DunningNoticeFilter, DunningPolicyFilter
from billing.dunning.forms import DunningLevelFormSet, DunningPolicyForm
from billing.dunning.models import DunningNotice, DunningPolicy
from billing.dunning.services import dunning_policy_save
from common.listing import filtered_page

FINANCE = (StaffRole.FINANCE, StaffRole.ADMIN)


@staff_required(roles=FINANCE)
def policy_list(request):
    queryset = (
        DunningPolicy.objects.annotate(
            customers=Count("billingterms", distinct=True), level_count=Count("levels", distinct=True)
        )
        .prefetch_related("levels")
        .order_by("name")
    )
    context = filtered_page(request, queryset, DunningPolicyFilter)
    context["can_edit"] = request.user.staff_role in FINANCE
    return render(request, "dunning/policy_list.html", context)


def _policy_form(request, policy: DunningPolicy | None):
    policy_form = DunningPolicyForm(request.POST or None, instance=policy)
    formset = DunningLevelFormSet(request.POST or None, instance=policy or DunningPolicy(), prefix="levels")
    if request.method == "POST" and policy_form.is_valid() and formset.is_valid():
        policy = dunning_policy_save(policy_form=policy_form, level_formset=formset)
        messages.success(request, _("Dunning policy %(name)s saved.") % {"name": policy.name})
        return redirect("staff-dunning-policies")
    context = {"policy": policy, "form": policy_form, "formset": formset}
    return render(request, "dunning/policy_form.html", context)


@staff_required(roles=FINANCE, auditor_reads=False)
def policy_create(request):
    return _policy_form(request, None)


@staff_required(roles=FINANCE)
def policy_edit(request, pk: int):
    return _policy_form(request, get_object_or_404(DunningPolicy, pk=pk))


@staff_required(roles=FINANCE)
def notice_list(request):
    queryset = DunningNotice.objects.filter(
        invoice__customer__in=customers_visible_to(request.user)
    ).select_related("invoice", "invoice__customer", "level")
    return render(request, "dunning/notice_list.html", filtered_page(request, queryset, DunningNoticeFilter))
