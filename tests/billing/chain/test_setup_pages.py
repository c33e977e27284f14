"""The operator's "Chain settings" page of a sub-distributor (issue #17): admin, sales and finance change
an agency's commission terms, the retail floor (re-checking its plans) and the mode (a plain switch without
customers, the chain migration's dry run then apply with them, or its refusal); support and auditors read;
portal users are refused."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Customer, MemberRole, StaffRole
from catalog.models import PlanRule, PriceAlert
from catalog.selectors.pricing import plan_for_customer
from catalog.services.plans import plan_assign, plan_create
from tests.billing.factories import staff
from tests.catalog.factories import EPOCH, AIModelFactory, PriceBookFactory, add_prices, add_rule, tier
from tests.catalog.retail import chain_build
from tests.factories import CustomerFactory, MembershipFactory, SubDistributorFactory

pytestmark = pytest.mark.django_db
Mode = Customer.ChainMode


def url(sub) -> str:
    return reverse("staff-chain-settings", args=[sub.pk])


def login(client, role):
    client.force_login(staff(role))
    return client


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def direct_tree():
    """Direct S on the operator's "Wholesale" (5% off list) with customer C inheriting it, no money."""
    model = AIModelFactory(name="glm-5")
    listing = PriceBookFactory(name="Zhipu list", kind="list", currency="CNY")
    add_prices(listing, model, tier(input="16", output="40"))
    wholesale = plan_create(name="Wholesale", currency="CNY")
    add_rule(wholesale, PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0.05"))
    sub = SubDistributorFactory(name="Shop S", code="shop-s", chain_mode=Mode.DIRECT)
    plan_assign(customer=sub, plan=wholesale, effective_from=EPOCH)
    customer = CustomerFactory(name="C One", code="c1", parent=sub)
    return sub, customer


@pytest.mark.parametrize("role", [StaffRole.ADMIN, StaffRole.SALES, StaffRole.FINANCE, StaffRole.SUPPORT])
def test_staff_read_the_mode_seller_price_owner_and_terms(client, role):
    chain = chain_build(mode=Mode.AGENCY)
    Customer.objects.filter(pk=chain.seller.pk).update(
        commission_basis="percent", commission_rate=Decimal("0.08"), retail_floor=Decimal("0.05")
    )
    page = login(client, role).get(url(chain.seller)).content.decode()
    assert 'data-testid="chain-mode">Agency<' in page
    assert "Percentage of retail · 8%" in page and 'data-testid="chain-floor">5%<' in page
    editable = role != StaffRole.SUPPORT
    assert ('data-testid="chain-read-only"' in page) is not editable
    assert ("Save chain terms" in page) is editable


def test_the_auditor_reads_but_cannot_post(client):
    sub = SubDistributorFactory()
    login(client, StaffRole.AUDITOR)
    assert client.get(url(sub)).status_code == 200
    response = client.post(url(sub), {"action": "terms", "commission_basis": "margin", "retail_floor": "0.5"})
    assert response.status_code == 403
    sub.refresh_from_db()
    assert sub.retail_floor is None


def test_support_cannot_post(client):
    sub = SubDistributorFactory()
    response = login(client, StaffRole.SUPPORT).post(url(sub), {"action": "preview", "chain_mode": "direct"})
    assert response.status_code == 403
    response = client.post(url(sub), {"action": "apply", "chain_mode": "direct"})
    assert response.status_code == 403
    sub.refresh_from_db()
    assert sub.chain_mode == Mode.RESALE


def test_portal_users_are_refused_even_the_sub_distributors_own(client):
    sub = SubDistributorFactory()
    shop = CustomerFactory(parent=sub)
    for customer in (sub, shop):
        member = MembershipFactory(customer=customer, role=MemberRole.OWNER)
        client.force_login(member.user)
        assert client.get(url(sub)).status_code == 403
        assert client.post(url(sub), {"action": "apply", "chain_mode": "direct"}).status_code == 403


def test_an_end_customer_has_no_chain_settings(client):
    assert login(client, StaffRole.ADMIN).get(url(CustomerFactory())).status_code == 404


def test_the_customer_page_links_a_sub_distributors_chain_settings(client):
    sub = SubDistributorFactory()
    page = (
        login(client, StaffRole.SALES).get(reverse("staff-customer-detail", args=[sub.pk])).content.decode()
    )
    assert url(sub) in page


def test_finance_sets_an_agencys_percentage(client):
    sub = SubDistributorFactory(chain_mode=Mode.AGENCY)
    data = {"action": "terms", "commission_basis": "percent", "commission_rate": "0.1", "retail_floor": ""}
    response = login(client, StaffRole.FINANCE).post(url(sub), data)
    assert response.status_code == 302
    sub.refresh_from_db()
    assert (sub.commission_basis, sub.commission_rate, sub.retail_floor) == ("percent", Decimal("0.1"), None)


@pytest.mark.parametrize(
    ("data", "field", "says"),
    [
        ({"commission_basis": "percent", "commission_rate": ""}, "commission_rate", "needs its rate"),
        ({"commission_basis": "percent", "commission_rate": "2"}, "commission_rate", "1"),
        ({"commission_basis": "margin", "retail_floor": "-1"}, "retail_floor", "0"),
        ({"commission_basis": "margin", "retail_floor": "10"}, "retail_floor", "between 0 and 10"),
    ],
)
def test_bad_terms_are_refused_on_their_field(client, data, field, says):
    sub = SubDistributorFactory(chain_mode=Mode.AGENCY)
    response = login(client, StaffRole.SALES).post(url(sub), {"action": "terms", **data})
    assert response.status_code == 200
    errors = response.context["terms_form"].errors
    assert list(errors) == [field] and says in errors[field][0]
    sub.refresh_from_db()
    assert (sub.commission_basis, sub.retail_floor) == ("margin", None)


def test_a_new_floor_re_checks_the_sub_distributors_plans(client):
    chain = chain_build()  # S Retail sells at wholesale × 1.2
    login(client, StaffRole.ADMIN)
    client.post(url(chain.seller), {"action": "terms", "commission_basis": "margin", "retail_floor": "0.3"})
    alerts = PriceAlert.objects.filter(plan=chain.retail, resolved_at__isnull=True)
    assert alerts.exists() and {a.kind for a in alerts} == {PriceAlert.Kind.RETAIL_FLOOR}
    client.post(url(chain.seller), {"action": "terms", "commission_basis": "margin", "retail_floor": "0.1"})
    assert not PriceAlert.objects.filter(plan=chain.retail, resolved_at__isnull=True).exists()


def test_without_customers_the_mode_changes_at_once_after_the_preview(client):
    sub = SubDistributorFactory(name="New Shop")
    login(client, StaffRole.SALES)
    preview = client.post(url(sub), {"action": "preview", "chain_mode": "agency"})
    assert "has no customers or usage yet" in preview.content.decode()
    assert 'data-testid="chain-apply-form"' in preview.content.decode()
    sub.refresh_from_db()
    assert sub.chain_mode == Mode.RESALE  # the preview changes nothing
    assert client.post(url(sub), {"action": "apply", "chain_mode": "agency"}).status_code == 302
    sub.refresh_from_db()
    assert sub.chain_mode == Mode.AGENCY
    # a customer onboarded now is priced by the agency and sold by the operator
    shop = CustomerFactory(parent=sub)
    assert (shop.seller_id, shop.price_owner_id) == (None, sub.pk)


def test_with_customers_the_change_goes_through_the_chain_migration(client, direct_tree):
    sub, customer = direct_tree
    login(client, StaffRole.ADMIN)
    preview = client.post(url(sub), {"action": "preview", "chain_mode": "resale"}).content.decode()
    assert "Retail plan Wholesale (a copy owned by shop-s) for: c1." in preview
    customer.refresh_from_db()
    assert customer.seller_id is None  # the dry run writes nothing
    assert client.post(url(sub), {"action": "apply", "chain_mode": "resale"}).status_code == 302
    sub.refresh_from_db()
    customer.refresh_from_db()
    assert sub.chain_mode == Mode.RESALE and customer.seller_id == sub.pk
    plan, _source = plan_for_customer(customer, timezone.now())
    assert plan.owner_id == sub.pk and plan.name == "Wholesale"


def test_a_move_the_migration_does_not_support_shows_its_refusal(client, direct_tree):
    sub, _customer = direct_tree
    login(client, StaffRole.ADMIN)
    for action in ("preview", "apply"):
        response = client.post(url(sub), {"action": action, "chain_mode": "agency"})
        assert response.status_code == 200
        page = response.content.decode()
        assert 'data-testid="chain-refusals"' in page and "Choose resale or direct." in page
        assert 'data-testid="chain-apply-form"' not in page
    sub.refresh_from_db()
    assert sub.chain_mode == Mode.DIRECT
