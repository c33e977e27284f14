"""Unit prices to print on usage lines: the sell plan's per-million prices per token class.

The amount of a usage line always comes from the rated rollups (each event rated at the prices in force
when it happened); the unit prices here are for the reader. They are the prices of the plan in force at
the end of the period; when the plan or its prices at the start of the period differ, or the model has
context tiers, the line says ``prices_varied``. What else makes the amount differ from tokens × these
prices is named too: ``batch_prices`` (batch requests pay them, DESIGN §5) and ``request_fee``. The
rollups do not split tokens by batch flag or tier, so the documents reconcile a line with a price
adjustment row (``billing.documents.line_prices``), never by a guessed split. Loaded once per close
("load once, compute on plain data"): plans resolved for all customers in memory, one plan price per
(plan, model).
"""

from datetime import timedelta

from accounts.models import Customer
from billing.invoicing.periods import Period
from catalog.errors import PricingError
from catalog.models import AIModel, SellPlan
from catalog.rating import TOKEN_CLASSES
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
                )
            except PricingError:
                self._prices[key] = None
        return self._prices[key]

    def details(self, customer_id: int, model: AIModel, currency: str) -> dict:
        """``{"plan", "unit_prices": {class: per million}, "prices_varied"}`` and, where they apply,
        ``"batch_prices"`` {class: per million} and ``"request_fee"``; {} when unknown."""
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
        tiers, batch, fee = end
        start = self._schedule("start", start_plan, model) if start_plan is not None else None
        varied = start_plan is None or start_plan.pk != plan.pk or start != end or len(tiers) > 1
        details = {
            "plan": plan.name,
            "unit_prices": _per_class(tiers[0]),
            "prices_varied": varied,
        }
        if batch != tiers[0]:
            details["batch_prices"] = _per_class(batch)
        if fee:
            details["request_fee"] = str(fee.normalize())
        return details


def _per_class(prices: tuple) -> dict[str, str]:
    return {cls: str(price.normalize()) for cls, price in zip(TOKEN_CLASSES, prices, strict=True)}
