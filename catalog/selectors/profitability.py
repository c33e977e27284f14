"""Which plan prices sell below cost, below the plan's margin floor or below a retail floor, at a moment.

A sub-distributor's plan is compared with what the sub-distributor pays (its wholesale price, the
``cost`` of its ``PlanPrice``), and against the retail floor the operator set on it when there is one.
"""

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, localcontext

from django.utils.translation import gettext as _

from catalog.errors import PricingError
from catalog.models import AIModel, PriceAlert, SellPlan
from catalog.rating import (
    EXACT,
    ONE,
    REQUEST,
    TOKEN_CLASSES,
    UNIT_CLASSES,
    PriceSchedule,
    margin_rate,
)
from catalog.selectors.models import active_models
from catalog.selectors.pricing import PricingSnapshot
from catalog.time_windows import window_pairs


@dataclass(frozen=True)
class PriceFinding:
    plan: SellPlan
    model: AIModel
    tier_lo: int
    tier_hi: int | None
    token_class: str
    batch: bool
    currency: str
    sell_price: Decimal
    cost_price: Decimal
    margin: Decimal | None
    kind: str
    # The sell side's time-of-day window at the hours compared (blank: standard hours).
    window: str = ""
    # The service tier of the requests compared (blank: standard requests).
    service_tier: str = ""

    @property
    def key(self) -> tuple:
        return (
            self.plan.pk,
            self.model.pk,
            self.tier_lo,
            self.token_class,
            self.batch,
            self.window,
            self.service_tier,
        )

    @property
    def tier_label(self) -> str:
        return f"({self.tier_lo}, ∞)" if self.tier_hi is None else f"({self.tier_lo}, {self.tier_hi}]"

    def describe(self) -> str:
        what = {
            PriceAlert.Kind.LOSS: _("sells below cost"),
            PriceAlert.Kind.RETAIL_FLOOR: _("below the retail floor"),
        }.get(self.kind, _("below the margin floor"))
        token = (
            _("batch %(token_class)s") % {"token_class": self.token_class} if self.batch else self.token_class
        )
        if self.window:
            token = _("%(token)s at %(window)s hours") % {"token": token, "window": self.window}
        if self.service_tier:
            token = _("%(token)s, service tier %(tier)s") % {"token": token, "tier": self.service_tier}
        return _(
            "%(plan)s / %(model)s tier %(tier)s %(token)s: %(what)s — sells %(sell)s, costs %(cost)s "
            "%(currency)s per million tokens"
        ) % {
            "plan": self.plan.name,
            "model": self.model.name,
            "tier": self.tier_label,
            "token": token,
            "what": what,
            "sell": f"{self.sell_price.normalize():f}",
            "cost": f"{self.cost_price.normalize():f}",
            "currency": self.currency,
        }


def unprofitable_prices(at: datetime, *, plans=None, models=None) -> list[PriceFinding]:
    """Compare every active plan's price with our cost, per tier, token class and batch mode.

    Sell and cost books may cut tiers at different prompt lengths, so each stretch between any two
    boundaries of either is compared: a loss hidden inside one tier is still found.
    """
    plans = list(
        plans if plans is not None else SellPlan.objects.filter(is_active=True).select_related("owner")
    )
    models = list(models if models is not None else active_models())
    snapshot = PricingSnapshot(at, model_ids=[m.pk for m in models])
    findings: list[PriceFinding] = []
    for plan in plans:
        for model in models:
            try:
                price = snapshot.plan_price(plan, model)
            except PricingError:
                continue
            if price.cost is not None:
                findings.extend(_compare(plan, model, price.sell, price.cost, _retail_floor(plan), at))
    return findings


def _retail_floor(plan: SellPlan) -> Decimal | None:
    return plan.owner.retail_floor if plan.owner_id is not None else None


# Every class a tier prices, in the order ``_vectors`` gives their prices.
PRICED_CLASSES = (*TOKEN_CLASSES, *UNIT_CLASSES)


def _compare(
    plan: SellPlan,
    model: AIModel,
    sell: PriceSchedule,
    cost: PriceSchedule,
    floor: Decimal | None = None,
    at: datetime | None = None,
) -> list[PriceFinding]:
    """Findings of ``sell`` against ``cost`` per service tier (each side's own, or its standard prices where
    it has none: what rating charges), tier stretch, class (tokens, then audio, image and audio-second
    prices where both sides have them) and batch mode, and per pair of time-of-day windows that are open
    together (``window_pairs``): a night price under a cost with no night price is a loss, a night price is
    never compared with the day's cost."""
    findings: list[PriceFinding] = []
    pairs_open = sorted(window_pairs(sell, cost, at)) if at is not None else [(-1, -1)]
    names = ["", *sorted({n for n, _t in sell.service_tiers} | {n for n, _t in cost.service_tiers})]
    for name in names:
        findings += _compare_set(plan, model, sell, cost, name, pairs_open, floor)
    return findings


