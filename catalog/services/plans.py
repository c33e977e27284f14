"""Create sell plans and their rules; assign plans to customers and sub-distributors.

A plan belongs to the operator (``owner`` None) or to a resale or agency sub-distributor, and only prices
the customers whose ``price_owner`` is its owner. A sub-distributor's plan derives from its own buy price
(wholesale markup), from list, or from explicit prices in a book it owns; never from our cost.
"""

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer
from catalog.models import AIModel, BookKind, PlanAssignment, PlanRule, PriceBook, SellPlan, Vendor
from catalog.services.alerts import price_check_run
from catalog.services.retail import floor_check, retail_book_for, rule_models
from catalog.services.validation import overlap_check
from common.currencies import currency_check


def _owner_check(owner: Customer | None) -> None:
    if owner is not None and not (
        owner.is_sub_distributor
        and owner.chain_mode in (Customer.ChainMode.RESALE, Customer.ChainMode.AGENCY)
    ):
        message = _("%(name)s does not set its own prices (not a resale or agency sub-distributor).")
        raise ValidationError({"owner": message % {"name": owner.name}})


def _unique_check(plan: SellPlan) -> None:
    """Refuse a second plan of one owner with the same name, or a second default in one currency."""
    siblings = SellPlan.objects.filter(owner=plan.owner).exclude(pk=plan.pk)
    if siblings.filter(name=plan.name).exists():
        raise ValidationError({"name": _("There is already a plan named %(name)s.") % {"name": plan.name}})
    if plan.is_default and siblings.filter(is_default=True, currency=plan.currency).exists():
        raise ValidationError(
            {
                "is_default": _("There is already a default plan in %(currency)s.")
                % {"currency": plan.currency}
            }
        )


@transaction.atomic
def plan_create(
    *,
    name: str,
    currency: str,
    is_default: bool = False,
    margin_floor: Decimal = Decimal(0),
    description: str = "",
    owner: Customer | None = None,
) -> SellPlan:
    """Create a plan of the operator, or with ``owner`` a sub-distributor's retail plan."""
    _owner_check(owner)
    plan = SellPlan(
        owner=owner,
        name=name.strip(),
        currency=currency_check(currency),
        is_default=is_default,
        margin_floor=margin_floor,
        description=description,
    )
    _unique_check(plan)
    plan.full_clean()
    plan.save()
    return plan


@transaction.atomic
def plan_update(
    *, plan: SellPlan, name: str, description: str, is_default: bool, is_active: bool
) -> SellPlan:
    """Rename, describe, make default or retire a plan; its currency and rules stay as they are."""
    plan.name, plan.description = name.strip(), description
    plan.is_default, plan.is_active = is_default, is_active
    _unique_check(plan)
    plan.full_clean()
    plan.save(update_fields=["name", "description", "is_default", "is_active"])
    return plan


EXPECTED_KIND = {
    PlanRule.Method.COST_MARKUP: BookKind.COST,
    PlanRule.Method.WHOLESALE_MARKUP: None,
    PlanRule.Method.LIST_DISCOUNT: BookKind.LIST,
    PlanRule.Method.EXPLICIT: BookKind.SELL,
}


