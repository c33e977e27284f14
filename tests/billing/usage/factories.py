"""Factories for usage tests: a priced model, a customer with a key, a gateway source, event dicts."""

from datetime import UTC, datetime
from decimal import Decimal

from billing.terms.models import BillingTerms
from billing.usage.models import GatewayKey, GatewaySource
from catalog.models import (
    AIModel,
    BookKind,
    ModelAlias,
    PlanAssignment,
    PlanRule,
    PriceBook,
    PriceEntry,
    PriceTier,
    SellPlan,
    Vendor,
)
from tests.factories import CustomerFactory

T0 = datetime(2026, 1, 1, tzinfo=UTC)
AT = datetime(2026, 5, 4, 10, 30, tzinfo=UTC)


def source_make(name: str = "gw", kind: str = "generic", **extra) -> tuple[GatewaySource, str]:
    source = GatewaySource(name=name, kind=kind, **extra)
    token = source.token_set()
    source.save()
    return source, token


def priced_model(
    name: str = "deepseek-chat",
    *,
    sell_input="2",
    sell_output="8",
    cost_input="1",
    cost_output="4",
    currency="CNY",
    cost_currency="CNY",
    vendor_name="DeepSeek",
) -> AIModel:
    """A model with a cost book and an explicit sell book (per million tokens)."""
    vendor, _ = Vendor.objects.get_or_create(name=vendor_name, slug=vendor_name.lower())
    model = AIModel.objects.create(vendor=vendor, name=name)
    for kind, ccy, inp, out in (
        (BookKind.COST, cost_currency, cost_input, cost_output),
        (BookKind.SELL, currency, sell_input, sell_output),
    ):
        book, _ = PriceBook.objects.get_or_create(
            name=f"{kind}-{ccy}", defaults={"kind": kind, "currency": ccy}
        )
        entry = PriceEntry.objects.create(book=book, model=model, effective_from=T0)
        PriceTier.objects.create(entry=entry, lo=0, input=Decimal(inp), output=Decimal(out))
    return model


def default_plan(currency: str = "CNY") -> SellPlan:
    """The default plan in ``currency``: explicit prices from the sell book."""
    plan, created = SellPlan.objects.get_or_create(
        name=f"standard-{currency}", defaults={"currency": currency, "is_default": True}
    )
    if created:
        PlanRule.objects.create(
            plan=plan,
            method=PlanRule.Method.EXPLICIT,
            source_book=PriceBook.objects.get(name=f"sell-{currency}"),
            effective_from=T0,
        )
    return plan


def markup_plan(name: str, markup: str, currency: str = "CNY") -> SellPlan:
    plan = SellPlan.objects.create(name=name, currency=currency)
    PlanRule.objects.create(
        plan=plan, method=PlanRule.Method.COST_MARKUP, markup=Decimal(markup), effective_from=T0
    )
    return plan


def plan_assign(customer, plan) -> None:
    PlanAssignment.objects.create(customer=customer, plan=plan, effective_from=T0)


def customer_make(
    *, key: str, mode=BillingTerms.Mode.PREPAID, currency="CNY", parent=None, source=None, **terms
):
    customer = CustomerFactory(parent=parent)
    BillingTerms.objects.create(customer=customer, mode=mode, currency=currency, **terms)
    GatewayKey.objects.create(key=key, customer=customer, source=source)
    return customer


def alias_add(model: AIModel, alias: str) -> None:
    ModelAlias.objects.create(model=model, alias=alias)


def event(
    request_id: str, *, key="key-a", model="deepseek-chat", at=AT, prompt=1000, completion=500, **extra
) -> dict:
    return {
        "request_id": request_id,
        "occurred_at": at.isoformat(),
        "key": key,
        "model": model,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        **extra,
    }


def owned_plan(owner, name: str, markup: str, currency: str = "CNY", **extra) -> SellPlan:
    """A plan of ``owner`` (a sub-distributor's retail plan; None: the operator's) at cost × (1 + markup)."""
    plan = SellPlan.objects.create(name=name, currency=currency, owner=owner, **extra)
    PlanRule.objects.create(
        plan=plan, method=PlanRule.Method.COST_MARKUP, markup=Decimal(markup), effective_from=T0
    )
    return plan
