"""Portal: a resale or agency sub-distributor's retail plans — list, create, edit, preview, assign.

Every plan is looked up among the signed-in seller's own (``owner=request.seller``): another seller's
plan or the operator's answers 404, as if it did not exist. Any member may read; owners and billing
members change prices and assignments.
"""

import contextlib

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import SELLER_MANAGERS, seller_member_required
from catalog.errors import PricingError
from catalog.filters import SellPlanFilter
from catalog.models import PlanRule, SellPlan
from catalog.retail_forms import (
    RetailAssignForm,
    RetailPlanCreateForm,
    RetailPlanEditForm,
    RetailPriceForm,
    RetailRuleForm,
    starts_at,
)
from catalog.selectors.pricing import plan_for_customer
from catalog.selectors.retail import plan_assignments, retail_preview, seller_plans, seller_priced_customers
from catalog.services.plans import plan_assign, plan_rule_create, plan_update, retail_plan_create
from catalog.services.retail import retail_price_set
from common.forms import form_errors_add
from common.listing import filtered_page

editor_required = seller_member_required(roles=SELLER_MANAGERS)


def _plan_or_404(request, pk: int) -> SellPlan:
    return get_object_or_404(SellPlan.objects.select_related("owner"), pk=pk, owner=request.seller)


def _currency(seller) -> str:
    terms = getattr(seller, "billing_terms", None)
    return getattr(terms, "currency", None) or settings.BASE_CURRENCY


@seller_member_required()
def seller_plan_list(request):
    context = filtered_page(request, seller_plans(request.seller).order_by("name"), SellPlanFilter)
    context["can_edit"] = request.user.membership.role in SELLER_MANAGERS
    return render(request, "portal/plans/list.html", context)


@editor_required
def seller_plan_create(request):
    form = RetailPlanCreateForm(request.POST or None, currency=_currency(request.seller))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            plan = retail_plan_create(
                owner=request.seller,
                name=data["name"],
                currency=data["currency"],
                description=data["description"],
                is_default=data["is_default"],
                **form.rule_arguments(),
            )
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(request, _("Plan %(plan)s created.") % {"plan": plan.name})
            return redirect("portal-plan-detail", pk=plan.pk)
    return render(request, "portal/plans/form.html", {"form": form, "plan": None})


@editor_required
def seller_plan_edit(request, pk: int):
    plan = _plan_or_404(request, pk)
    initial = {f: getattr(plan, f) for f in ("name", "description", "is_default", "is_active")}
    form = RetailPlanEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            plan_update(plan=plan, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(request, _("Plan %(plan)s saved.") % {"plan": plan.name})
            return redirect("portal-plan-detail", pk=plan.pk)
    return render(request, "portal/plans/form.html", {"form": form, "plan": plan})


@seller_member_required()
def seller_plan_detail(request, pk: int):
    return _detail(request, _plan_or_404(request, pk))


def _detail(request, plan: SellPlan, **forms):
    """Render the plan page; ``forms`` are bound forms to show with their errors after a refused POST."""
    now = timezone.now()
    can_edit = request.user.membership.role in SELLER_MANAGERS
    explicit = plan.rules.filter(method=PlanRule.Method.EXPLICIT).exists()
    context = {
        "plan": plan,
        "now": now,
        "can_edit": can_edit,
        "explicit": explicit,
        "rules": plan.rules.select_related("model", "vendor").order_by("-effective_from"),
        "rows": retail_preview(plan, now),
        "assignments": plan_assignments(plan, now),
        "buy_plan": None,
        # Raised by the price check when prices under this plan move (a wholesale rise, a list cut).
        "alerts": plan.alerts.filter(resolved_at__isnull=True)
        .select_related("model")
        .order_by("model__name"),
    }
    with contextlib.suppress(PricingError):  # no buy plan: the page says so
        context["buy_plan"] = plan_for_customer(request.seller, now)[0]
    if can_edit:
        context["rule_form"] = forms.get("rule_form") or RetailRuleForm()
        context["price_form"] = forms.get("price_form") or RetailPriceForm()
        context["assign_form"] = forms.get("assign_form") or RetailAssignForm(
            customers=seller_priced_customers(request.seller)
        )
    return render(request, "portal/plans/detail.html", context)


@require_POST
@editor_required
def seller_plan_rule_add(request, pk: int):
    plan = _plan_or_404(request, pk)
    form = RetailRuleForm(request.POST)
    if form.is_valid():
        try:
            plan_rule_create(
                plan=plan, model=form.cleaned_data["model"], close_open=True, **form.rule_arguments()
            )
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(request, _("New prices saved."))
            return redirect("portal-plan-detail", pk=plan.pk)
    return _detail(request, plan, rule_form=form)


@require_POST
@editor_required
def seller_plan_price_set(request, pk: int):
    plan = _plan_or_404(request, pk)
    form = RetailPriceForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            retail_price_set(
                plan=plan,
                model=data["model"],
                effective_from=starts_at(data["effective"]),
                input=data["input"],
                output=data["output"],
                cache_read=data["cache_read"],
                created_by=request.user,
            )
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(request, _("Price of %(model)s saved.") % {"model": data["model"].name})
            return redirect("portal-plan-detail", pk=plan.pk)
    return _detail(request, plan, price_form=form)


@require_POST
@editor_required
def seller_plan_assign(request, pk: int):
    plan = _plan_or_404(request, pk)
    # Only customers this seller prices are offered, so another seller's customer id is "not a choice".
    form = RetailAssignForm(request.POST, customers=seller_priced_customers(request.seller))
    if form.is_valid():
        data = form.cleaned_data
        try:
            plan_assign(
                customer=data["customer"],
                plan=plan,
                effective_from=starts_at(data["effective"]),
                note=data["note"],
                created_by=request.user,
            )
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(
                request,
                _("%(plan)s assigned to %(customer)s.")
                % {"plan": plan.name, "customer": data["customer"].name},
            )
            return redirect("portal-plan-detail", pk=plan.pk)
    return _detail(request, plan, assign_form=form)
