"""Load the prices in force at a moment into the rating function's plain dataclasses.

``PricingSnapshot`` gathers, in a handful of queries, every entry in force at one instant (for some
models or all), then resolves books and plans in memory: a quote loads one model, a price list
all of them, and neither issues a query per model.
"""

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, localcontext

from django.conf import settings
from django.db.models import Prefetch, Q
from django.utils.translation import gettext as _

from accounts.models import Customer
from catalog.errors import MissingFxRate, NoPlan, NoPrice, PricingError
from catalog.models import (
    AIModel,
    BookKind,
    PlanAssignment,
    PlanRule,
    PriceBook,
    PriceEntry,
    PriceTier,
    PriceWindow,
    SellPlan,
)
from catalog.rating import EXACT, ONE, PRICE_FIELDS, WINDOW_FIELDS, PriceSchedule, TierPrices, TimeWindow
from catalog.selectors.fx import event_date, fx_rate
from catalog.time_windows import window_rules
from common.stored_text import stored, stored_render


def in_force(at: datetime) -> Q:
    """Filter for rows with ``effective_from ≤ at < effective_to`` (open-ended when blank)."""
    return Q(effective_from__lte=at) & (Q(effective_to__isnull=True) | Q(effective_to__gt=at))


def tier_prices(tier: PriceTier) -> TierPrices:
    return TierPrices(lo=tier.lo, hi=tier.hi, **{name: getattr(tier, name) for name in PRICE_FIELDS})


def time_window(window: PriceWindow) -> TimeWindow:
    """A stored window as the rating function's ``TimeWindow`` (its rules were checked when saved)."""
    prices = {name: getattr(window, name) for name in WINDOW_FIELDS}
    return TimeWindow(label=window.label, zone=window.time_zone, rules=window_rules(window.rules), **prices)


def entry_schedule(entry: PriceEntry) -> PriceSchedule:
    """Return an entry (book and model loaded, tiers and windows prefetched) as a PriceSchedule."""
    book = entry.book
    multiplier = entry.batch_multiplier if entry.batch_multiplier is not None else book.batch_multiplier
    sets: dict[str, list[TierPrices]] = {}
    for t in sorted(entry.tiers.all(), key=lambda t: (t.service_tier, t.lo)):
        sets.setdefault(t.service_tier, []).append(tier_prices(t))
    return PriceSchedule(
        book=book.name,
        kind=book.kind,
        currency=book.currency,
        model=entry.model.name,
        tiers=tuple(sets.pop("", ())),
        effective_from=entry.effective_from,
        effective_to=entry.effective_to,
        request_fee=entry.request_fee,
        batch_multiplier=multiplier,
        basis=str(BookKind(book.kind).label),
        service_tiers=tuple((name, tuple(tiers)) for name, tiers in sorted(sets.items())),
        windows=tuple(time_window(w) for w in sorted(entry.windows.all(), key=lambda w: w.position)),
    )


def entries_in_force(at: datetime, *, model_ids=None, book_ids=None):
    queryset = (
        PriceEntry.objects.filter(in_force(at), book__is_active=True)
        .select_related("book", "model")
        .prefetch_related(
            Prefetch("tiers", queryset=PriceTier.objects.order_by("service_tier", "lo")),
            Prefetch("windows", queryset=PriceWindow.objects.order_by("position")),
        )
    )
    if model_ids is not None:
        queryset = queryset.filter(model_id__in=model_ids)
    if book_ids is not None:
        queryset = queryset.filter(book_id__in=book_ids)
    return queryset


@dataclass(frozen=True)
class PlanPrice:
    """A model's sell prices under a plan, and our cost converted to the same currency."""

    plan: str
    currency: str
    model: AIModel
    sell: PriceSchedule
    cost: PriceSchedule | None
    rule: str
    warnings: tuple[str, ...] = ()


