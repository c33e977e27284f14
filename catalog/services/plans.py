"""Create sell plans and their rules; assign plans to customers and sub-distributors."""

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import Customer
from catalog.models import AIModel, BookKind, PlanAssignment, PlanRule, PriceBook, SellPlan, Vendor
from catalog.services.validation import overlap_check


def plan_create(
    *,
    name: str,
    currency: str,
    is_default: bool = False,
    margin_floor: Decimal = Decimal(0),
    description: str = "",
) -> SellPlan:
    plan = SellPlan(
        name=name.strip(),
        currency=(currency or "").upper(),
        is_default=is_default,
        margin_floor=margin_floor,
        description=description,
    )
    plan.full_clean()
    plan.save()
    return plan


@transaction.atomic
def plan_rule_create(
    *,
    plan: SellPlan,
    method: str,
    effective_from: datetime,
    effective_to: datetime | None = None,
    model: AIModel | None = None,
    vendor: Vendor | None = None,
    markup: Decimal | None = None,
    discount: Decimal | None = None,
    source_book: PriceBook | None = None,
) -> PlanRule:
    """Add a pricing rule to ``plan`` for one model, one vendor's models, or all models.

    Rules for the same scope may not overlap in time; the overlap is refused with the spans named.
    """
    if model is not None and vendor is not None:
        raise ValidationError({"model": "A rule covers one model or one vendor, not both."})
    expected_kind = {
        PlanRule.Method.COST_MARKUP: BookKind.COST,
        PlanRule.Method.LIST_DISCOUNT: BookKind.LIST,
        PlanRule.Method.EXPLICIT: BookKind.SELL,
    }.get(method)
    if expected_kind is None:
        raise ValidationError({"method": f"Unknown method {method!r}."})
    if method == PlanRule.Method.COST_MARKUP and markup is None:
        raise ValidationError({"markup": "A cost-plus rule needs a markup (0.055 for 5.5%)."})
    if method == PlanRule.Method.LIST_DISCOUNT and discount is None:
        raise ValidationError({"discount": "A list-discount rule needs a discount (0.30 for 30% off)."})
    if method == PlanRule.Method.EXPLICIT and source_book is None:
        raise ValidationError({"source_book": "An explicit rule needs the sell book holding its prices."})
    if source_book is not None and source_book.kind != expected_kind:
        message = f"{source_book.name} is a {source_book.kind} book; this rule needs a {expected_kind} book."
        raise ValidationError({"source_book": message})
    rule = PlanRule(
        plan=plan,
        method=method,
        model=model,
        vendor=vendor,
        markup=markup if method == PlanRule.Method.COST_MARKUP else None,
        discount=discount if method == PlanRule.Method.LIST_DISCOUNT else None,
        source_book=source_book,
        effective_from=effective_from,
        effective_to=effective_to,
    )
    rule.full_clean()
    SellPlan.objects.select_for_update().get(pk=plan.pk)
    same_scope = PlanRule.objects.filter(plan=plan, model=model, vendor=vendor)
    overlap_check(effective_from, effective_to, same_scope, f"The rule for {rule.scope_label}")
    rule.save()
    return rule


@transaction.atomic
def plan_assign(
    *,
    customer: Customer,
    plan: SellPlan,
    effective_from: datetime,
    effective_to: datetime | None = None,
    note: str = "",
    created_by=None,
) -> PlanAssignment:
    """Give ``customer`` (and, for a sub-distributor, its whole subtree) ``plan`` from a date.

    An open-ended earlier assignment ends where the new one starts; other overlaps are refused.
    """
    if not plan.is_active:
        raise ValidationError({"plan": f"{plan.name} is not active."})
    # Lock the customer's assignments: two concurrent assignments must not both close the same one.
    existing = list(PlanAssignment.objects.select_for_update().filter(customer=customer))
    for assignment in existing:
        if assignment.effective_to is None and assignment.effective_from < effective_from:
            assignment.effective_to = effective_from
            assignment.save(update_fields=["effective_to"])
    overlap_check(effective_from, effective_to, existing, f"{plan.name} for {customer.name}")
    return PlanAssignment.objects.create(
        customer=customer,
        plan=plan,
        effective_from=effective_from,
        effective_to=effective_to,
        note=note,
        created_by=created_by,
    )