def _rule_source_check(plan: SellPlan, method: str, source_book: PriceBook | None) -> PriceBook | None:
    """Check who may derive from what; return the source book (a retail plan's own explicit book)."""
    owned = plan.owner_id is not None
    if method == PlanRule.Method.COST_MARKUP and owned:
        # Our contract cost is the operator's secret; a sub-distributor marks up what it pays.
        raise ValidationError(
            {"method": _("A sub-distributor's plan marks up its wholesale price, not cost.")}
        )
    if method == PlanRule.Method.WHOLESALE_MARKUP and not owned:
        raise ValidationError({"method": _("Only a sub-distributor's plan marks up a wholesale price.")})
    if method == PlanRule.Method.EXPLICIT and owned and source_book is None:
        return retail_book_for(plan)
    if source_book is None:
        return None
    if method == PlanRule.Method.WHOLESALE_MARKUP:
        raise ValidationError({"source_book": _("A wholesale markup takes no price book.")})
    expected = EXPECTED_KIND[method]
    if source_book.kind != expected:
        message = _("%(book)s is a %(kind)s book; this rule needs a %(expected)s book.") % {
            "book": source_book.name,
            "kind": source_book.kind,
            "expected": expected,
        }
        raise ValidationError({"source_book": message})
    # List books are public prices anyone may discount (only sell books have owners); a sell book is
    # only its owner's.
    if method == PlanRule.Method.EXPLICIT and source_book.owner_id != plan.owner_id:
        raise ValidationError({"source_book": _("%(book)s is not this plan's.") % {"book": source_book.name}})
    return source_book


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
    close_open: bool = False,
    keep_windows: bool = True,
) -> PlanRule:
    """Add a pricing rule to ``plan`` for one model, one vendor's models, or all models.

    Rules for the same scope may not overlap in time; the overlap is refused with the spans named. With
    ``close_open`` an open-ended earlier rule of the same scope ends where this one starts (a price
    change). A sub-distributor's rule that prices a model under its retail floor is refused. With
    ``keep_windows`` False a derived price drops the source book's time-of-day windows (standard price at
    all hours).
    """
    if model is not None and vendor is not None:
        raise ValidationError({"model": _("A rule covers one model or one vendor, not both.")})
    if method not in EXPECTED_KIND:
        raise ValidationError({"method": _("Unknown method %(method)s.") % {"method": repr(method)}})
    markups = (PlanRule.Method.COST_MARKUP, PlanRule.Method.WHOLESALE_MARKUP)
    if method in markups and markup is None:
        # xgettext:no-python-format
        raise ValidationError({"markup": _("A cost-plus rule needs a markup (0.055 for 5.5%).")})
    if method == PlanRule.Method.LIST_DISCOUNT and discount is None:
        # xgettext:no-python-format
        raise ValidationError({"discount": _("A list-discount rule needs a discount (0.30 for 30% off).")})
    source_book = _rule_source_check(plan, method, source_book)
    if method == PlanRule.Method.EXPLICIT and source_book is None:
        raise ValidationError({"source_book": _("An explicit rule needs the sell book holding its prices.")})
    rule = PlanRule(
        plan=plan,
        method=method,
        model=model,
        vendor=vendor,
        markup=markup if method in markups else None,
        discount=discount if method == PlanRule.Method.LIST_DISCOUNT else None,
        source_book=source_book,
        effective_from=effective_from,
        effective_to=effective_to,
        keep_windows=keep_windows,
    )
    rule.full_clean()
    SellPlan.objects.select_for_update().get(pk=plan.pk)
    same_scope = list(PlanRule.objects.filter(plan=plan, model=model, vendor=vendor))
    if close_open:
        for other in same_scope:
            if other.effective_to is None and other.effective_from < effective_from:
                other.effective_to = effective_from
                other.save(update_fields=["effective_to"])
    what = _("The rule for %(scope)s") % {"scope": rule.scope_label}
    overlap_check(effective_from, effective_to, same_scope, what)
    rule.save()
    if plan.owner_id is not None:
        # Inside the transaction: a refused rule (and the rule it would have ended) is rolled back.
        floor_check(plan, effective_from=effective_from, models=rule_models(model=model, vendor=vendor))
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
    if plan.owner_id != customer.price_owner_id:
        # plan_for_customer would never read it: a customer is priced only by its price owner's plans.
        message = _("%(customer)s is not priced by the owner of %(plan)s.")
        raise ValidationError({"plan": message % {"customer": customer.name, "plan": plan.name}})
    # Lock the customer's assignments: two concurrent assignments must not both close the same one.
    existing = list(PlanAssignment.objects.select_for_update().filter(customer=customer))
    for assignment in existing:
        if assignment.effective_to is None and assignment.effective_from < effective_from:
            assignment.effective_to = effective_from
            assignment.save(update_fields=["effective_to"])
    what = _("%(plan)s for %(customer)s") % {"plan": plan.name, "customer": customer.name}
    overlap_check(effective_from, effective_to, existing, what)
    assignment = PlanAssignment.objects.create(
        customer=customer,
        plan=plan,
        effective_from=effective_from,
        effective_to=effective_to,
        note=note,
        created_by=created_by,
    )
    owned = list(SellPlan.objects.filter(owner=customer, is_active=True).select_related("owner"))
    if owned:
        # A new buy price moves every retail plan of the customer that derives from it or is held to a
        # floor over it: check them when the new price starts (or now), as an import checks every plan.
        at = max(effective_from, timezone.now())
        price_check_run(
            trigger=_("buy plan of %(customer)s changed") % {"customer": customer.name}, at=at, plans=owned
        )
    return assignment


@transaction.atomic
def retail_plan_create(
    *,
    owner: Customer,
    name: str,
    currency: str,
    method: str,
    effective_from: datetime,
    markup: Decimal | None = None,
    discount: Decimal | None = None,
    description: str = "",
    is_default: bool = False,
    keep_windows: bool = True,
) -> SellPlan:
    """Create a sub-distributor's plan with its rule for every model, or nothing (a rule under the retail
    floor refuses the plan too)."""
    if owner is None:
        raise ValidationError({"owner": _("A retail plan belongs to a sub-distributor.")})
    plan = plan_create(
        name=name, currency=currency, description=description, is_default=is_default, owner=owner
    )
    plan_rule_create(
        plan=plan,
        method=method,
        effective_from=effective_from,
        markup=markup,
        discount=discount,
        keep_windows=keep_windows,
    )
    return plan