class PricingSnapshot:
    """Every price in force at ``at``, optionally for some models only, resolved in memory."""

    def __init__(self, at: datetime, *, model_ids: list[int] | None = None):
        self.at = at
        self.fx_date = event_date(at)
        self._by_book: dict[tuple[int, int], PriceSchedule] = {}
        self._best: dict[tuple[str, int], tuple[tuple[int, int], PriceSchedule]] = {}
        for entry in entries_in_force(at, model_ids=model_ids):
            schedule = entry_schedule(entry)
            self._by_book[(entry.book_id, entry.model_id)] = schedule
            # Highest priority wins; among equals the oldest book, so the choice is stable.
            rank = (entry.book.priority, -entry.book_id)
            key = (entry.book.kind, entry.model_id)
            if key not in self._best or rank > self._best[key][0]:
                self._best[key] = (rank, schedule)
        self._fx: dict[tuple[str, str], Decimal] = {}
        self._rules: dict[int, list[PlanRule]] = {}
        self._buy_plans: dict[int, SellPlan | NoPlan] = {}

    # -- books -------------------------------------------------------------------------------
    def book_schedule(self, book: PriceBook, model: AIModel) -> PriceSchedule | None:
        return self._by_book.get((book.pk, model.pk))

    def best_schedule(self, kind: str, model: AIModel) -> PriceSchedule | None:
        found = self._best.get((kind, model.pk))
        return found[1] if found else None

    # -- currencies --------------------------------------------------------------------------
    def fx(self, base: str, quote: str) -> Decimal:
        key = (base, quote)
        if key not in self._fx:
            self._fx[key] = fx_rate(base, quote, self.fx_date)
        return self._fx[key]

    def convert(self, schedule: PriceSchedule, currency: str) -> PriceSchedule:
        if schedule.currency == currency:
            return schedule
        rate = self.fx(schedule.currency, currency)
        return schedule.scaled(
            rate,
            currency=currency,
            basis=f"{schedule.basis} × {schedule.currency}/{currency} {rate.normalize()}",
        )

    def cost_in(self, model: AIModel, currency: str, *, source: PriceSchedule | None = None):
        """Return (cost schedule in ``currency`` or None, warnings)."""
        cost = source or self.best_schedule(BookKind.COST, model)
        if cost is None:
            message = _("No cost price for %(model)s is in force; margin unknown.")
            return None, (message % {"model": model.name},)
        try:
            return self.convert(cost, currency), ()
        except MissingFxRate as exc:
            return None, (exc.message + " Cost and margin unknown.",)

    # -- plans -------------------------------------------------------------------------------
    def rules(self, plan: SellPlan) -> list[PlanRule]:
        if plan.pk not in self._rules:
            self._rules[plan.pk] = list(
                plan.rules.filter(in_force(self.at)).select_related("source_book", "model", "vendor")
            )
        return self._rules[plan.pk]

    def rule_for(self, plan: SellPlan, model: AIModel) -> PlanRule | None:
        """Return the most specific rule of ``plan`` for ``model``: model, then vendor, then all."""
        best, best_rank = None, -1
        for rule in self.rules(plan):
            if rule.model_id is not None:
                rank = 2 if rule.model_id == model.pk else -1
            elif rule.vendor_id is not None:
                rank = 1 if rule.vendor_id == model.vendor_id else -1
            else:
                rank = 0
            if rank > best_rank:
                best, best_rank = rule, rank
        return best

    def buy_plan(self, owner: Customer) -> SellPlan:
        """Return the plan ``owner`` (a sub-distributor) itself buys at, at this instant; raise NoPlan."""
        if owner.pk not in self._buy_plans:
            try:
                self._buy_plans[owner.pk] = plan_for_customer(owner, self.at)[0]
            except NoPlan as exc:
                self._buy_plans[owner.pk] = exc
        found = self._buy_plans[owner.pk]
        if isinstance(found, NoPlan):
            raise found
        return found

    def buy_price(self, owner: Customer, model: AIModel, currency: str) -> PriceSchedule:
        """Return what ``owner`` pays for ``model`` (its own plan's sell price) in ``currency``.

        A sub-distributor's plan may derive from it, so this recurses up the chain, one hop per call:
        the buy plan belongs to the owner's own price owner, strictly higher in the tree.
        """
        return self.convert(self.plan_price(self.buy_plan(owner), model).sell, currency)

    def plan_price(self, plan: SellPlan, model: AIModel) -> PlanPrice:
        """Return ``model``'s prices under ``plan``; raise NoPrice, NoPlan or MissingFxRate when impossible.

        For an operator's plan ``cost`` is our contract cost; for a sub-distributor's plan it is what the
        sub-distributor pays (its wholesale price), since that is the cost its margin and alerts are about.
        """
        rule = self.rule_for(plan, model)
        if rule is None:
            said = {"plan": repr(plan.name), "model": model.name, "at": f"{self.at:%Y-%m-%d %H:%M}"}
            raise NoPrice(
                _("Plan %(plan)s has no rule pricing %(model)s at %(at)s.") % said,
                stored("catalog.pricing.no_rule", **said),
            )
        currency = plan.currency
        with_fx = ""
        book = None
        if rule.method == PlanRule.Method.WHOLESALE_MARKUP:
            source = self._bought(plan, model)
            factor_base = ONE + rule.markup
            # Named after the plan itself: the buy plan's name and its books are the seller's business.
            book = plan.name
            label = _("wholesale × (1 + %(markup)s)") % {"markup": rule.markup.normalize()}
        elif rule.method == PlanRule.Method.COST_MARKUP:
            source = self._source(rule, BookKind.COST, model)
            factor_base = ONE + rule.markup
            label = _("cost × (1 + %(markup)s)") % {"markup": rule.markup.normalize()}
        elif rule.method == PlanRule.Method.LIST_DISCOUNT:
            source = self._source(rule, BookKind.LIST, model)
            factor_base = ONE - rule.discount
            label = _("list × (1 − %(discount)s)") % {"discount": rule.discount.normalize()}
        else:
            source = self._source(rule, BookKind.SELL, model)
            factor_base = ONE
            label = _("explicit")
        if source.currency != currency:
            rate = self.fx(source.currency, currency)
            with_fx = f" × {source.currency}/{currency} {rate.normalize()}"
        else:
            rate = ONE
        with localcontext(EXACT):
            factor = factor_base * rate
        basis = (
            f"{label}{with_fx}"
            if book is not None
            # Translators: how a plan derives a price, e.g. "cost × (1 + 0.25) of Zhipu cost × USD/CNY 7.1".
            else _("%(method)s of %(book)s%(fx)s") % {"method": label, "book": source.book, "fx": with_fx}
        )
        named = {"book": book} if book is not None else {}
        # A rule that drops the windows sells at the standard price at all hours; its cost keeps them.
        sold_from = source if rule.keep_windows or not source.windows else replace(source, windows=())
        sell = sold_from.scaled(
            factor, kind=BookKind.SELL, currency=currency, plan=plan.name, basis=basis, **named
        )
        if plan.owner_id is not None:
            cost, warnings = self._owner_cost(plan, model, source if book is not None else None)
        else:
            cost_source = source if rule.method == PlanRule.Method.COST_MARKUP else None
            cost, warnings = self.cost_in(model, currency, source=cost_source)
        return PlanPrice(
            plan=plan.name,
            currency=currency,
            model=model,
            sell=sell,
            cost=cost,
            rule=sell.basis,
            warnings=warnings,
        )

    def _bought(self, plan: SellPlan, model: AIModel) -> PriceSchedule:
        """The sell price of ``model`` under the plan ``plan``'s owner buys at. When there is none, the
        refusal names ``plan`` and the model only: the buy plan, its books and the owner's lack of a plan
        are the seller's business, never its customer's (who quotes or is rated at ``plan``); the cause
        stays in the error's ``detail`` for operator staff (unrated reasons, staff quotes)."""
        try:
            return self.plan_price(self.buy_plan(plan.owner), model).sell
        except PricingError as exc:
            raise exc.restated(
                _("Plan %(plan)s cannot price %(model)s at %(at)s.")
                % {"plan": repr(plan.name), "model": model.name, "at": f"{self.at:%Y-%m-%d %H:%M}"}
            ) from exc

    def _owner_cost(self, plan: SellPlan, model: AIModel, bought: PriceSchedule | None):
        """Return (the owner's buy price in the plan's currency or None, warnings)."""
        try:
            if bought is not None:
                return self.convert(bought, plan.currency), ()
            return self.buy_price(plan.owner, model, plan.currency), ()
        except PricingError as exc:
            return None, (exc.message + " " + _("Wholesale price and margin unknown."),)

    def book_price(self, book: PriceBook, model: AIModel) -> PlanPrice:
        """Return ``model``'s prices in a sell book quoted as a plan of its own."""
        sell = self.book_schedule(book, model)
        if sell is None:
            said = {"book": repr(book.name), "model": model.name, "at": f"{self.at:%Y-%m-%d %H:%M}"}
            raise NoPrice(
                _("Price book %(book)s has no price for %(model)s at %(at)s.") % said,
                stored("catalog.pricing.book_no_price", **said),
            )
        sell = replace(sell, plan=book.name, basis=_("explicit"))
        cost, warnings = self.cost_in(model, book.currency)
        return PlanPrice(
            plan=book.name,
            currency=book.currency,
            model=model,
            sell=sell,
            cost=cost,
            rule="explicit",
            warnings=warnings,
        )

    def _source(self, rule: PlanRule, kind: str, model: AIModel) -> PriceSchedule:
        if rule.source_book_id is not None:
            schedule = self.book_schedule(rule.source_book, model)
            where = stored("catalog.pricing.where_book", book=repr(rule.source_book.name))
        else:
            schedule = self.best_schedule(kind, model)
            where = stored("catalog.pricing.where_any_book", kind=kind)
        if schedule is None:
            said = {"plan": repr(rule.plan.name), "model": model.name, "at": f"{self.at:%Y-%m-%d %H:%M}"}
            raise NoPrice(
                _("Plan %(plan)s prices %(model)s from %(where)s, which has no price for it at %(at)s.")
                % {**said, "where": stored_render(where)},
                stored("catalog.pricing.source_no_price", **said, where=where),
            )
        return schedule


