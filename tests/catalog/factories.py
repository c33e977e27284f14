"""Catalog factories and helpers that build prices through the services, as production does."""

from datetime import UTC, datetime
from decimal import Decimal

import factory

from catalog.models import AIModel, BookKind, PriceBook, SellPlan, Vendor
from catalog.rating import TierPrices
from catalog.services.books import price_entry_create
from catalog.services.plans import plan_rule_create

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


class VendorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vendor
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Vendor {n}")
    slug = factory.Sequence(lambda n: f"vendor-{n}")


class AIModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AIModel

    vendor = factory.SubFactory(VendorFactory)
    name = factory.Sequence(lambda n: f"model-{n}")


class PriceBookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceBook

    name = factory.Sequence(lambda n: f"Book {n}")
    kind = BookKind.LIST
    currency = "USD"


class SellPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SellPlan

    name = factory.Sequence(lambda n: f"Plan {n}")
    currency = "USD"


def tier(lo: int = 0, hi: int | None = None, input="1", output="2", **prices) -> TierPrices:
    """A tier from strings, so tests read like the price pages they copy."""
    return TierPrices(
        lo=lo,
        hi=hi,
        input=Decimal(str(input)),
        output=Decimal(str(output)),
        **{k: None if v is None else Decimal(str(v)) for k, v in prices.items()},
    )


def add_prices(book, model, *tiers: TierPrices, effective_from=EPOCH, **kwargs):
    return price_entry_create(
        book=book, model=model, effective_from=effective_from, tiers=tiers or (tier(),), **kwargs
    )


def add_rule(plan, method, *, effective_from=EPOCH, **kwargs):
    return plan_rule_create(plan=plan, method=method, effective_from=effective_from, **kwargs)
