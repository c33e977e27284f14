"""Margin per hop (billing.chain.report): the report, its pages, its command, and usage pages that count each
request once per book.

The tree, with each hop's rollups as usage rating stores them (a request is stored under every buyer up the
chain, each row at its buyer's price and costed at its seller's buy price; figures in CNY, May 2026):

    operator ─ S  resale        own + subtree at wholesale: 17.58, contract cost 13.00
               ├ C1            S's retail 10.80, cost (S's wholesale) 9.72
               ├ C2            S's retail 5.40, cost 4.86
               └ R  resale      S's price to R 2.50, cost (S's wholesale) 2.00
                 └ D            R's retail 3.00, cost (R's buy price) 2.50
             ─ A  agency        own usage at wholesale 2.00, contract cost 1.50
               └ E            A's retail 8.00 billed by the operator, contract cost 5.00, A's commission 1.20
             ─ X                operator's plan 4.00, contract cost 3.00
"""

import csv
import io
import json
from datetime import date, datetime, time
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import Customer, MemberRole, StaffRole
from billing.chain.report import EVERY_BOOK, FIELDS, hop_report, report_csv_rows
from billing.invoicing.periods import period_parse
from billing.usage.models import UsageBatch, UsageDaily, UsageEvent
from catalog.models import AIModel, Vendor
from tests.billing.factories import staff
from tests.factories import CustomerFactory, MembershipFactory, SubDistributorFactory

# The tree's rollups are written as rating would store each hop, with no postings behind them, so that
# every kind of hop (three levels, agency with commission, direct) is read here whatever rating does; the
# audit story through the services is in test_report_story.py.
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.corrupts_billing("rollups and commission rows written by hand, without their postings"),
]

MAY = period_parse("2026-05")
DAY = date(2026, 5, 4)
Mode = Customer.ChainMode


def rollup(customer, sell, cost, *, requests=1, model=None, day=DAY, currency="CNY", tokens=(1000, 500)):
    """A daily rollup row of ``customer``, as rating and rolling up store each hop."""
    model = model or AIModel.objects.get(name="glm-5")
    return UsageDaily.objects.create(
        day=day,
        customer=customer,
        model=model,
        sell_currency=currency,
        cost_currency=currency,
        requests=requests,
        prompt_tokens=tokens[0],
        completion_tokens=tokens[1],
        sell_amount=Decimal(sell),
        cost_amount=Decimal(cost),
    )


def commission(agent, end_customer, amount, *, at=None):
    """An agency's commission row on ``end_customer``'s request (rated, never rolled up)."""
    batch, _ = UsageBatch.objects.get_or_create(idempotency_key="commissions", defaults={"request_hash": "x"})
    at = at or timezone.make_aware(datetime.combine(DAY, time(12)))
    return UsageEvent.objects.create(
        batch=batch,
        request_id=f"req-{end_customer.pk}-{amount}",
        occurred_at=at,
        customer=agent,
        end_customer=end_customer,
        hop=1,
        model=AIModel.objects.get(name="glm-5"),
        model_name="glm-5",
        rating_state="commission",
        sell_amount=Decimal(amount),
        sell_currency="CNY",
    )


@pytest.fixture
def tree():
    vendor = Vendor.objects.create(name="Zhipu", slug="zhipu")
    AIModel.objects.create(vendor=vendor, name="glm-5")
    AIModel.objects.create(vendor=vendor, name="glm-air")
    s = SubDistributorFactory(name="Shop S", code="shop-s")
    c1 = CustomerFactory(name="C1", code="c1", parent=s)
    c2 = CustomerFactory(name="C2", code="c2", parent=s)
    r = SubDistributorFactory(name="Reseller R", code="r-sub", parent=s)
    d = CustomerFactory(name="D", code="d-end", parent=r)
    a = SubDistributorFactory(name="Agent A", code="agent-a", chain_mode=Mode.AGENCY)
    e = CustomerFactory(name="E", code="e-via", parent=a)
    x = CustomerFactory(name="X", code="x-direct")
    rollup(s, "16.58", "12.00", requests=3)  # C1, C2 and R's requests at wholesale
    rollup(s, "1.00", "1.00", requests=1, model=AIModel.objects.get(name="glm-air"))  # S's own
    rollup(c1, "10.80", "9.72")
    rollup(c2, "5.40", "4.86")
    rollup(r, "2.50", "2.00")
    rollup(d, "3.00", "2.50")
    rollup(a, "2.00", "1.50")
    rollup(e, "8.00", "5.00")
    rollup(x, "4.00", "3.00")
    commission(a, e, "1.20")
    names = ("s", "c1", "c2", "r", "d", "a", "e", "x")
    return dict(zip(names, (s, c1, c2, r, d, a, e, x), strict=True))