def _assignable_chain(customer: Customer) -> list[int]:
    """The customer and its ancestors below its price owner, the customer last: whose assignments count."""
    ancestors = customer.ancestor_ids()
    owner_id = customer.price_owner_id
    if owner_id is not None and owner_id in ancestors:
        ancestors = ancestors[ancestors.index(owner_id) + 1 :]
    return [*ancestors, customer.pk]


def _default_currencies(customer: Customer) -> list[str]:
    """Currencies whose default plan prices ``customer``: its billing currency, then (operator-priced
    only) the operator's base currency."""
    terms = getattr(customer, "billing_terms", None)
    currencies = [c for c in (getattr(terms, "currency", None), settings.BASE_CURRENCY) if c]
    return currencies if customer.price_owner_id is None else currencies[:1]


def plan_for_customer(customer: Customer, at: datetime) -> tuple[SellPlan, str]:
    """Return the plan that prices ``customer``'s usage at ``at`` and where it comes from.

    Only plans of the customer's price owner count (its resale or agency sub-distributor, or the operator
    when it has none): the nearest assignment of such a plan from the customer up to, not including, the
    price owner wins; else the price owner's default plan in the customer's billing currency. Operator-
    priced customers also inherit a direct sub-distributor's assignment (the subtree's price) and fall back
    to the default in the operator's base currency. A sub-distributor's own wholesale assignment never
    prices its customers: they would see and pay its buy price.
    """
    owner_id = customer.price_owner_id
    assignments = (
        PlanAssignment.objects.filter(
            in_force(at),
            customer_id__in=_assignable_chain(customer),
            plan__is_active=True,
            plan__owner_id=owner_id,
        )
        .select_related("plan", "customer")
        .order_by("-customer__depth", "-effective_from")
    )
    assignment = assignments.first()
    if assignment is not None:
        if assignment.customer_id == customer.pk:
            return assignment.plan, "assigned"
        return assignment.plan, f"inherited from {assignment.customer.name}"
    currencies = _default_currencies(customer)
    defaults = SellPlan.objects.filter(is_default=True, is_active=True, owner_id=owner_id)
    for currency in currencies:
        plan = defaults.filter(currency=currency).first()
        if plan is not None:
            return plan, "default"
    said = {"customer": customer.name, "at": f"{at:%Y-%m-%d %H:%M}", "currencies": "/".join(currencies)}
    raise NoPlan(
        _("%(customer)s has no plan at %(at)s and there is no default plan in %(currencies)s.") % said,
        stored("catalog.pricing.no_plan", **said),
    )


