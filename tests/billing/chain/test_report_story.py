"""The audit's story through the services: ingest rates each hop, and the margin-per-hop report reads it.

Prices (CNY per million tokens): contract cost input 6 / output 18; the operator's Wholesale plan is cost
× 1.35 (8.10 / 24.30); S's Retail plan is its wholesale × 1.25. Every request is 600,000 input and 200,000
output tokens: contract cost 7.20, wholesale 9.72, S's retail 12.15.

S (resale, credit terms) sends 1 request of its own; its customers send 18: C1 (prepaid) 10, C2 (credit)
5, C3 (credit) 3. The operator charges S 19 × 9.72 = 184.68 for its whole subtree, as the audit expected.
"""

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Customer, MemberRole, StaffRole
from billing.chain.report import hop_report
from billing.invoicing.periods import period_parse
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.terms.models import BillingTerms
from billing.usage.models import GatewayKey
from billing.usage.services import usage_batch_ingest
from billing.wallets.credits import wallet_credit
from catalog.models import BookKind, PlanRule
from catalog.services.plans import plan_assign, plan_create
from tests.billing.factories import staff
from tests.billing.usage.factories import source_make
from tests.catalog.factories import EPOCH, AIModelFactory, PriceBookFactory, add_prices, add_rule, tier
from tests.factories import CustomerFactory, MembershipFactory, SubDistributorFactory

pytestmark = pytest.mark.django_db

MAY = period_parse("2026-05")
AT = datetime(2026, 5, 4, 10, 30, tzinfo=UTC)
Mode = Customer.ChainMode


def _terms(customer, mode=BillingTerms.Mode.MONTHLY):
    BillingTerms.objects.create(customer=customer, mode=mode, currency="CNY", credit_limit=Decimal("100000"))
    GatewayKey.objects.create(key=f"key-{customer.code}", customer=customer)
    return customer


def _retail(owner, name, *, buyers):
    plan = plan_create(name=name, currency="CNY", owner=owner)
    add_rule(plan, PlanRule.Method.WHOLESALE_MARKUP, markup=Decimal("0.25"))
    for buyer in buyers:
        plan_assign(customer=buyer, plan=plan, effective_from=EPOCH)
    return plan


def _requests(customer, n, start=0):
    return [
        {
            "request_id": f"{customer.code}-{start + i}",
            "occurred_at": AT.isoformat(),
            "key": f"key-{customer.code}",
            "model": "glm-5",
            "prompt_tokens": 600_000,
            "completion_tokens": 200_000,
        }
        for i in range(n)
    ]


@pytest.fixture
def story():
    model = AIModelFactory(name="glm-5")
    cost_book = PriceBookFactory(name="Zhipu contract", kind=BookKind.COST, currency="CNY")
    add_prices(cost_book, model, tier(input="6", output="18"))
    wholesale = plan_create(name="Wholesale", currency="CNY")
    add_rule(wholesale, PlanRule.Method.COST_MARKUP, markup=Decimal("0.35"))
    s = _terms(SubDistributorFactory(name="Shop S", code="shop-s"))
    plan_assign(customer=s, plan=wholesale, effective_from=EPOCH)
    c1 = _terms(CustomerFactory(name="C1", code="c1", parent=s), BillingTerms.Mode.PREPAID)
    c2 = _terms(CustomerFactory(name="C2", code="c2", parent=s))
    c3 = _terms(CustomerFactory(name="C3", code="c3", parent=s))
    _retail(s, "S Retail", buyers=[c1, c2, c3])
    wallet_credit(
        customer=c1,
        currency="CNY",
        amount=Decimal("500"),
        bucket="paid",
        idempotency_key="story-topup-c1",
        source_account=account_get(kind=AccountKind.CASH_BANK, currency="CNY", book=s),
        kind="wallet.topup.bank",
        memo="bank transfer to S",
    )
    source = source_make()[0]
    records = _requests(s, 1) + _requests(c1, 10) + _requests(c2, 5) + _requests(c3, 3)
    result = usage_batch_ingest(source=source, records=records, idempotency_key="story")
    assert result.accepted == 19 and result.unrated == 0
    return {"s": s, "c1": c1, "c2": c2, "c3": c3, "source": source, "wholesale": wholesale}