def _compare_set(plan, model, sell, cost, name, pairs_open, floor) -> list[PriceFinding]:
    """``_compare`` for the requests naming service tier ``name`` (blank: standard requests)."""
    sell_name = name if name in sell._sets else ""
    cost_name = name if name in cost._sets else ""
    sell_set, cost_set = sell._sets[sell_name], cost._sets[cost_name]
    findings, seen = [], set()
    bounds = sorted({t.lo for t in sell_set.tiers} | {t.lo for t in cost_set.tiers})
    for lo in bounds:
        prompt = lo + 1
        try:
            s_index, c_index = sell.tier_index(prompt, sell_name), cost.tier_index(prompt, cost_name)
        except Exception:
            continue
        tier = sell_set.tiers[s_index]
        compared = _compared_classes(tier, cost_set.tiers[c_index])
        for sell_window, cost_window in pairs_open:
            sell_standard = _vectors(sell, sell_name, sell_window, s_index)
            cost_standard = _vectors(cost, cost_name, cost_window, c_index)
            label = sell.windows[sell_window].label if sell_window >= 0 else ""
            for batch in (False, True):
                if batch and (sell_window, cost_window) != (-1, -1):
                    continue  # windows price standard requests only
                sell_prices = _batch(sell_set, s_index) if batch else sell_standard
                cost_prices = _batch(cost_set, c_index) if batch else cost_standard
                if batch and sell_prices == sell_standard and cost_prices == cost_standard:
                    continue  # neither side discounts batch: the standard comparison already covers it
                classes = zip(PRICED_CLASSES, sell_prices, cost_prices, strict=True)
                pairs = [(cls, s, c) for cls, s, c in classes if cls in compared and None not in (s, c)]
                if not batch:
                    pairs.append((REQUEST, sell.request_fee, cost.request_fee))
                for token_class, sell_price, cost_price in pairs:
                    key = (tier.lo, token_class, batch, label)
                    if key in seen:
                        continue
                    finding = _finding(
                        plan, model, tier, token_class, batch, sell.currency, sell_price, cost_price, floor
                    )
                    if finding is not None:
                        seen.add(key)
                        findings.append(replace(finding, window=label, service_tier=name))
    return findings


def _compared_classes(sell_tier, cost_tier) -> set[str]:
    """The classes whose prices are compared at one tier stretch: every token class, and a unit class only
    where it has a price of its own on either side (audio tokens without one pay input and output, already
    compared; a unit one side does not price is never rated, which the caller skips by its None price)."""
    own = {
        cls
        for cls in UNIT_CLASSES
        if getattr(sell_tier, cls) is not None or getattr(cost_tier, cls) is not None
    }
    return {*TOKEN_CLASSES, *own}


def _vectors(schedule: PriceSchedule, name: str, window: int, index: int) -> tuple:
    """Tier ``index``'s class prices (tokens, then units) for standard requests of tier set ``name``, at
    window ``window`` (-1: none)."""
    priced = schedule._window_sets[name][window] if window >= 0 else schedule._sets[name]
    return (*priced.standard[index], *priced.standard_units[index])


def _batch(priced, index: int) -> tuple:
    return (*priced.batch[index], *priced.batch_units[index])


def under_floor(sell_price: Decimal, cost_price: Decimal, floor: Decimal | None) -> bool:
    """Whether a retail price is under wholesale × (1 + floor); exact, no rounding."""
    if floor is None:
        return False
    with localcontext(EXACT):
        return sell_price < cost_price * (ONE + floor)


def _finding(
    plan, model, tier, token_class, batch, currency, sell_price, cost_price, floor=None
) -> PriceFinding | None:
    if sell_price == 0 and cost_price == 0:
        return None
    margin = margin_rate(sell_price, cost_price)
    if sell_price < cost_price:
        kind = PriceAlert.Kind.LOSS
    elif under_floor(sell_price, cost_price, floor):
        kind = PriceAlert.Kind.RETAIL_FLOOR
    elif margin is not None and margin < plan.margin_floor:
        kind = PriceAlert.Kind.BELOW_FLOOR
    else:
        return None
    return PriceFinding(
        plan=plan,
        model=model,
        tier_lo=tier.lo,
        tier_hi=tier.hi,
        token_class=token_class,
        batch=batch,
        currency=currency,
        sell_price=sell_price,
        cost_price=cost_price,
        margin=margin,
        kind=kind,
    )
