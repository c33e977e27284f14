"""Enforcement through the chain: the operator suspending a resale sub-distributor suspends its whole
subtree at the gateway; the sub-distributor suspending one of its customers leaves itself (and its other
customers) served."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.models import Customer, StaffRole
from billing.gateway.models import GatewayHold
from billing.gateway.services import gateway_hold_place
from billing.gateway.status import customer_status
from tests.billing.customers.conftest import member, onboard
from tests.billing.factories import staff

pytestmark = pytest.mark.django_db


def status(customer) -> tuple[str, list[str]]:
    answer = customer_status(customer_id=customer.pk)
    return answer["status"], [r["code"] for r in answer["reasons"]]


@pytest.fixture(autouse=True)
def fresh_status():
    cache.clear()
    yield
    cache.clear()


def test_the_operator_holding_a_resale_seller_suspends_its_whole_subtree(seller, seller_owner, prepaid):
    assert seller.chain_mode == Customer.ChainMode.RESALE
    s2 = onboard(seller, seller_owner, "s2", kind=Customer.Kind.SUB_DISTRIBUTOR)
    deep = onboard(s2, member(s2, "s2@example.com"), "deep")
    assert status(prepaid) == ("active", [])

    gateway_hold_place(customer=seller, reason="unpaid wholesale", actor=staff(StaffRole.FINANCE))
    cache.clear()

    assert status(seller) == ("suspended", ["manual_hold"])
    assert status(prepaid) == ("suspended", ["parent_suspended"])
    assert status(s2) == ("suspended", ["parent_suspended"])
    assert status(deep) == ("suspended", ["parent_suspended"])


def test_the_seller_suspending_its_customer_never_touches_itself(
    as_owner, seller, prepaid, credit, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_owner.post(reverse("portal-seller-hold", args=[prepaid.pk]), {"reason": "did not pay"})
    assert response.status_code == 302

    assert status(prepaid) == ("suspended", ["manual_hold"])
    assert status(seller) == ("active", [])
    assert status(credit) == ("active", [])
    assert not GatewayHold.objects.filter(customer=seller).exists()
    hold = GatewayHold.objects.get(customer=prepaid)
    assert hold.reason == "did not pay"

    with django_capture_on_commit_callbacks(execute=True):
        as_owner.post(reverse("portal-seller-hold-lift", args=[hold.pk]))
    assert status(prepaid) == ("active", [])


def test_suspending_its_sub_distributor_stops_that_subtree_only(as_owner, seller, seller_owner, prepaid):
    s2 = onboard(seller, seller_owner, "s2", kind=Customer.Kind.SUB_DISTRIBUTOR)
    deep = onboard(s2, member(s2, "s2@example.com"), "deep")

    as_owner.post(reverse("portal-seller-hold", args=[s2.pk]), {"reason": "review"})
    cache.clear()

    assert status(s2)[0] == "suspended"
    assert status(deep) == ("suspended", ["parent_suspended"])
    assert status(seller) == ("active", [])
    assert status(prepaid) == ("active", [])


def test_a_hold_the_operator_placed_on_its_customer_is_not_the_sellers_to_lift(as_owner, prepaid):
    hold = gateway_hold_place(customer=prepaid, reason="fraud review", actor=staff(StaffRole.ADMIN))

    response = as_owner.post(reverse("portal-seller-hold-lift", args=[hold.pk]), follow=True)

    assert "only the operator can lift it" in response.content.decode()
    hold.refresh_from_db()
    assert hold.ended_at is None


def test_a_hold_needs_a_reason(as_owner, prepaid):
    response = as_owner.post(reverse("portal-seller-hold", args=[prepaid.pk]), {"reason": " "}, follow=True)
    assert "Not suspended" in response.content.decode()
    assert not GatewayHold.objects.exists()
