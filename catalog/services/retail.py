"""A sub-distributor's retail prices: its explicit price book, and the retail floor the operator set.

The floor is checked where a sub-distributor changes a price (a rule, an explicit price) and refused
there with the model and price named; when the prices under it move later (a vendor's or the operator's
price change), ``catalog.services.alerts.price_check_run`` raises a RETAIL_FLOOR alert instead.
"""

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal, localcontext

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import AIModel, BookKind, PriceBook, PriceEntry, SellPlan
from catalog.rating import EXACT, ONE, TierPrices
from catalog.selectors.models import active_models
from catalog.selectors.profitability import PriceFinding, under_floor, unprofitable_prices
from catalog.services.books import price_entry_create


def retail_book_for(plan: SellPlan) -> PriceBook:
    """Return the sell book holding ``plan``'s explicit prices, owned by the plan's sub-distributor: the
    one its explicit rules read, else a new one (named with the plan's id, which a rename keeps)."""
    used = (
        PriceBook.objects.filter(owner=plan.owner, plan_rules__plan=plan, plan_rules__method="explicit")
        .order_by("pk")
        .first()
    )
    if used is not None:
        return used
    book, _created = PriceBook.objects.get_or_create(
        owner=plan.owner,
        name=f"#{plan.pk} {plan.name}"[:120],
        defaults={"kind": BookKind.SELL, "currency": plan.currency},
    )
    return book


def floor_breaches(plan: SellPlan, *, at: datetime, models: Iterable[AIModel]) -> list[PriceFinding]:
    """Return ``plan``'s prices under its owner's wholesale × (1 + retail floor) at ``at``."""
    if plan.owner_id is None or plan.owner.retail_floor is None:
        return []
    floor = plan.owner.retail_floor
    return [
        f
        for f in unprofitable_prices(at, plans=[plan], models=list(models))
        if under_floor(f.sell_price, f.cost_price, floor)
    ]


def floor_check(plan: SellPlan, *, effective_from: datetime, models: Iterable[AIModel]) -> None:
    """Refuse (ValidationError) a change that puts ``plan`` under its retail floor.

    Checked at the change's start, or now for a change already in force: that is when it would first
    charge anyone.
    """
    at = max(effective_from, timezone.now())
    breaches = floor_breaches(plan, at=at, models=models)
    if not breaches:
        return
    floor = plan.owner.retail_floor
    # Cache prices fall back to input, so one price often breaks in several classes: one line for them.
    grouped: dict[tuple, list[str]] = {}
    for f in breaches:
        key = (f.model.name, f.tier_label if f.tier_lo else "", f.sell_price, f.cost_price, f.currency)
        grouped.setdefault(key, []).append(f"batch {f.token_class}" if f.batch else f.token_class)
    messages = [
        _(
            "%(model)s %(token)s: %(sell)s %(currency)s per million tokens is under the floor of "
            "%(least)s (wholesale %(cost)s × (1 + %(floor)s))."
        )
        % {
            "model": f"{model} {tier}".strip(),
            "token": ", ".join(classes),
            "sell": f"{sell.normalize():f}",
            "currency": currency,
            "least": f"{_least(cost, floor).normalize():f}",
            "cost": f"{cost.normalize():f}",
            "floor": f"{floor.normalize():f}",
        }
        for (model, tier, sell, cost, currency), classes in list(grouped.items())[:10]
    ]
    raise ValidationError(messages)


def _least(cost: Decimal, floor: Decimal) -> Decimal:
    with localcontext(EXACT):
        return cost * (ONE + floor)


@transaction.atomic
def retail_price_set(
    *,
    plan: SellPlan,
    model: AIModel,
    effective_from: datetime,
    input: Decimal,
    output: Decimal,
    cache_read: Decimal | None = None,
    created_by=None,
) -> PriceEntry:
    """Set ``model``'s explicit retail price in a sub-distributor's plan from ``effective_from``.

    A new price ends the open one where it starts, like any price change; a price under the retail
    floor is refused and nothing is written.
    """
    if plan.owner_id is None:
        raise ValidationError(_("Explicit prices of the operator's plans live in its sell books."))
    entry = price_entry_create(
        book=retail_book_for(plan),
        model=model,
        effective_from=effective_from,
        tiers=[TierPrices(lo=0, hi=None, input=input, output=output, cache_read=cache_read)],
        source=_("entered by %(who)s") % {"who": created_by} if created_by else "",
        created_by=created_by,
    )
    floor_check(plan, effective_from=effective_from, models=[model])
    return entry


def rule_models(*, model: AIModel | None, vendor) -> list[AIModel]:
    """The models a rule's scope covers: one model, one vendor's active models, or all active ones."""
    if model is not None:
        return [model]
    models = active_models()
    return [m for m in models if m.vendor_id == vendor.pk] if vendor is not None else list(models)
