"""What a sub-distributor's retail plan sells at, beside what the sub-distributor buys at, per model."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import BooleanField, Case, Count, Q, QuerySet, When

from accounts.models import Customer
from catalog.errors import PricingError
from catalog.models import AIModel, PlanAssignment, SellPlan
from catalog.rating import margin_rate
from catalog.selectors.models import active_models
from catalog.selectors.pricing import PricingSnapshot, in_force


@dataclass(frozen=True)
class PreviewRow:
    """First-tier prices per million tokens, in the plan's currency; ``wholesale_*`` None when unknown."""

    model: AIModel
    input: Decimal | None = None
    cache_read: Decimal | None = None
    output: Decimal | None = None
    wholesale_input: Decimal | None = None
    wholesale_output: Decimal | None = None
    tiered: bool = False
    unavailable: str = ""

    @property
    def input_margin(self) -> Decimal | None:
        return _margin(self.input, self.wholesale_input)

    @property
    def output_margin(self) -> Decimal | None:
        return _margin(self.output, self.wholesale_output)


def _margin(sell: Decimal | None, buy: Decimal | None) -> Decimal | None:
    if sell is None or buy is None:
        return None
    return margin_rate(sell, buy)


def retail_preview(plan: SellPlan, at: datetime) -> list[PreviewRow]:
    """Return one row per active model: the plan's price and the owner's wholesale price at ``at``."""
    snapshot = PricingSnapshot(at)
    rows = []
    for model in active_models():
        try:
            price = snapshot.plan_price(plan, model)
        except PricingError as exc:
            rows.append(PreviewRow(model=model, unavailable=exc.message))
            continue
        standard = price.sell._standard[0]
        buy = price.cost._standard[0] if price.cost is not None else None
        rows.append(
            PreviewRow(
                model=model,
                input=standard[0],
                cache_read=standard[1],
                output=standard[4],
                wholesale_input=buy[0] if buy else None,
                wholesale_output=buy[4] if buy else None,
                tiered=len(price.sell.tiers) > 1,
            )
        )
    return rows


def seller_plans(seller: Customer) -> QuerySet[SellPlan]:
    """``seller``'s plans with how many customers each prices now (by assignment)."""
    return SellPlan.objects.filter(owner=seller).annotate(
        customers=Count(
            "assignments__customer", filter=Q(assignments__effective_to__isnull=True), distinct=True
        )
    )


def seller_priced_customers(seller: Customer) -> QuerySet[Customer]:
    """The customers ``seller``'s plans price (its price-owned subtree), by name."""
    return Customer.objects.filter(price_owner=seller).order_by("name")


def plan_assignments(plan: SellPlan, at: datetime) -> QuerySet[PlanAssignment]:
    """``plan``'s assignments, current ones first."""
    return (
        plan.assignments.select_related("customer")
        .annotate(current=Case(When(in_force(at), then=True), default=False, output_field=BooleanField()))
        .order_by("-current", "customer__name", "-effective_from")
    )
