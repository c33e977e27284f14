"""Who sees which customer, on a three-level distribution tree."""

import pytest
from django.urls import reverse

from accounts.models import StaffRole
from accounts.selectors import customer_for_user, customers_visible_to
from tests.factories import (
    CustomerFactory,
    MembershipFactory,
    StaffFactory,
    SubDistributorFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree():
    """operator → east (sub) → {east-a, east-sub (sub) → {east-sub-x}}; west (sub) → {west-a}; direct."""
    east = SubDistributorFactory(code="east")
    east_a = CustomerFactory(code="east-a", parent=east)
    east_sub = SubDistributorFactory(code="east-sub", parent=east)
    east_sub_x = CustomerFactory(code="east-sub-x", parent=east_sub)
    west = SubDistributorFactory(code="west")
    west_a = CustomerFactory(code="west-a", parent=west)
    direct = CustomerFactory(code="direct")
    return {c.code: c for c in (east, east_a, east_sub, east_sub_x, west, west_a, direct)}


def _codes(user) -> set[str]:
    return set(customers_visible_to(user).values_list("code", flat=True))


def _member_of(customer):
    return MembershipFactory(customer=customer).user


def test_staff_of_every_role_sees_every_customer(tree):
    for role in StaffRole.values:
        assert _codes(StaffFactory(staff_role=role)) == set(tree)


def test_sub_distributor_sees_exactly_its_subtree_at_every_depth(tree):
    assert _codes(_member_of(tree["east"])) == {"east", "east-a", "east-sub", "east-sub-x"}
    assert _codes(_member_of(tree["east-sub"])) == {"east-sub", "east-sub-x"}


def test_end_customer_sees_only_itself_never_a_sibling(tree):
    user = _member_of(tree["east-a"])
    assert _codes(user) == {"east-a"}
    assert customer_for_user(user, tree["east-sub"].pk) is None
    assert customer_for_user(user, tree["east"].pk) is None


def test_other_branch_and_strangers_see_nothing_of_east(tree):
    west_user = _member_of(tree["west"])
    assert _codes(west_user) == {"west", "west-a"}
    assert customer_for_user(west_user, tree["east-a"].pk) is None
    assert _codes(UserFactory()) == set()


def test_inactive_staff_sees_nothing(tree):
    assert _codes(StaffFactory(is_active=False)) == set()


def test_portal_detail_of_a_customer_outside_the_subtree_is_404(client, tree):
    client.force_login(_member_of(tree["east-sub"]))
    ok = client.get(reverse("portal-customer-detail", args=[tree["east-sub-x"].pk]))
    sibling = client.get(reverse("portal-customer-detail", args=[tree["east-a"].pk]))
    parent = client.get(reverse("portal-customer-detail", args=[tree["east"].pk]))
    assert ok.status_code == 200
    assert sibling.status_code == 404
    assert parent.status_code == 404


def test_portal_customer_list_shows_the_subtree_without_the_own_organisation(client, tree):
    client.force_login(_member_of(tree["east"]))
    response = client.get(reverse("portal-customer-list"))
    codes = {c.code for c in response.context["page_obj"]}
    assert codes == {"east-a", "east-sub", "east-sub-x"}


def test_customer_users_are_refused_the_staff_dashboard(client, tree):
    client.force_login(_member_of(tree["east"]))
    assert client.get(reverse("dashboard")).status_code == 403
    assert client.get(reverse("staff-customer-list")).status_code == 403
    assert client.get(reverse("staff-customer-detail", args=[tree["east-a"].pk])).status_code == 403


def test_staff_without_membership_are_refused_the_portal(client):
    client.force_login(StaffFactory())
    assert client.get(reverse("portal-home")).status_code == 403


def test_anonymous_users_are_sent_to_sign_in(client, tree):
    for url in (reverse("dashboard"), reverse("portal-home"), reverse("staff-customer-list")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_a_customer_cannot_be_placed_under_an_end_customer(tree):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="Only a sub-distributor"):
        CustomerFactory(parent=tree["direct"])
