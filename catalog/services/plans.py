"""Create sell plans and their rules; assign plans to customers and sub-distributors."""

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

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
        raise ValidationError({"model": _("A rule covers one model or one vendor, not both.")})
    expected_kind = {
        PlanRule.Method.COST_MARKUP: BookKind.COST,
        PlanRule.Method.LIST_DISCOUNT: BookKind.LIST,
        PlanRule.Method.EXPLICIT: BookKind.SELL,
    }.get(method)
    if expected_kind is None:
        raise ValidationError({"method": _("Unknown method %(method)s.") % {"method": repr(method)}})
    if method == PlanRule.Method.COST_MARKUP and markup is None:
        # xgettext:no-python-format
        raise ValidationError({"markup": _("A cost-plus rule needs a markup (0.055 for 5.5%).")})
    if method == PlanRule.Method.LIST_DISCOUNT and discount is None:
        # xgettext:no-python-format
        raise ValidationError({"discount": _("A list-discount rule needs a discount (0.30 for 30% off).")})
    if method == PlanRule.Method.EXPLICIT and source_book is None:
        raise ValidationError({"source_book": _("An explicit rule needs the sell book holding its prices.")})
    if source_book is not None and source_book.kind != expected_kind:
        message = _("%(book)s is a %(kind)s book; this rule needs a %(expected)s book.") % {
            "book": source_book.name,
            "kind": source_book.kind,
            "expected": expected_kind,
        }
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
    what = _("The rule for %(scope)s") % {"scope": rule.scope_label}
    overlap_check(effective_from, effective_to, same_scope, what)
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
        raise ValidationError({"plan": _("%(plan)s is not active.") % {"plan": plan.name}})
    # Lock the customer's assignments: two concurrent assignments must not both close the same one.
    existing = list(PlanAssignment.objects.select_for_update().filter(customer=customer))
    for assignment in existing:
        if assignment.effective_to is None and assignment.effective_from < effective_from:
            assignment.effective_to = effective_from
            assignment.save(update_fields=["effective_to"])
    what = _("%(plan)s for %(customer)s") % {"plan": plan.name, "customer": customer.name}
    overlap_check(effective_from, effective_to, existing, what)
    return PlanAssignment.objects.create(
        customer=customer,
        plan=plan,
        effective_from=effective_from,
        effective_to=effective_to,
        note=note,
        created_by=created_by,
    )