def _by_hop(report):
    return {(h.seller_code, h.buyer.code): h for h in report.hops}


def test_every_hop_has_its_seller_buyer_mode_and_exact_margin(tree):
    report = hop_report(MAY, "CNY")

    hops = _by_hop(report)
    assert set(hops) == {
        ("operator", "shop-s"),
        ("operator", "agent-a"),
        ("operator", "e-via"),
        ("operator", "x-direct"),
        ("shop-s", "c1"),
        ("shop-s", "c2"),
        ("shop-s", "r-sub"),
        ("r-sub", "d-end"),
    }
    s_hop = hops["operator", "shop-s"]
    assert (s_hop.mode, s_hop.revenue, s_hop.cost, s_hop.margin) == (
        Mode.RESALE,
        Decimal("17.58"),
        Decimal("13.00"),
        Decimal("4.58"),
    )
    assert (s_hop.requests, s_hop.tokens) == (4, 3000)
    c1 = hops["shop-s", "c1"]
    assert (c1.mode, c1.revenue, c1.cost, c1.margin) == (
        Mode.DIRECT,
        Decimal("10.80"),
        Decimal("9.72"),
        Decimal("1.08"),
    )
    assert hops["shop-s", "r-sub"].mode == Mode.RESALE and hops["shop-s", "r-sub"].margin == Decimal("0.50")
    assert hops["r-sub", "d-end"].margin == Decimal("0.50")  # three levels: R's margin on its own customer
    # agency: the operator bills E at A's retail and pays A's commission out of its margin
    e = hops["operator", "e-via"]
    assert (e.mode, e.revenue, e.commission, e.cost, e.margin) == (
        Mode.AGENCY,
        Decimal("8.00"),
        Decimal("1.20"),
        Decimal("6.20"),
        Decimal("1.80"),
    )
    assert hops["operator", "agent-a"].mode == Mode.AGENCY
    assert hops["operator", "x-direct"].mode == Mode.DIRECT
    # tree order: the operator's hops first
    assert [h.seller_code for h in report.hops][:4] == ["operator"] * 4


def test_margins_of_all_hops_add_up_to_the_chains_margin(tree):
    report = hop_report(MAY, "CNY")

    # end customers' retail + own usage of sub-distributors − contract cost − commission
    retail = Decimal("10.80") + Decimal("5.40") + Decimal("3.00") + Decimal("8.00") + Decimal("4.00")
    own = Decimal("1.00") + Decimal("2.00")
    contract = Decimal("13.00") + Decimal("1.50") + Decimal("5.00") + Decimal("3.00")
    assert report.margin == retail + own - contract - Decimal("1.20")
    sellers = {(t.seller.code if t.seller else "operator"): t for t in report.by_seller()}
    assert sellers["operator"].revenue == Decimal("17.58") + Decimal("2.00") + Decimal("8.00") + Decimal(
        "4.00"
    )
    assert sellers["shop-s"].margin == Decimal("1.08") + Decimal("0.54") + Decimal("0.50")
    assert sellers["r-sub"].hops == 1


def test_a_sub_distributor_sees_the_hops_below_it_only(tree):
    report = hop_report(MAY, "CNY", within=tree["s"])

    assert set(_by_hop(report)) == {
        ("shop-s", "c1"),
        ("shop-s", "c2"),
        ("shop-s", "r-sub"),
        ("r-sub", "d-end"),
    }
    assert set(_by_hop(hop_report(MAY, "CNY", within=tree["r"]))) == {("r-sub", "d-end")}