def plans_for_customers(customers, at: datetime) -> dict[int, SellPlan | None]:
    """``plan_for_customer``'s plan for many customers (None where it has none) in three queries.

    ``customers`` need ``path``, ``price_owner_id`` and ``billing_terms`` loaded.
    """
    customers = list(customers)
    chains = {c.pk: _assignable_chain(c) for c in customers}
    assigned: dict[int, list[SellPlan]] = {}
    for a in (
        PlanAssignment.objects.filter(
            in_force(at),
            customer_id__in={i for chain in chains.values() for i in chain},
            plan__is_active=True,
        )
        .select_related("plan")
        .order_by("-effective_from")
    ):
        assigned.setdefault(a.customer_id, []).append(a.plan)
    defaults = {(p.owner_id, p.currency): p for p in SellPlan.objects.filter(is_default=True, is_active=True)}
    plans: dict[int, SellPlan | None] = {}
    for c in customers:
        owner_id = c.price_owner_id
        found = next(
            (p for i in reversed(chains[c.pk]) for p in assigned.get(i, ()) if p.owner_id == owner_id), None
        )
        if found is None:
            found = next(
                (defaults[(owner_id, ccy)] for ccy in _default_currencies(c) if (owner_id, ccy) in defaults),
                None,
            )
        plans[c.pk] = found
    return plans
