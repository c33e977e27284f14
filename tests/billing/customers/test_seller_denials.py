"""Who reaches the seller console: a resale or agency sub-distributor's members, each only for its own
customers (others are 404); end customers, direct sub-distributors and staff are refused (403); viewers
read but do not act."""

import pytest
from django.urls import reverse

from accounts.models import Customer, MemberRole, StaffRole
from billing.gateway.models import GatewayHold
from billing.terms.services import customer_onboard
from tests.billing.customers.conftest import member, onboard
from tests.billing.factories import staff

pytestmark = pytest.mark.django_db

READ_PAGES = ["portal-seller-home", "portal-seller-dunning"]
RESALE_PAGES = ["portal-seller-transfers", "portal-seller-codes", "portal-seller-close"]
MANAGER_PAGES = ["portal-seller-customer-new", "portal-seller-transfer-new"]


def _sub(code, mode, parent=None):
    customer = customer_onboard(
        name=code,
        code=code,
        kind=Customer.Kind.SUB_DISTRIBUTOR,
        parent=parent,
        language="en",
        contact_email="",
        mode="prepaid",
        currency="CNY",
    )
    Customer.objects.filter(pk=customer.pk).update(chain_mode=mode)
    customer.refresh_from_db()
    return customer


@pytest.mark.parametrize("name", READ_PAGES + RESALE_PAGES + MANAGER_PAGES)
def test_the_owner_of_a_resale_seller_reaches_every_page(as_owner, name):
    assert as_owner.get(reverse(name)).status_code == 200


def test_the_portal_menu_leads_a_seller_to_its_business(as_owner):
    assert 'data-testid="nav-seller"' in as_owner.get(reverse("portal-home")).content.decode()


@pytest.mark.parametrize("name", READ_PAGES + RESALE_PAGES + MANAGER_PAGES)
def test_an_end_customer_is_refused(client, prepaid, name):
    client.force_login(member(prepaid, "c@example.com"))
    assert client.get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", READ_PAGES + RESALE_PAGES + MANAGER_PAGES)
def test_a_direct_sub_distributor_is_refused_and_keeps_its_read_only_views(client, name):
    direct = _sub("direct-s", Customer.ChainMode.DIRECT)
    user = member(direct, "d@example.com")
    client.force_login(user)
    assert client.get(reverse(name)).status_code == 403
    # The views it had before chains still answer.
    assert client.get(reverse("portal-customer-list")).status_code == 200
    assert 'data-testid="nav-seller"' not in client.get(reverse("portal-home")).content.decode()


@pytest.mark.parametrize("name", READ_PAGES + RESALE_PAGES + MANAGER_PAGES)
def test_operator_staff_are_refused(client, name):
    client.force_login(staff(StaffRole.ADMIN))
    assert client.get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", READ_PAGES + RESALE_PAGES + MANAGER_PAGES)
def test_anonymous_users_are_sent_to_sign_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_an_agency_seller_reads_its_customers_but_has_no_book_pages(client):
    agency = _sub("agency-s", Customer.ChainMode.AGENCY)
    customer = customer_onboard(
        name="Via agent",
        code="via-agent",
        kind=Customer.Kind.END_CUSTOMER,
        parent=agency,
        language="en",
        contact_email="",
        mode="prepaid",
        currency="CNY",
    )
    client.force_login(member(agency, "a@example.com"))
    home = client.get(reverse("portal-seller-home"))
    assert home.status_code == 200
    assert [c.code for c in home.context["customers"]] == ["via-agent"]
    assert client.get(reverse("portal-seller-customer", args=[customer.pk])).status_code == 200
    for name in RESALE_PAGES + MANAGER_PAGES:
        assert client.get(reverse(name)).status_code == 403, name
    assert client.post(reverse("portal-seller-terms", args=[customer.pk])).status_code == 403


@pytest.mark.parametrize("role", [MemberRole.VIEWER])
def test_a_viewer_reads_but_cannot_act(client, seller, prepaid, role):
    client.force_login(member(seller, "v@example.com", role))
    assert client.get(reverse("portal-seller-home")).status_code == 200
    detail = client.get(reverse("portal-seller-customer", args=[prepaid.pk]))
    assert detail.status_code == 200 and detail.context["can_manage"] is False
    for name in MANAGER_PAGES:
        assert client.get(reverse(name)).status_code == 403
    assert client.get(reverse("portal-seller-terms", args=[prepaid.pk])).status_code == 403
    response = client.post(reverse("portal-seller-hold", args=[prepaid.pk]), {"reason": "x"})
    assert response.status_code == 403
    assert not GatewayHold.objects.exists()
    assert client.get(reverse("portal-seller-code-export", args=[1])).status_code == 403


def test_another_sellers_customers_are_404_on_every_page(as_owner, seller, stranger):
    other = _sub("other-s", Customer.ChainMode.RESALE)
    theirs = onboard(other, member(other, "o@example.com"), "theirs")
    for target in (stranger, theirs, seller):
        pk = target.pk
        assert as_owner.get(reverse("portal-seller-customer", args=[pk])).status_code == 404
        assert as_owner.get(reverse("portal-seller-terms", args=[pk])).status_code == 404
        assert as_owner.post(reverse("portal-seller-hold", args=[pk]), {"reason": "x"}).status_code == 404
        floor = {"floor": "-10", "limit_mode": "soft"}
        assert as_owner.post(reverse("portal-seller-wallet-floor", args=[pk]), floor).status_code == 404
        assert as_owner.post(reverse("portal-seller-retail-floor", args=[pk]), {}).status_code == 404
    assert not GatewayHold.objects.exists()


def test_a_customer_deeper_in_another_book_is_404(as_owner, seller, seller_owner):
    """S2 resells below S: S2's customers are in S2's book, not S's business."""
    s2 = onboard(seller, seller_owner, "s2", kind=Customer.Kind.SUB_DISTRIBUTOR)
    deep = onboard(s2, member(s2, "s2@example.com"), "deep")
    assert as_owner.get(reverse("portal-seller-customer", args=[s2.pk])).status_code == 200
    assert as_owner.get(reverse("portal-seller-customer", args=[deep.pk])).status_code == 404
    assert as_owner.post(reverse("portal-seller-hold", args=[deep.pk]), {"reason": "x"}).status_code == 404
    codes = [c.code for c in as_owner.get(reverse("portal-seller-home")).context["customers"]]
    assert codes == ["s2"]


def test_a_hold_of_another_seller_cannot_be_lifted(as_owner, stranger, seller_owner):
    hold = GatewayHold.objects.create(customer=stranger, reason="operator's", created_by=None)
    assert as_owner.post(reverse("portal-seller-hold-lift", args=[hold.pk])).status_code == 404
    hold.refresh_from_db()
    assert hold.ended_at is None


def test_staff_customer_pages_are_unchanged_for_staff(client, prepaid):
    client.force_login(staff(StaffRole.SALES))
    assert client.get(reverse("staff-customer-detail", args=[prepaid.pk])).status_code == 200
    assert client.get(reverse("staff-customer-terms", args=[prepaid.pk])).status_code == 200
