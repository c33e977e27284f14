"""Unit prices to print on usage lines: the sell plan's per-million prices per token class, its unit prices
(audio tokens per million, per image, per second of audio) and its time-of-day windows' prices.

The amount of a usage line always comes from the rated rollups (each event rated at the prices in force
when it happened); the unit prices here are for the reader. They are the prices of the plan in force at
the end of the period; when the plan or its prices at the start of the period differ, or the model has
context tiers, the line says ``prices_varied``. What else makes the amount differ from tokens × these
prices is named too: ``batch_prices`` (batch requests pay them, DESIGN §5) and ``request_fee``. The
rollups do not split tokens by batch flag or tier, so the documents reconcile a line with a price
adjustment row (``billing.documents.line_prices``), never by a guessed split. Loaded once per close
("load once, compute on plain data"): plans resolved for all customers in memory, one plan price per
(plan, model).

Unit classes are listed only where the plan gives them a price of their own (audio tokens otherwise pay
the input and output prices, as rating falls back): a model without them has the details it always had.
Windows are listed by label with each class's price in the window, its fallbacks resolved as rating
resolves them (``catalog.tier_prices.TimeWindow.over``) for the first context tier.
"""

from datetime import timedelta

from accounts.models import Customer
from billing.invoicing.periods import Period
from catalog.errors import PricingError
from catalog.models import AIModel, SellPlan
from catalog.rating import AUDIO_INPUT, AUDIO_OUTPUT, TOKEN_CLASSES, UNIT_CLASSES, TierPrices
from catalog.selectors.pricing import PricingSnapshot, plans_for_customers
from common.days import local_midnight


class UnitPrices:
    def __init__(self, *, period: Period, customer_ids: list[int]):
        start = local_midnight(period.start)
        end = local_midnight(period.end + timedelta(days=1)) - timedelta(microseconds=1)
        self._instants = {"start": start, "end": end}
        self._snapshots: dict[str, PricingSnapshot] = {}
        self._prices: dict[tuple[str, int, int], tuple | None] = {}
        self._customer_ids = set(customer_ids)
        self._plans: dict[str, dict[int, SellPlan | None]] = {}
        self._details: dict[tuple, dict] = {}

    def _plan_map(self, which: str) -> dict[int, SellPlan | None]:
        if which in self._plans:
            return self._plans[which]
        at = self._instants[which]
        customers = Customer.objects.filter(pk__in=self._customer_ids).select_related("billing_terms")
        # The plan that priced each customer, by catalog's rule: never its seller's wholesale plan.
        plans = plans_for_customers(
            customers.only("id", "path", "price_owner_id", "billing_terms__currency"), at
        )
        self._plans[which] = plans
        return plans

    def _schedule(self, which: str, plan: SellPlan, model: AIModel):
        key = (which, plan.pk, model.pk)
        if key not in self._prices:
            if which not in self._snapshots:
                self._snapshots[which] = PricingSnapshot(self._instants[which])
            try:
                sell = self._snapshots[which].plan_price(plan, model).sell
                self._prices[key] = (
                    tuple(t.standard_prices() for t in sell.tiers),
                    sell.tiers[0].batch_prices(sell.batch_multiplier),
                    sell.request_fee,
                    _own_unit_prices(sell.tiers[0]),
                    tuple((w.label, _window_prices(w.over(sell.tiers[0]))) for w in sell.windows),
                )
            except PricingError:
                self._prices[key] = None
        return self._prices[key]

    def details(self, customer_id: int, model: AIModel, currency: str) -> dict:
        """``{"plan", "unit_prices": {class: per million}, "prices_varied"}`` and, where they apply,
        ``"batch_prices"`` {class: per million}, ``"request_fee"`` and ``"window_prices"`` {label: {class:
        per million}}; ``unit_prices`` also holds ``image`` (per image), ``audio_second`` (per second) and
        the audio token classes (per million) the plan prices; {} when unknown."""
        plan = self._plan_map("end").get(customer_id)
        if plan is None or plan.currency != currency:
            return {}
        start_plan = self._plan_map("start").get(customer_id)
        key = (plan.pk, getattr(start_plan, "pk", None), model.pk)
        if key not in self._details:
            self._details[key] = self._details_for(plan, start_plan, model)
        return self._details[key]

    def _details_for(self, plan: SellPlan, start_plan: SellPlan | None, model: AIModel) -> dict:
        end = self._schedule("end", plan, model)
        if end is None:
            return {}
        tiers, batch, fee, units, windows = end
        start = self._schedule("start", start_plan, model) if start_plan is not None else None
        varied = start_plan is None or start_plan.pk != plan.pk or start != end or len(tiers) > 1
        details = {
            "plan": plan.name,
            "unit_prices": _per_class(tiers[0]) | units,
            "prices_varied": varied,
        }
        if batch != tiers[0]:
            details["batch_prices"] = _per_class(batch)
        if fee:
            details["request_fee"] = str(fee.normalize())
        if windows:
            details["window_prices"] = dict(windows)
        return details


def _per_class(prices: tuple) -> dict[str, str]:
    return {cls: str(price.normalize()) for cls, price in zip(TOKEN_CLASSES, prices, strict=True)}


def _own_unit_prices(tier: TierPrices) -> dict[str, str]:
    """The unit classes ``tier`` prices itself: audio tokens with a price of their own (not the input or
    output price they fall back to), images and audio seconds when priced at all."""
    own = {AUDIO_INPUT: tier.audio_input, AUDIO_OUTPUT: tier.audio_output}
    return {
        cls: str(price.normalize())
        for cls, price in zip(UNIT_CLASSES, tier.unit_prices(), strict=True)
        if price is not None and own.get(cls, price) is not None
    }


def _window_prices(tier: TierPrices) -> dict[str, str]:
    """A window's prices (``tier`` is the first tier with the window's prices in place): every token
    class, and the audio token classes where they differ from the input and output they would follow."""
    prices = _per_class(tier.standard_prices())
    for cls, price, follows in (
        (AUDIO_INPUT, tier.audio_input, tier.input),
        (AUDIO_OUTPUT, tier.audio_output, tier.output),
    ):
        if price is not None and price != follows:
            prices[cls] = str(price.normalize())
    return prices
