"""Price one request for a customer or a named plan: sell total, our cost, margin."""

import difflib
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, localcontext

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer
from catalog.errors import UnknownPlan
from catalog.models import AIModel, BookKind, PriceBook, SellPlan
from catalog.rating import EXACT, TOKEN_CLASSES, UNIT_CLASSES, Rating, RatingError, Usage, margin_rate, rate
from catalog.selectors.models import model_resolve
from catalog.selectors.pricelist import window_hours
from catalog.selectors.pricing import PlanPrice, PricingSnapshot, plan_for_customer


@dataclass(frozen=True)
class ClassPrices:
    """Per-million prices of the token classes (``TOKEN_CLASSES`` order) at some hours: the standard ones
    (blank ``label``) or a time-of-day window's (its label, hours for people and time zone)."""

    prices: tuple[Decimal, ...]
    label: str = ""
    hours: str = ""
    zone: str = ""

    def by_class(self) -> list[tuple[str, Decimal]]:
        return list(zip(TOKEN_CLASSES, self.prices, strict=True))


@dataclass(frozen=True)
class Quote:
    model: AIModel
    plan: str
    plan_source: str
    at: datetime
    price: PlanPrice
    sell: Rating
    cost: Rating | None
    margin: Decimal | None
    margin_rate: Decimal | None
    warnings: tuple[str, ...]

    @property
    def currency(self) -> str:
        return self.sell.currency

    @property
    def window(self) -> str:
        """The time-of-day window that priced the sale; blank at standard hours."""
        return self.sell.window

    @property
    def service_tier(self) -> str:
        """The service tier whose prices applied; blank for the standard prices."""
        return self.sell.service_tier

    @property
    def hours_prices(self) -> list[ClassPrices]:
        """The request's context tier at standard hours, then in each window: peak and off-peak side by side.
        Only the standard service tier has windows, so a request in another one lists its prices alone."""
        schedule = self.sell.schedule
        if self.service_tier:
            return [ClassPrices(self.sell.tier.standard_prices())]
        tier = next(t for t in schedule.tiers if (t.lo, t.hi) == (self.sell.tier.lo, self.sell.tier.hi))
        rows = [ClassPrices(tier.standard_prices())]
        rows += [
            ClassPrices(w.over(tier).standard_prices(), w.label, window_hours(w), w.zone)
            for w in schedule.windows
        ]
        return rows

    @property
    def unit_prices(self) -> list[tuple[str, Decimal | None]]:
        """The audio and image prices of the tier that priced the request (None: not priced)."""
        return list(zip(UNIT_CLASSES, self.sell.tier.unit_prices(), strict=True))

    @property
    def total(self) -> Decimal:
        return self.sell.total


def plan_resolve(name: str) -> SellPlan | PriceBook:
    """Return the operator's active plan called ``name``, else its active sell book of that name.

    Sub-distributors' plans and books are not found by name (they may share one): quote them through a
    customer they price.
    """
    name = (name or "").strip()
    plans = SellPlan.objects.filter(is_active=True, owner__isnull=True)
    books = PriceBook.objects.filter(is_active=True, kind=BookKind.SELL, owner__isnull=True)
    for queryset in (plans, books):
        found = queryset.filter(name=name).first() or queryset.filter(name__iexact=name).first()
        if found is not None:
            return found
    names = list(plans.values_list("name", flat=True)) + list(books.values_list("name", flat=True))
    raise UnknownPlan(name, difflib.get_close_matches(name, names, n=5, cutoff=0.4))


def quote(
    *,
    model_name: str,
    usage: Usage,
    customer: Customer | None = None,
    plan_name: str | None = None,
) -> Quote:
    """Rate ``usage`` at the sell price of ``customer``'s plan (or of ``plan_name``) and at cost.

    Raises UnknownModel, UnknownPlan, NoPlan, NoPrice, MissingFxRate (catalog.errors) or
    RatingError (bad counts); the caller maps them to answers. The customer must already have
    passed the caller's visibility check.
    """
    at = usage.at or timezone.now()
    usage = replace(usage, at=at)
    model = model_resolve(model_name)
    snapshot = PricingSnapshot(at, model_ids=[model.pk])
    if customer is not None:
        plan, source = plan_for_customer(customer, at)
        price = snapshot.plan_price(plan, model)
    else:
        found = plan_resolve(plan_name or "")
        if isinstance(found, SellPlan):
            price, source = snapshot.plan_price(found, model), "plan"
        else:
            price, source = snapshot.book_price(found, model), "sell book"
    sell = rate(price.sell, usage)
    warnings = list(price.warnings)
    cost = None
    if price.cost is not None:
        try:
            cost = rate(price.cost, usage)
        except RatingError as exc:
            warnings.append(_("Cost not rated: %(error)s") % {"error": exc.message})
    margin = None
    if cost is not None:
        with localcontext(EXACT):
            margin = sell.total - cost.total
    return Quote(
        model=model,
        plan=price.plan,
        plan_source=source,
        at=at,
        price=price,
        sell=sell,
        cost=cost,
        margin=margin,
        margin_rate=margin_rate(sell.total, cost.total) if cost is not None else None,
        warnings=tuple(warnings),
    )
