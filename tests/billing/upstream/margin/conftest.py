"""A crafted May 2026 (and a day of April) for the gross-margin report; figures in CNY, the base currency.

Channels: ``zhipu-direct`` (Zhipu contract in CNY) and ``openrouter-a`` (an OpenRouter contract in USD,
alias ``OR-A``), so glm-5 costs differently on each; USD → CNY is 7.10 from 1 May and 7.20 from 15 May
(7.00 from 1 April). One more upstream account, ``mystery-acct``, names no channel.

    X  direct           05-04 glm-5 zhipu-direct  2 req  sell 10.00  cost  6.00 CNY
                        05-10 gpt-5 OR-A          3 req  sell 20.00  cost  2.00 USD (× 7.10 = 14.20)
                        04-15 glm-5 zhipu-direct  1 req  sell  5.00  cost  3.00 CNY   (April)
    S  resale           05-20 glm-5 openrouter-a  4 req  sell 30.00  cost  3.00 USD (× 7.20 = 21.60)
       └ C  under S     05-20 glm-5 openrouter-a  4 req  sell 50.00  cost 30.00 CNY   S's retail: not ours
    A  agency
       └ E  via A       05-21 glm-5 mystery-acct  1 req  sell  8.00  cost  5.00 CNY

Our May: 10 requests, revenue 68.00, cost 46.80, gross margin 21.20 (April: 5.00, 3.00, 2.00).
The rollups are written as rating stores them, without postings (the ledger tests post what they need).
"""

from datetime import date
from decimal import Decimal

import pytest

from accounts.models import Customer
from billing.usage.models import UsageDaily
from catalog.models import AIModel, BookKind, FxRate, Vendor
from catalog.services.contracts import channel_create, contract_create
from tests.catalog.factories import PriceBookFactory
from tests.factories import CustomerFactory, SubDistributorFactory


def rollup(customer, model, day, account, *, requests, sell, cost, cost_currency="CNY", sell_currency="CNY"):
    return UsageDaily.objects.create(
        day=day,
        customer=customer,
        model=model,
        upstream_account=account,
        sell_currency=sell_currency,
        cost_currency=cost_currency,
        requests=requests,
        prompt_tokens=1000 * requests,
        completion_tokens=500 * requests,
        sell_amount=Decimal(sell),
        cost_amount=Decimal(cost),
    )


def rate(base, quote, day, value):
    return FxRate.objects.create(base=base, quote=quote, date=day, rate=Decimal(value))


@pytest.fixture
def month():
    zhipu = Vendor.objects.create(name="Zhipu", slug="zhipu")
    openai = Vendor.objects.create(name="OpenAI", slug="openai")
    openrouter = Vendor.objects.create(name="OpenRouter", slug="openrouter")
    glm = AIModel.objects.create(vendor=zhipu, name="glm-5")
    gpt = AIModel.objects.create(vendor=openai, name="gpt-5")
    direct = contract_create(
        vendor=zhipu,
        name="Zhipu direct",
        currency="CNY",
        valid_from=date(2026, 1, 1),
        cost_book=PriceBookFactory(name="Zhipu cost", kind=BookKind.COST, currency="CNY"),
    )
    resold = contract_create(
        vendor=openrouter,
        name="OpenRouter USD",
        currency="USD",
        valid_from=date(2026, 1, 1),
        cost_book=PriceBookFactory(name="OpenRouter cost", kind=BookKind.COST, currency="USD"),
    )
    zhipu_direct = channel_create(contract=direct, name="zhipu-direct")
    openrouter_a = channel_create(contract=resold, name="openrouter-a", kind="openrouter", aliases=["OR-A"])
    rate("USD", "CNY", date(2026, 4, 1), "7.00")
    rate("USD", "CNY", date(2026, 5, 1), "7.10")
    rate("USD", "CNY", date(2026, 5, 15), "7.20")

    x = CustomerFactory(name="Xylo Direct", code="x-direct")
    s = SubDistributorFactory(name="Shop S", code="shop-s")
    c = CustomerFactory(name="C End", code="c-end", parent=s)
    a = SubDistributorFactory(name="Agent A", code="agent-a", chain_mode=Customer.ChainMode.AGENCY)
    e = CustomerFactory(name="E Via", code="e-via", parent=a)
    rollup(x, glm, date(2026, 5, 4), "zhipu-direct", requests=2, sell="10.00", cost="6.00")
    rollup(x, gpt, date(2026, 5, 10), "OR-A", requests=3, sell="20.00", cost="2.00", cost_currency="USD")
    rollup(x, glm, date(2026, 4, 15), "zhipu-direct", requests=1, sell="5.00", cost="3.00")
    rollup(
        s, glm, date(2026, 5, 20), "openrouter-a", requests=4, sell="30.00", cost="3.00", cost_currency="USD"
    )
    rollup(c, glm, date(2026, 5, 20), "openrouter-a", requests=4, sell="50.00", cost="30.00")
    rollup(e, glm, date(2026, 5, 21), "mystery-acct", requests=1, sell="8.00", cost="5.00")
    return {
        "x": x,
        "s": s,
        "c": c,
        "a": a,
        "e": e,
        "glm": glm,
        "gpt": gpt,
        "zhipu": zhipu,
        "openai": openai,
        "zhipu_direct": zhipu_direct,
        "openrouter_a": openrouter_a,
    }
