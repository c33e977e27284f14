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
from catalog.rating import EXACT, ONE, REQUEST, TOKEN_CLASSES, PriceSchedule, margin_rate, window_pairs
from catalog.selectors.models import active_models
from catalog.selectors.pricing import PricingSnapshot


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

    @property
    def key(self) -> tuple:
        return (self.plan.pk, self.model.pk, self.tier_lo, self.token_class, self.batch, self.window)

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


def _compare(
    plan: SellPlan,
    model: AIModel,
    sell: PriceSchedule,
    cost: PriceSchedule,
    floor: Decimal | None = None,
    at: datetime | None = None,
) -> list[PriceFinding]:
    """Findings of ``sell`` against ``cost`` per tier stretch, token class and batch mode, and per pair of
    time-of-day windows that are open together (``window_pairs``): a night price that sells below a cost
    with no night price is a loss, a night price against the night cost is not compared with the day's."""
    findings = []
    bounds = sorted({t.lo for t in sell.tiers} | {t.lo for t in cost.tiers})
    seen = set()
    pairs_open = sorted(window_pairs(sell, cost, at)) if at is not None else [(-1, -1)]
    for lo in bounds:
        prompt = lo + 1
        try:
            s_index, c_index = sell.tier_index(prompt), cost.tier_index(prompt)
        except Exception:
            continue
        tier = sell.tiers[s_index]
        for sell_window, cost_window in pairs_open:
            sell_standard = _standard(sell, sell_window, s_index)
            cost_standard = _standard(cost, cost_window, c_index)
            label = sell.windows[sell_window].label if sell_window >= 0 else ""
            for batch in (False, True):
                if batch and (sell_window, cost_window) != (-1, -1):
                    continue  # windows price standard requests only
                sell_prices = sell._batch[s_index] if batch else sell_standard
                cost_prices = cost._batch[c_index] if batch else cost_standard
                same_sell = sell_prices == sell._standard[s_index]
                if batch and same_sell and cost_prices == cost._standard[c_index]:
                    continue  # neither side discounts batch: the standard comparison already covers it
                pairs = list(zip(TOKEN_CLASSES, sell_prices, cost_prices, strict=True))
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
                        findings.append(replace(finding, window=label))
    return findings


def _standard(schedule: PriceSchedule, window: int, index: int) -> tuple[Decimal, ...]:
    """The six class prices of tier ``index`` for standard requests, at window ``window`` (-1: none)."""
    return schedule._window_sets[""][window].standard[index] if window >= 0 else schedule._standard[index]


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