def test_one_sellers_book(tree):
    assert {h.buyer.code for h in hop_report(MAY, "CNY", book=None).hops} == {
        "shop-s",
        "agent-a",
        "e-via",
        "x-direct",
    }
    assert {h.buyer.code for h in hop_report(MAY, "CNY", book=tree["s"]).hops} == {"c1", "c2", "r-sub"}
    assert len(hop_report(MAY, "CNY", book=EVERY_BOOK).hops) == 8


def test_other_months_and_currencies_stay_out(tree):
    rollup(tree["c1"], "99", "1", day=date(2026, 6, 1))
    rollup(tree["c1"], "50", "40", currency="USD")
    commission(tree["a"], tree["e"], "7.00", at=timezone.make_aware(datetime(2026, 6, 1, 0, 30)))

    hops = _by_hop(hop_report(MAY, "CNY"))

    assert hops["shop-s", "c1"].revenue == Decimal("10.80")
    assert hops["operator", "e-via"].commission == Decimal("1.20")
    assert [h.revenue for h in hop_report(MAY, "USD").hops] == [Decimal("50")]


# --- the command ---------------------------------------------------------------------------------------


def _command(*args) -> str:
    out = io.StringIO()
    call_command("chain_report", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_command_json_has_exactly_the_fields_and_rounds_once(tree):
    rollup(tree["x"], "0.004", "0.001", day=date(2026, 5, 5))  # X: 4.004 and 3.001 → 4.00 and 3.00

    rows = json.loads(_command("--period", "2026-05", "--format", "json"))

    assert all(tuple(row) == FIELDS for row in rows)
    by_hop = {(r["seller"], r["buyer"]): r for r in rows}
    assert by_hop["operator", "shop-s"] == {
        "seller": "operator",
        "buyer": "shop-s",
        "mode": "resale",
        "revenue": "17.58",
        "cost": "13.00",
        "margin": "4.58",
        "requests": 4,
        "tokens": 3000,
    }
    assert by_hop["operator", "e-via"]["cost"] == "6.20" and by_hop["operator", "e-via"]["mode"] == "agency"
    assert (by_hop["operator", "x-direct"]["revenue"], by_hop["operator", "x-direct"]["margin"]) == (
        "4.00",
        "1.00",
    )
    exact = json.loads(_command("--period", "2026-05", "--format", "json", "--exact"))
    x = next(r for r in exact if r["buyer"] == "x-direct")
    assert (x["revenue"], x["cost"], x["margin"]) == ("4.004", "3.001", "1.003")


def test_command_csv_and_seller_filter(tree):
    text = _command("--period", "2026-05", "--format", "csv", "--seller", "shop-s", "--currency", "cny")

    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == FIELDS
    assert sorted(r[1] for r in rows[1:]) == ["c1", "c2", "r-sub"]
    assert ["shop-s", "c1", "direct", "10.80", "9.72", "1.08", "1", "1500"] in rows


def test_command_refuses_bad_arguments(tree):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="--format"):
        _command("--period", "2026-05", "--format", "xml")
    with pytest.raises(CommandError, match="--period"):
        _command("--period", "May", "--format", "json")
    with pytest.raises(CommandError, match="--seller"):
        _command("--period", "2026-05", "--format", "json", "--seller", "nobody")


def test_csv_keeps_a_negative_margin_a_number(tree):
    rollup(tree["x"], "0", "10", day=date(2026, 5, 5))
    report = hop_report(MAY, "CNY", book=None)
    x = next(r for r in report_csv_rows(report) if r[1] == "x-direct")
    assert x[5] == Decimal("-9.00")


# --- pages ---------------------------------------------------------------------------------------------

REPORT = {"period": "2026-05", "currency": "CNY"}


def _member(customer, role=MemberRole.OWNER):
    return MembershipFactory(customer=customer, role=role).user


