"""An agency earns on every sale priced at its plans, not only its own customers' (#17): a resale
sub-distributor S buying at agency A's retail pays A's commission on its own requests and on its customers'
(S's purchase of them), and an agency buying at another agency's plan earns that agency a commission.

Prices (tests.billing.usage.test_chain_hops): 1M prompt + 1M completion tokens cost 5.00 CNY; a plan at
cost × (1 + markup) prices them 5 × (1 + markup).
"""

from decimal import Decimal

import pytest

from accounts.models import Customer
from billing.chain.commission import commission_lines
from billing.chain.report import hop_of
from billing.invoicing.periods import period_of_day
from billing.ledger.models import AccountKind
from billing.terms.models import BillingTerms
from billing.usage.models import RatingState, UsageEvent
from billing.usage.rerate import usage_rerate
from billing.usage.services import usage_batch_ingest
from catalog.models import PlanRule, Vendor
from tests.billing.usage.factories import AT, customer_make, owned_plan, plan_assign
from tests.billing.usage.test_chain_hops import balance, book_top_up, ingest, sub_make, use

pytestmark = pytest.mark.django_db


@pytest.fixture
def reseller_under_agency(model):
    """Agency A at 6.00 (the operator's plan), reseller S under A at A's retail 7.50, S's customer C at
    S's retail 10.00; S on credit with the operator, C prepaid in S's book."""
    agent = sub_make(mode=Customer.ChainMode.AGENCY)
    plan_assign(agent, owned_plan(None, "Wholesale", "0.2"))
    s = sub_make(agent, key="key-s", terms=BillingTerms.Mode.MONTHLY)
    plan_assign(s, owned_plan(agent, "A retail", "0.5"))
    c = customer_make(key="key-c", parent=s)
    plan_assign(c, owned_plan(s, "S retail", "1.0"))
    book_top_up(c, "100")
    s.refresh_from_db()
    assert (s.seller_id, s.price_owner_id) == (None, agent.pk)
    return agent, s, c


def commission_rows():
    return list(
        UsageEvent.objects.filter(rating_state=RatingState.COMMISSION)
        .order_by("request_id")
        .values_list("request_id", "hop", "customer_id", "end_customer_id", "sell_plan", "sell_amount")
    )


@pytest.mark.parametrize("path", ["services", pytest.param("bulk", marks=pytest.mark.postgres)])
def test_an_agency_earns_on_a_resellers_purchases_below_it(source, reseller_under_agency, path):
    agent, s, _c = reseller_under_agency

    result = ingest(path, source, [use("s1", "key-s"), use("c1", "key-c")])

    assert (result.accepted, result.unrated) == (2, 0)
    # S pays A's retail for both requests; A's price is 6.00: 1.50 each, on S's own sale (hop 0) and on
    # S's purchase of C's request (hop 1), in the operator's book, which sold to S
    assert balance(AccountKind.UNBILLED_RECEIVABLE, customer=s) == Decimal("15.00")
    # each row names the buyer whose purchase earns it: S, never S's customer
    assert commission_rows() == [
        ("c1", 2, agent.pk, s.pk, "A retail", Decimal("1.5")),
        ("s1", 1, agent.pk, s.pk, "A retail", Decimal("1.5")),
    ]
    assert balance(AccountKind.COMMISSION_PAYABLE, customer=agent) == Decimal("-3.00")
    assert balance(AccountKind.COMMISSION_EXPENSE) == Decimal("3.00")
    # S's book pays no commission: C's sale is S's own retail
    assert balance(AccountKind.COMMISSION_EXPENSE, book=s) == Decimal("0")


def test_rerating_a_resellers_customers_event_adds_the_agencys_commission(source, reseller_under_agency):
    agent, s, _c = reseller_under_agency
    # A's retail prices another vendor only: S's purchase cannot be priced and C's event stays unrated
    rule = PlanRule.objects.get(plan__name="A retail")
    PlanRule.objects.filter(pk=rule.pk).update(vendor=Vendor.objects.create(name="Other", slug="other"))
    usage_batch_ingest(source=source, records=[use("c1", "key-c")])
    assert UsageEvent.objects.get().rating_state == RatingState.UNRATED
    PlanRule.objects.filter(pk=rule.pk).update(vendor=None)  # staff fix it

    result = usage_rerate()

    assert (result.accepted, result.unrated) == (1, 0)
    assert commission_rows() == [("c1", 2, agent.pk, s.pk, "A retail", Decimal("1.5"))]
    assert balance(AccountKind.COMMISSION_PAYABLE, customer=agent) == Decimal("-1.50")


@pytest.mark.parametrize("basis", ["margin", "percent"])
def test_an_agency_under_an_agency_earns_the_upper_one_a_commission(source, model, basis):
    upper = sub_make(mode=Customer.ChainMode.AGENCY)
    plan_assign(upper, owned_plan(None, "Wholesale", "0.2"))  # 6.00
    lower = sub_make(upper, mode=Customer.ChainMode.AGENCY)
    plan_assign(lower, owned_plan(upper, "Upper retail", "0.4"))  # 7.00
    c = customer_make(key="key-c", parent=lower)
    plan_assign(c, owned_plan(lower, "Lower retail", "0.6"))  # 8.00
    book_top_up(c, "100")
    if basis == "percent":
        Customer.objects.filter(pk=upper.pk).update(
            commission_basis=Customer.CommissionBasis.PERCENT, commission_rate=Decimal("0.1")
        )

    usage_batch_ingest(source=source, records=[use("c1", "key-c")])

    upper_earns = Decimal("1") if basis == "margin" else Decimal("0.7")  # 7 − 6, or 10% of 7
    assert commission_rows() == [
        ("c1", 1, lower.pk, c.pk, "Lower retail", Decimal("1")),  # 8 − 7
        ("c1", 2, upper.pk, lower.pk, "Upper retail", upper_earns),  # on the lower agency's price
    ]
    assert balance(AccountKind.COMMISSION_PAYABLE, customer=lower) == Decimal("-1.00")
    assert balance(AccountKind.COMMISSION_PAYABLE, customer=upper) == -upper_earns
    assert balance(AccountKind.COMMISSION_EXPENSE) == Decimal("1") + upper_earns


def test_the_agencys_statement_and_the_hop_report_credit_the_reseller_it_sold_to(
    source, reseller_under_agency
):
    agent, s, c = reseller_under_agency
    usage_batch_ingest(source=source, records=[use("s1", "key-s"), use("c1", "key-c")])

    lines = commission_lines(agent, "CNY", period_of_day(AT.date()))

    # S bought both requests at A's retail (7.50 each); C and its retail price (10.00) are S's business
    assert [
        (line["customer_id"], line["requests"], Decimal(line["revenue"]), Decimal(line["commission"]))
        for line in lines
    ] == [(s.pk, 2, Decimal("15"), Decimal("3"))]
    assert c.name not in str(lines)
    # the margin-per-hop report counts it in the cost of the hop it rides on: the operator's sale to S
    assert hop_of(period_of_day(AT.date()), "CNY", s).commission == Decimal("3")
    assert hop_of(period_of_day(AT.date()), "CNY", c).commission == Decimal("0")