def _hops(report):
    return {(h.seller_code, h.buyer.code): h for h in report.hops}


def test_the_audit_story_margin_per_hop(story):
    hops = _hops(hop_report(MAY, "CNY"))

    assert set(hops) == {("operator", "shop-s"), ("shop-s", "c1"), ("shop-s", "c2"), ("shop-s", "c3")}
    s = hops["operator", "shop-s"]
    # the operator charges S its whole subtree at wholesale; its cost is the contract cost
    assert (s.mode, s.revenue, s.cost, s.margin) == (
        Mode.RESALE,
        Decimal("184.68"),
        Decimal("136.80"),
        Decimal("47.88"),
    )
    assert (s.requests, s.tokens) == (19, 19 * 800_000)
    # S sells at retail, its cost is its wholesale price
    for code, n in (("c1", 10), ("c2", 5), ("c3", 3)):
        hop = hops["shop-s", code]
        assert (hop.mode, hop.revenue, hop.cost, hop.margin, hop.requests) == (
            Mode.DIRECT,
            Decimal("12.15") * n,
            Decimal("9.72") * n,
            Decimal("2.43") * n,
            n,
        )


def test_the_command_gives_those_rows(story):
    out = StringIO()
    call_command("chain_report", "--period", "2026-05", "--format", "json", stdout=out, stderr=StringIO())

    rows = {(r["seller"], r["buyer"]): r for r in json.loads(out.getvalue())}

    assert rows["operator", "shop-s"] == {
        "seller": "operator",
        "buyer": "shop-s",
        "mode": "resale",
        "revenue": "184.68",
        "cost": "136.80",
        "margin": "47.88",
        "requests": 19,
        "tokens": 15_200_000,
    }
    assert (
        rows["shop-s", "c1"]["revenue"],
        rows["shop-s", "c1"]["cost"],
        rows["shop-s", "c1"]["margin"],
    ) == (
        "121.50",
        "97.20",
        "24.30",
    )


def test_a_three_level_tree(story):
    s = story["s"]
    r = _terms(SubDistributorFactory(name="Reseller R", code="r-sub", parent=s))
    d = _terms(CustomerFactory(name="D", code="d-end", parent=r))
    _retail(s, "S Retail for resellers", buyers=[r])
    _retail(r, "R Retail", buyers=[d])
    result = usage_batch_ingest(source=story["source"], records=_requests(d, 1), idempotency_key="three")
    assert result.accepted == 1 and result.unrated == 0

    hops = _hops(hop_report(MAY, "CNY"))

    d_hop, r_hop, s_hop = hops["r-sub", "d-end"], hops["shop-s", "r-sub"], hops["operator", "shop-s"]
    assert (d_hop.revenue, d_hop.cost, d_hop.margin) == (
        Decimal("15.1875"),
        Decimal("12.15"),
        Decimal("3.0375"),
    )
    assert (r_hop.mode, r_hop.revenue, r_hop.cost, r_hop.margin) == (
        Mode.RESALE,
        Decimal("12.15"),
        Decimal("9.72"),
        Decimal("2.43"),
    )
    assert s_hop.revenue == Decimal("184.68") + Decimal("9.72") and s_hop.requests == 20
    # S sees its own hops and R's, never the operator's hop above it
    assert set(_hops(hop_report(MAY, "CNY", within=s))) == {
        ("shop-s", "c1"),
        ("shop-s", "c2"),
        ("shop-s", "c3"),
        ("shop-s", "r-sub"),
        ("r-sub", "d-end"),
    }