def test_staff_report_page_with_chart_table_and_csv(client, tree):
    client.force_login(staff(StaffRole.SALES))

    response = client.get(reverse("staff-chain-report"), REPORT)

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="hop-operator-shop-s"' in page and 'data-testid="hop-r-sub-d-end"' in page
    assert "chart-chain" in page and "chain-report.js" in page
    assert response.context["chart"]["labels"][0] == response.context["operator_label"]
    assert f'data-value="{response.context["report"].margin}"' in page
    download = client.get(reverse("staff-chain-report"), {**REPORT, "format": "csv"})
    assert download["Content-Type"].startswith("text/csv")
    assert "chain-report-2026-05-CNY.csv" in download["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(download.content.decode())))
    assert tuple(lines[0]) == FIELDS and len(lines) == 9
    ordered = client.get(reverse("staff-chain-report"), {**REPORT, "o": "-margin"})
    margins = [h.margin for h in ordered.context["page_obj"]]
    assert margins == sorted(margins, reverse=True)


def test_staff_drills_down_from_a_hop_to_models_and_customers(client, tree):
    client.force_login(staff(StaffRole.FINANCE))

    response = client.get(reverse("staff-chain-hop", args=[tree["s"].pk]), REPORT)

    assert response.status_code == 200
    assert {r["model__name"] for r in response.context["by_model"]} == {"glm-5", "glm-air"}
    assert response.context["hop"].margin == Decimal("4.58")
    assert f"book={tree['s'].pk}" in response.content.decode()  # on to S's sales to its customers
    agency = client.get(reverse("staff-chain-hop", args=[tree["e"].pk]), REPORT)
    [row] = agency.context["by_model"]
    assert (row["commission"], row["margin"]) == (Decimal("1.20"), Decimal("1.80"))
    assert client.get(reverse("staff-chain-hop", args=[999999]), REPORT).status_code == 404


def test_portal_report_shows_the_hops_below_the_seller(client, tree):
    client.force_login(_member(tree["s"], MemberRole.VIEWER))

    response = client.get(reverse("portal-chain-report"), REPORT)

    assert response.status_code == 200
    assert {(h.seller_code, h.buyer.code) for h in response.context["report"].hops} == {
        ("shop-s", "c1"),
        ("shop-s", "c2"),
        ("shop-s", "r-sub"),
        ("r-sub", "d-end"),
    }
    page = response.content.decode()
    assert "hop-operator-" not in page and "13.00" not in page  # nothing of the hop above it
    csv_text = client.get(reverse("portal-chain-report"), {**REPORT, "format": "csv"}).content.decode()
    assert "operator" not in csv_text
    # a book it may not read is refused; the book of a reseller below it is allowed
    assert client.get(reverse("portal-chain-report"), {**REPORT, "book": "operator"}).context["form"].errors
    below = client.get(reverse("portal-chain-report"), {**REPORT, "book": tree["r"].pk})
    assert [h.buyer.code for h in below.context["report"].hops] == ["d-end"]
    assert client.get(reverse("portal-chain-hop", args=[tree["c1"].pk]), REPORT).status_code == 200
    assert client.get(reverse("portal-chain-hop", args=[tree["d"].pk]), REPORT).status_code == 200


def test_portal_report_denials(client, tree):
    client.force_login(_member(tree["s"]))
    for buyer in ("s", "x", "e", "a"):  # the hop above it, and other sellers' hops
        assert client.get(reverse("portal-chain-hop", args=[tree[buyer].pk]), REPORT).status_code == 404
    client.force_login(_member(tree["r"]))
    assert client.get(reverse("portal-chain-hop", args=[tree["r"].pk]), REPORT).status_code == 404
    assert {
        h.buyer.code for h in client.get(reverse("portal-chain-report"), REPORT).context["report"].hops
    } == {"d-end"}
    client.force_login(_member(tree["c1"]))  # an end customer
    assert client.get(reverse("portal-chain-report"), REPORT).status_code == 403
    assert client.get(reverse("portal-chain-hop", args=[tree["c1"].pk]), REPORT).status_code == 403
    assert client.get(reverse("staff-chain-report"), REPORT).status_code == 403
    direct = SubDistributorFactory(chain_mode=Mode.DIRECT)
    client.force_login(_member(direct))
    assert client.get(reverse("portal-chain-report"), REPORT).status_code == 403
    client.force_login(staff(StaffRole.SALES))
    assert client.get(reverse("portal-chain-report"), REPORT).status_code == 403


# --- usage pages count each request once per book -------------------------------------------------------

USAGE = {"start": "2026-05-01", "end": "2026-05-31"}


def _requests(response) -> int:
    return response.context["totals"].overall["requests"]


def _sell(response) -> Decimal:
    return response.context["totals"].by_currency[0]["sell"]


def test_staff_overview_reads_the_operators_sales_by_default(client, tree):
    client.force_login(staff(StaffRole.SALES))

    default = client.get(reverse("staff-usage"), USAGE)
    s_book = client.get(reverse("staff-usage"), {**USAGE, "book": tree["s"].pk})
    one = client.get(reverse("staff-usage"), {**USAGE, "customer": tree["d"].pk})

    # S once for its subtree (4), A, E, X; never C1, C2, R or D again
    assert _requests(default) == 7
    assert _sell(default) == Decimal("17.58") + Decimal("2.00") + Decimal("8.00") + Decimal("4.00")
    assert {r["customer_id"] for r in default.context["by_customer"]} == {
        tree[k].pk for k in ("s", "a", "e", "x")
    }
    assert _sell(s_book) == Decimal("10.80") + Decimal("5.40") + Decimal("2.50")
    assert _requests(one) == 1 and _sell(one) == Decimal("3.00")  # a chosen customer, whatever its book
    assert "usage-book" in default.content.decode()


def test_a_resellers_own_usage_page_says_it_is_its_purchases(client, tree):
    client.force_login(staff(StaffRole.SALES))

    reseller = client.get(reverse("staff-customer-usage", args=[tree["s"].pk]), USAGE)
    end = client.get(reverse("staff-customer-usage", args=[tree["c1"].pk]), USAGE)

    assert _sell(reseller) == Decimal("17.58") and "usage-reseller-note" in reseller.content.decode()
    assert f"book={tree['s'].pk}" in reseller.content.decode()
    assert "usage-reseller-note" not in end.content.decode()


def test_staff_overview_groups_by_sub_distributor(client, tree):
    client.force_login(staff(StaffRole.SALES))

    response = client.get(reverse("staff-usage"), {**USAGE, "group": "sub_distributor"})

    groups = {g["customer__code"]: g for g in response.context["by_customer"]}
    assert set(groups) == {"shop-s", "agent-a", "x-direct"}
    assert (groups["agent-a"]["sell"], groups["agent-a"]["customers"]) == (Decimal("10.00"), 2)
    assert groups["shop-s"]["sell"] == Decimal("17.58") and groups["shop-s"]["customers"] == 1
    in_s = client.get(reverse("staff-usage"), {**USAGE, "group": "sub_distributor", "book": tree["s"].pk})
    assert {g["customer__code"]: g["sell"] for g in in_s.context["by_customer"]} == {
        "c1": Decimal("10.80"),
        "c2": Decimal("5.40"),
        "r-sub": Decimal("2.50"),
    }


def test_portal_usage_of_a_reseller_shows_sales_and_purchases_apart(client, tree):
    client.force_login(_member(tree["s"]))

    sales = client.get(reverse("portal-usage"), USAGE)
    purchases = client.get(reverse("portal-usage"), {**USAGE, "show": "purchases"})

    assert _sell(sales) == Decimal("10.80") + Decimal("5.40") + Decimal("2.50")  # at its own prices
    assert _requests(sales) == 3  # R stands for D: D's request is not counted twice
    assert _sell(purchases) == Decimal("17.58") and _requests(purchases) == 4
    assert "chain-report-link" in sales.content.decode()


def test_portal_usage_of_an_end_customer_is_its_own(client, tree):
    client.force_login(_member(tree["d"]))

    response = client.get(reverse("portal-usage"), {**USAGE, "show": "purchases"})

    assert _requests(response) == 1 and _sell(response) == Decimal("3.00")  # at R's retail, its own price
    assert "chain-report-link" not in response.content.decode()
    assert "cost" not in response.context["chart"]


def test_portal_usage_of_an_agency_shows_its_customers_at_its_retail(client, tree):
    client.force_login(_member(tree["a"]))

    customers = client.get(reverse("portal-usage"), USAGE)
    own = client.get(reverse("portal-usage"), {**USAGE, "show": "purchases"})

    assert _sell(customers) == Decimal("8.00") and _sell(own) == Decimal("2.00")
