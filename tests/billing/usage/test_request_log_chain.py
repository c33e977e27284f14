# ruff: noqa: F811 (pytest fixtures imported by name)
"""The staff request log of requests sold through the chain: each row shows what the end customer was
charged and by whom, and the operator's own sale and cost (its hop of the chain), never a reseller's
figures labelled as ours. The portal still shows a customer its own charge alone.

Prices (tests.billing.usage.test_chain_hops): a request costs 5.00 CNY (contract); the operator's wholesale
plan sells it at 6.00, a reseller's retail plan at 7.50.
"""

import csv
import io
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.models import Customer, StaffRole
from billing.usage.services import usage_batch_ingest
from tests.billing.factories import staff
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import customer_make, owned_plan, plan_assign
from tests.billing.usage.test_chain_hops import (  # noqa: F401 (fixtures)
    AUDIT_RECORDS,
    agency,
    audit,
    book_top_up,
    ingest,
    sub_make,
    use,
)
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

DAY = {"start": "2026-05-04T00:00", "end": "2026-05-05T00:00"}
STAFF, STAFF_CSV = "staff-request-log", "staff-request-log-csv"
PORTAL, PORTAL_CSV = "portal-request-log", "portal-request-log-csv"


def _csv(response) -> dict[str, dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return {row["Request id"]: row for row in csv.DictReader(io.StringIO(body))}


def _figures(row: dict[str, str]) -> tuple:
    """A CSV row's customer charge, who charged it, our sale and our cost (amounts exact)."""
    amounts = [
        Decimal(row[name]) if row[name] else None for name in ("Customer charged", "Our sale", "Our cost")
    ]
    return amounts[0], row["Charged by"], amounts[1], amounts[2]


def _rows(response) -> dict[str, dict]:
    return {row["request_id"]: row for row in response.context["rows"]}


def test_the_staff_csv_shows_the_operators_sale_and_cost_of_a_resold_request(client, source, audit):
    s, prepaid, _credit = audit
    ingest("services", source, AUDIT_RECORDS)
    client.force_login(staff(StaffRole.FINANCE))

    rows = _csv(client.get(reverse(STAFF_CSV), DAY))

    p1 = rows["p1"]
    # the end customer pays the reseller its retail price; the operator sells to the reseller at wholesale
    assert _figures(p1) == (Decimal("7.5"), s.name, Decimal("6"), Decimal("5"))  # the contract, not S's 6
    assert (p1["Currency"], p1["Our sale currency"], p1["Our cost currency"]) == ("CNY", "CNY", "CNY")
    assert "Cost" not in p1 and "Charge" not in p1
    assert _figures(rows["c1"]) == (Decimal("7.5"), s.name, Decimal("6"), Decimal("5"))
    # S's own traffic is sold by the operator: one hop, its charge is our sale
    assert _figures(rows["s1"]) == (Decimal("6"), settings.OPERATOR_NAME, Decimal("6"), Decimal("5"))
    assert rows["p1"]["Customer code"] == prepaid.code


def test_the_staff_page_shows_the_operators_sale_and_cost_of_a_resold_request(client, source, audit):
    s, _prepaid, _credit = audit
    ingest("services", source, AUDIT_RECORDS)
    client.force_login(staff(StaffRole.SUPPORT))

    response = client.get(reverse(STAFF), DAY)

    rows = _rows(response)
    p1 = rows["p1"]
    assert (p1["sell_amount"], p1["charged_by"]) == (Decimal("7.5"), s)
    assert (p1["our_sell_amount"], p1["our_cost_amount"], p1["our_sell_plan"]) == (
        Decimal("6"),
        Decimal("5"),
        "Wholesale",
    )
    assert rows["s1"]["charged_by"] is None and rows["s1"]["our_cost_amount"] == Decimal("5")
    page = response.content.decode()
    assert "Customer charged" in page and "Our sale" in page and "Our cost" in page
    row_html = page.split('data-request-id="p1"')[1].split("</tr>")[0]
    assert f"by {s.name}" in row_html
    (our_cost,) = _cells(row_html, "our-cost")
    (our_sale,) = _cells(row_html, "our-sale")
    (charge,) = _cells(row_html, "charge")
    assert "5.00" in our_cost and "6.00" not in our_cost
    assert "6.00" in our_sale and "7.50" in charge


def _cells(row_html: str, testid: str) -> list[str]:
    marker = f'data-testid="{testid}">'
    return [part.split("</td>")[0].split("</div>")[0] for part in row_html.split(marker)[1:]]


def test_the_staff_page_reads_the_chain_in_chinese(client, source, audit):
    s, _prepaid, _credit = audit
    ingest("services", source, AUDIT_RECORDS)
    client.force_login(staff(StaffRole.AUDITOR))

    page = client.get(reverse(STAFF), DAY, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    export = client.get(reverse(STAFF_CSV), DAY, HTTP_ACCEPT_LANGUAGE="zh-hans")
    header = next(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))

    assert "向客户收取" in page and "我方销售" in page and "我方成本" in page
    assert f"由 {s.name} 收取" in page
    assert {"向客户收取", "收取方", "我方销售", "我方成本"} <= set(header) and "成本" not in header


def test_a_direct_customers_row_is_unchanged(client, source, prepaid):
    top_up(prepaid, Decimal("100"))
    usage_batch_ingest(source=source, records=[use("d1", "key-a")])
    client.force_login(staff(StaffRole.FINANCE))

    d1 = _csv(client.get(reverse(STAFF_CSV), DAY))["d1"]
    row = _rows(client.get(reverse(STAFF), DAY))["d1"]

    sell, cost = row["sell_amount"], row["cost_amount"]
    assert sell > 0 and cost > 0
    assert _figures(d1) == (sell, settings.OPERATOR_NAME, sell, cost)
    assert row["charged_by"] is None
    assert (row["our_sell_amount"], row["our_cost_amount"]) == (row["sell_amount"], row["cost_amount"])


def test_an_agency_customer_is_the_operators_sale_at_hop_0_and_the_commission_is_not_a_sale(
    client, source, agency
):
    _agent, _end = agency
    ingest("services", source, [use("r1", "key-e")])
    client.force_login(staff(StaffRole.FINANCE))

    r1 = _csv(client.get(reverse(STAFF_CSV), DAY))["r1"]

    # the operator bills the agency's customer at its retail; the agent's commission is no sale of ours
    assert _figures(r1) == (Decimal("7.5"), settings.OPERATOR_NAME, Decimal("7.5"), Decimal("5"))


def test_an_agency_below_a_reseller_our_sale_is_the_resellers_purchase_not_the_commission(
    client, source, model
):
    s = sub_make()
    plan_assign(s, owned_plan(None, "Wholesale", "0.2"))
    top_up(s, Decimal("100"), key="s-topup")
    agent = sub_make(s, mode=Customer.ChainMode.AGENCY)
    plan_assign(agent, owned_plan(s, "S to agents", "0.4"))
    end = customer_make(key="key-e", parent=agent)
    plan_assign(end, owned_plan(agent, "Agent retail", "0.6"))
    book_top_up(end, "20")
    usage_batch_ingest(source=source, records=[use("r1", "key-e")])
    client.force_login(staff(StaffRole.FINANCE))

    r1 = _csv(client.get(reverse(STAFF_CSV), DAY))["r1"]

    # hop 1 holds both S's purchase (6, cost 5) and the agent's commission (1): ours is the purchase
    assert _figures(r1) == (Decimal("8"), s.name, Decimal("6"), Decimal("5"))


def test_the_portal_shows_the_end_customer_its_own_charge_only(client, source, audit):
    _s, prepaid, _credit = audit
    ingest("services", source, AUDIT_RECORDS)
    client.force_login(MembershipFactory(customer=prepaid).user)

    rows = _csv(client.get(reverse(PORTAL_CSV), DAY))
    page = client.get(reverse(PORTAL), DAY)

    assert set(rows) == {"p1", "p2"}
    assert Decimal(rows["p1"]["Charge"]) == Decimal("7.5")
    assert not {"Our sale", "Our cost", "Cost", "Charged by"} & set(rows["p1"])
    content = page.content.decode()
    assert "Our cost" not in content and "Our sale" not in content
    assert 'data-testid="charged-by"' not in content
    assert "our_cost_amount" not in _rows(page)["p1"]