def test_pages_and_usage_totals_count_each_request_once(client, story):
    s, c1 = story["s"], story["c1"]
    client.force_login(staff(StaffRole.SALES))
    usage = {"start": "2026-05-01", "end": "2026-05-31"}

    overview = client.get(reverse("staff-usage"), usage)
    report = client.get(reverse("staff-chain-report"), {"period": "2026-05"})

    assert overview.context["totals"].overall["requests"] == 19  # S once, for its subtree
    assert overview.context["totals"].by_currency[0]["sell"] == Decimal("184.68")
    assert report.status_code == 200 and report.context["currency"] == "CNY"
    assert report.context["report"].margin == Decimal("47.88") + Decimal("43.74")
    client.force_login(MembershipFactory(customer=s, role=MemberRole.OWNER).user)
    sales = client.get(reverse("portal-usage"), usage)
    assert sales.context["totals"].overall["requests"] == 18
    assert sales.context["totals"].by_currency[0]["sell"] == Decimal("218.70")
    client.force_login(MembershipFactory(customer=c1).user)
    own = client.get(reverse("portal-usage"), usage)
    assert own.context["totals"].by_currency[0]["sell"] == Decimal("121.50")  # at S's retail
    assert client.get(reverse("portal-chain-report")).status_code == 403


def test_an_agency_hop_pays_the_commission_out_of_the_sellers_margin(story):
    agent = _terms(SubDistributorFactory(name="Agent A", code="agent-a", chain_mode=Mode.AGENCY))
    plan_assign(customer=agent, plan=story["wholesale"], effective_from=EPOCH)
    e = _terms(CustomerFactory(name="E", code="e-via", parent=agent))
    _retail(agent, "A Retail", buyers=[e])
    result = usage_batch_ingest(source=story["source"], records=_requests(e, 2), idempotency_key="agency")
    assert result.accepted == 2 and result.unrated == 0

    hop = _hops(hop_report(MAY, "CNY"))["operator", "e-via"]

    # the operator bills E at A's retail (12.15) and owes A retail − A's wholesale (2.43) per request
    assert (hop.mode, hop.revenue, hop.commission, hop.cost, hop.margin) == (
        Mode.AGENCY,
        Decimal("24.30"),
        Decimal("4.86"),
        Decimal("14.40") + Decimal("4.86"),
        Decimal("5.04"),
    )
    assert ("operator", "agent-a") not in _hops(hop_report(MAY, "CNY"))  # A bought nothing itself


# --- the operator's hop to a reseller, split by end customer ------------------------------------------------

SPLIT = {"period": "2026-05", "currency": "CNY"}


def _split(response) -> dict:
    rows = response.context["split_page"].paginator.object_list
    return {r["code"]: (r["revenue"], r["cost"], r["margin"], r["requests"], r["tokens"]) for r in rows}


