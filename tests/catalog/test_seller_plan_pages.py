"""A sub-distributor's retail plan pages in the portal: list, create, preview, assign, and who may not."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Customer, MemberRole
from catalog.models import PlanAssignment, PlanRule, SellPlan
from catalog.selectors.pricing import plan_for_customer
from catalog.services.alerts import price_check_run
from catalog.services.plans import plan_create
from tests.catalog.factories import add_rule
from tests.catalog.retail import chain_build, floor_set
from tests.factories import CustomerFactory, MembershipFactory, StaffFactory, SubDistributorFactory

pytestmark = pytest.mark.django_db


def member_client(customer, role=MemberRole.OWNER) -> Client:
    client = Client()
    client.force_login(MembershipFactory(customer=customer, role=role).user)
    return client


def create_form(**overrides) -> dict:
    data = {
        "name": "Retail 20",
        "currency": "CNY",
        "description": "",
        "method": PlanRule.Method.WHOLESALE_MARKUP,
        "markup_percent": "20",
        "discount_percent": "",
        "effective": timezone.localdate().isoformat(),
    }
    return data | overrides


def test_the_owner_creates_a_cost_plus_plan_and_sees_prices_beside_wholesale():
    chain = chain_build()
    client = member_client(chain.seller)
    response = client.post(reverse("portal-plan-create"), create_form())
    plan = SellPlan.objects.get(owner=chain.seller, name="Retail 20")
    assert response.status_code == 302 and response.url == reverse("portal-plan-detail", args=[plan.pk])
    rule = plan.rules.get()
    assert (rule.method, rule.markup, rule.model) == (PlanRule.Method.WHOLESALE_MARKUP, Decimal("0.2"), None)
    page = client.get(response.url).content.decode()
    # glm-5: wholesale 12.5 → 15 input, 25 → 30 output; margin 2.5 / 15
    assert '<td class="money" data-testid="preview-input">15</td>' in page
    assert '<td class="money" data-testid="preview-output">30</td>' in page
    assert "12.5" in page and "16.6667%" in page
    # the seller sees the plan it buys at, by name
    assert "Wholesale" in page
    assert "Retail 20" in client.get(reverse("portal-plan-list")).content.decode()


def test_the_owner_assigns_a_plan_to_its_customer():
    chain = chain_build()
    other = CustomerFactory(name="Second Customer", parent=chain.seller)
    later = CustomerFactory(name="Third Customer", parent=chain.seller)
    client = member_client(chain.seller)
    today = client.post(
        reverse("portal-plan-assign", args=[chain.retail.pk]),
        {"customer": other.pk, "effective": create_form()["effective"]},
    )
    assert today.status_code == 302
    assert plan_for_customer(other, timezone.now())[0] == chain.retail
    response = client.post(
        reverse("portal-plan-assign", args=[chain.retail.pk]),
        {"customer": later.pk, "effective": "2999-01-01", "note": "from next millennium"},
    )
    assert response.status_code == 302
    assignment = PlanAssignment.objects.get(customer=later)
    assert assignment.note == "from next millennium"
    assert timezone.localtime(assignment.effective_from).date().isoformat() == "2999-01-01"
    assert assignment.created_by is not None
    assert (
        "Third Customer" in client.get(reverse("portal-plan-detail", args=[chain.retail.pk])).content.decode()
    )


def test_a_past_start_is_refused():
    chain = chain_build()
    response = member_client(chain.seller).post(
        reverse("portal-plan-create"), create_form(effective="2020-01-01")
    )
    assert "past prices are never rewritten" in response.content.decode()
    assert not SellPlan.objects.filter(name="Retail 20").exists()


def test_a_plan_under_the_retail_floor_is_refused_with_the_model_and_price():
    chain = chain_build()
    floor_set(chain.seller, "0.3")  # wholesale 12.5 × 1.3 = 16.25
    response = member_client(chain.seller).post(reverse("portal-plan-create"), create_form())
    page = response.content.decode()
    assert response.status_code == 200
    assert "glm-5 input, cache_read, cache_write_5m, cache_write_1h: 15 CNY per million tokens" in page
    assert "under the floor of 16.25" in page
    assert not SellPlan.objects.filter(name="Retail 20").exists()


def test_explicit_prices_are_entered_per_model():
    chain = chain_build()
    client = member_client(chain.seller)
    client.post(reverse("portal-plan-create"), create_form(name="Hand", method=PlanRule.Method.EXPLICIT))
    plan = SellPlan.objects.get(name="Hand")
    response = client.post(
        reverse("portal-plan-price-set", args=[plan.pk]),
        {
            "model": chain.model.pk,
            "input": "14",
            "output": "33",
            "cache_read": "",
            "effective": create_form()["effective"],
        },
    )
    assert response.status_code == 302
    page = client.get(reverse("portal-plan-detail", args=[plan.pk])).content.decode()
    assert '<td class="money" data-testid="preview-input">14</td>' in page


def test_the_owner_edits_name_and_default():
    chain = chain_build()
    response = member_client(chain.seller).post(
        reverse("portal-plan-edit", args=[chain.retail.pk]),
        {"name": "Retail Gold", "description": "best", "is_default": "on", "is_active": "on"},
    )
    assert response.status_code == 302
    chain.retail.refresh_from_db()
    assert (chain.retail.name, chain.retail.is_default) == ("Retail Gold", True)


# -- denials -------------------------------------------------------------------------------------------


def test_another_seller_cannot_see_or_change_the_plans():
    chain = chain_build()
    rival = member_client(SubDistributorFactory(name="Rival"))
    for name in ("portal-plan-detail", "portal-plan-edit"):
        assert rival.get(reverse(name, args=[chain.retail.pk])).status_code == 404
    for name in ("portal-plan-rule-add", "portal-plan-assign", "portal-plan-price-set"):
        assert rival.post(reverse(name, args=[chain.retail.pk]), {}).status_code == 404
    assert "S Retail" not in rival.get(reverse("portal-plan-list")).content.decode()


def test_a_seller_cannot_open_the_operators_plans():
    chain = chain_build()
    client = member_client(chain.seller)
    assert client.get(reverse("portal-plan-detail", args=[chain.wholesale.pk])).status_code == 404
    assert client.get(reverse("portal-plan-edit", args=[chain.wholesale.pk])).status_code == 404


def test_a_seller_cannot_assign_to_a_customer_of_another_seller():
    chain = chain_build()
    stranger = CustomerFactory(parent=SubDistributorFactory())
    response = member_client(chain.seller).post(
        reverse("portal-plan-assign", args=[chain.retail.pk]),
        {"customer": stranger.pk, "effective": create_form()["effective"]},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not PlanAssignment.objects.filter(customer=stranger).exists()


def test_end_customers_direct_groups_and_staff_cannot_reach_plan_pages():
    chain = chain_build()
    direct = SubDistributorFactory(chain_mode=Customer.ChainMode.DIRECT)
    staff = Client()
    staff.force_login(StaffFactory())
    for client in (member_client(chain.customer), member_client(direct), staff):
        assert client.get(reverse("portal-plan-list")).status_code == 403
        assert client.get(reverse("portal-plan-detail", args=[chain.retail.pk])).status_code == 403
        assert client.post(reverse("portal-plan-create"), create_form()).status_code == 403
    assert Client().get(reverse("portal-plan-list")).status_code == 302


def test_a_viewer_reads_but_does_not_change():
    chain = chain_build()
    viewer = member_client(chain.seller, role=MemberRole.VIEWER)
    page = viewer.get(reverse("portal-plan-detail", args=[chain.retail.pk]))
    assert page.status_code == 200 and b'data-testid="assign-form"' not in page.content
    assert viewer.post(reverse("portal-plan-create"), create_form()).status_code == 403
    response = viewer.post(
        reverse("portal-plan-assign", args=[chain.retail.pk]),
        {"customer": chain.customer.pk, "effective": "2999-01-01"},
    )
    assert response.status_code == 403


def test_staff_read_sub_distributors_plans():
    chain = chain_build()
    plan_create(name="Agency Retail", currency="CNY", owner=SubDistributorFactory(chain_mode="agency"))
    staff = Client()
    staff.force_login(StaffFactory())
    ours = staff.get(reverse("catalog-plan-list")).content.decode()
    assert "Wholesale" in ours and "S Retail" not in ours
    everyone = staff.get(reverse("catalog-plan-list"), {"owner": "all"}).content.decode()
    assert "S Retail" in everyone and "Agency Retail" in everyone and "Shop S" in everyone
    detail = staff.get(reverse("catalog-plan-detail", args=[chain.retail.pk])).content.decode()
    assert "retail plan of Shop S" in detail


def test_the_plan_page_lists_open_alerts_on_the_plan():
    chain = chain_build()
    cheap = plan_create(name="Cheap", currency="CNY", owner=chain.seller)
    add_rule(cheap, PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0.5"))  # list 16 → 8 < wholesale 12.5
    price_check_run(trigger="test", at=timezone.now())
    page = member_client(chain.seller).get(reverse("portal-plan-detail", args=[cheap.pk])).content.decode()
    # the class is named as the price tables name it (in the reader's language), not by its code
    assert "glm-5 Input: Sells below cost — you sell at 8, you buy at 12.5 CNY per million tokens." in page


def test_staff_see_a_resellers_customer_priced_by_its_retail_plan_and_cannot_assign_ours():
    chain = chain_build()
    staff = Client()
    staff.force_login(StaffFactory())
    url = reverse("catalog-customer-prices") + f"?customer={chain.customer.pk}"
    page = staff.get(url).content.decode()
    assert "pays plan <strong>S Retail</strong>" in page
    assert "Priced by the retail plans of Shop S" in page and 'data-testid="assign-form"' not in page
    response = staff.post(
        url, {"customer": chain.customer.pk, "plan": chain.wholesale.pk, "effective": "2026-01-01"}
    )
    # the form is not offered; a crafted POST is refused by the service and assigns nothing
    assert response.status_code == 200
    assert list(
        PlanAssignment.objects.filter(customer=chain.customer).values_list("plan__name", flat=True)
    ) == ["S Retail"]