def test_staff_splits_the_operators_hop_to_a_reseller_by_end_customer(client, story):
    client.force_login(staff(StaffRole.FINANCE))

    response = client.get(reverse("staff-chain-hop", args=[story["s"].pk]), SPLIT)

    # per request: wholesale 9.72 at contract cost 7.20; S's own request is its own row
    assert _split(response) == {
        code: (Decimal("9.72") * n, Decimal("7.20") * n, Decimal("2.52") * n, n, n * 800_000)
        for code, n in (("shop-s", 1), ("c1", 10), ("c2", 5), ("c3", 3))
    }
    hop, rows = response.context["hop"], response.context["split_page"].paginator.object_list
    assert sum(r["revenue"] for r in rows) == hop.revenue == Decimal("184.68")
    assert sum(r["cost"] for r in rows) == hop.cost == Decimal("136.80")
    assert sum(r["margin"] for r in rows) == hop.margin == Decimal("47.88")
    assert sum(r["requests"] for r in rows) == hop.requests and sum(r["tokens"] for r in rows) == hop.tokens
    page = response.content.decode()
    assert 'data-testid="split-c1"' in page
    assert reverse("staff-customer-detail", args=[story["c1"].pk]) in page
    assert [r["code"] for r in response.context["split_page"]] == ["c1", "c2", "c3", "shop-s"]  # most revenue
    by_name = client.get(reverse("staff-chain-hop", args=[story["s"].pk]), {**SPLIT, "o": "-name"})
    assert [r["code"] for r in by_name.context["split_page"]] == ["shop-s", "c3", "c2", "c1"]

    download = client.get(reverse("staff-chain-hop", args=[story["s"].pk]), {**SPLIT, "format": "csv"})

    assert download["Content-Type"].startswith("text/csv")
    assert "chain-hop-shop-s-2026-05-CNY.csv" in download["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(download.content.decode())))
    assert lines[0] == ["end_customer", "name", "revenue", "cost", "margin", "requests", "tokens"]
    assert lines[1] == ["c1", "C1", "97.20", "72.00", "25.20", "10", "8000000"]
    # an end customer's hop has nothing to split
    end = client.get(reverse("staff-chain-hop", args=[story["c1"].pk]), SPLIT)
    assert (
        end.context["split_page"] is None and 'data-testid="hop-by-end-customer"' not in end.content.decode()
    )
    assert (
        client.get(reverse("staff-chain-hop", args=[story["c1"].pk]), {**SPLIT, "format": "csv"}).status_code
        == 404
    )


def test_a_deeper_tree_splits_by_the_customer_who_sent_the_request(client, story):
    s = story["s"]
    r = _terms(SubDistributorFactory(name="Reseller R", code="r-sub", parent=s))
    d = _terms(CustomerFactory(name="D", code="d-end", parent=r))
    _retail(s, "S Retail for resellers", buyers=[r])
    _retail(r, "R Retail", buyers=[d])
    result = usage_batch_ingest(source=story["source"], records=_requests(d, 2), idempotency_key="deeper")
    assert result.accepted == 2 and result.unrated == 0
    client.force_login(staff(StaffRole.SALES))

    operator = _split(client.get(reverse("staff-chain-hop", args=[s.pk]), SPLIT))

    # D's requests are on the operator's hop to S under D, never under R in between
    assert operator["d-end"] == (Decimal("19.44"), Decimal("14.40"), Decimal("5.04"), 2, 1_600_000)
    assert "r-sub" not in operator
    # S, in its portal, splits its own hop to R the same way (S's retail to R, at S's wholesale)
    client.force_login(MembershipFactory(customer=s, role=MemberRole.VIEWER).user)
    mine = client.get(reverse("portal-chain-hop", args=[r.pk]), SPLIT)
    assert _split(mine) == {"d-end": (Decimal("24.30"), Decimal("19.44"), Decimal("4.86"), 2, 1_600_000)}
    assert reverse("portal-customer-detail", args=[d.pk]) in mine.content.decode()
    download = client.get(reverse("portal-chain-hop", args=[r.pk]), {**SPLIT, "format": "csv"})
    assert download.content.decode().splitlines()[1] == "d-end,D,24.30,19.44,4.86,2,1600000"


def test_the_split_of_a_hop_above_is_refused(client, story):
    s = story["s"]
    r = _terms(SubDistributorFactory(name="Reseller R", code="r-sub", parent=s))
    _retail(s, "S Retail for resellers", buyers=[r])
    # S cannot read the operator's hop to itself, nor its split
    client.force_login(MembershipFactory(customer=s).user)
    for query in (SPLIT, {**SPLIT, "format": "csv"}):
        assert client.get(reverse("portal-chain-hop", args=[s.pk]), query).status_code == 404
    # R cannot read S's hop to R
    client.force_login(MembershipFactory(customer=r).user)
    for query in (SPLIT, {**SPLIT, "format": "csv"}):
        assert client.get(reverse("portal-chain-hop", args=[r.pk]), query).status_code == 404
    # an end customer reads no hop at all
    client.force_login(MembershipFactory(customer=story["c1"]).user)
    assert client.get(reverse("portal-chain-hop", args=[s.pk]), {**SPLIT, "format": "csv"}).status_code == 403
    assert client.get(reverse("staff-chain-hop", args=[s.pk]), {**SPLIT, "format": "csv"}).status_code == 403
