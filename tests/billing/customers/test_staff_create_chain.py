"""The operator onboards a sub-distributor in its chain mode, with an agency's commission terms and the
retail floor; bad terms are refused on their fields and create nothing (issue #17)."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Customer, StaffRole
from tests.billing.factories import staff

pytestmark = pytest.mark.django_db
Mode, Basis = Customer.ChainMode, Customer.CommissionBasis


def payload(**extra) -> dict:
    return {
        "name": "Sub Co",
        "code": "sub-co",
        "kind": Customer.Kind.SUB_DISTRIBUTOR,
        "language": "en",
        "mode": "monthly",
        "currency": "CNY",
        **extra,
    }


@pytest.fixture
def sales(client):
    client.force_login(staff(StaffRole.SALES))
    return client


def test_a_sub_distributor_is_resale_by_default_with_no_floor(sales):
    response = sales.post(reverse("staff-customer-create"), payload())
    sub = Customer.objects.get(code="sub-co")
    assert response["Location"] == reverse("staff-customer-detail", args=[sub.pk])
    assert (sub.chain_mode, sub.retail_floor, sub.commission_rate) == (Mode.RESALE, None, 0)


def test_an_agency_is_created_with_its_percentage_and_floor(sales):
    sales.post(
        reverse("staff-customer-create"),
        payload(chain_mode="agency", commission_basis="percent", commission_rate="0.08", retail_floor="0.05"),
    )
    sub = Customer.objects.get(code="sub-co")
    assert (sub.chain_mode, sub.commission_basis) == (Mode.AGENCY, Basis.PERCENT)
    assert (sub.commission_rate, sub.retail_floor) == (Decimal("0.08"), Decimal("0.05"))
    # its customers are priced by it and sold by the operator
    child = sales.post(
        reverse("staff-customer-create"),
        payload(code="shop", name="Shop", kind=Customer.Kind.END_CUSTOMER, parent=sub.pk),
    )
    assert child.status_code == 302
    shop = Customer.objects.get(code="shop")
    assert (shop.seller_id, shop.price_owner_id) == (None, sub.pk)


def test_a_direct_sub_distributor_keeps_no_commission_typed_for_it(sales):
    sales.post(
        reverse("staff-customer-create"),
        payload(chain_mode="direct", commission_basis="percent", commission_rate="0.2"),
    )
    sub = Customer.objects.get(code="sub-co")
    assert (sub.chain_mode, sub.commission_basis, sub.commission_rate) == (Mode.DIRECT, Basis.MARGIN, 0)


@pytest.mark.parametrize(
    ("extra", "field", "says"),
    [
        ({"chain_mode": "agency", "commission_basis": "percent"}, "commission_rate", "needs its rate"),
        (
            {"chain_mode": "agency", "commission_basis": "percent", "commission_rate": "1.5"},
            "commission_rate",
            "1",
        ),
        ({"chain_mode": "agency", "commission_rate": "-0.1"}, "commission_rate", "0"),
        ({"retail_floor": "-0.01"}, "retail_floor", "0"),
        ({"retail_floor": "10"}, "retail_floor", "between 0 and 10"),
    ],
)
def test_bad_terms_are_refused_on_their_field_and_create_nothing(sales, extra, field, says):
    response = sales.post(reverse("staff-customer-create"), payload(**extra))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field] and says in errors[field][0]
    assert not Customer.objects.filter(code="sub-co").exists()


def test_an_end_customer_ignores_the_chain_fields(sales):
    sales.post(
        reverse("staff-customer-create"),
        payload(kind=Customer.Kind.END_CUSTOMER, chain_mode="agency", retail_floor="-3"),
    )
    customer = Customer.objects.get(code="sub-co")
    assert (customer.chain_mode, customer.retail_floor) == (Mode.RESALE, None)


def test_the_form_offers_the_chain_fields(sales):
    page = sales.get(reverse("staff-customer-create")).content.decode()
    for name in ("chain_mode", "commission_basis", "commission_rate", "retail_floor"):
        assert f'name="{name}"' in page


def test_a_resellers_floor_for_its_own_sub_distributor_re_checks_that_ones_plans():
    from billing.customers.seller_services import seller_retail_floor_set
    from catalog.models import PlanRule, PriceAlert
    from catalog.services.plans import plan_assign, plan_create
    from tests.catalog.factories import EPOCH, add_rule
    from tests.catalog.retail import chain_build
    from tests.factories import SubDistributorFactory

    chain = chain_build()
    s2 = SubDistributorFactory(parent=chain.seller, chain_mode=Mode.RESALE)
    plan_assign(customer=s2, plan=chain.retail, effective_from=EPOCH)  # S2 buys at S's retail
    own = plan_create(name="S2 Retail", currency="CNY", owner=s2)
    add_rule(own, PlanRule.Method.WHOLESALE_MARKUP, markup=Decimal("0.2"))
    seller_retail_floor_set(seller=chain.seller, customer=s2, retail_floor=Decimal("0.3"))
    open_alerts = PriceAlert.objects.filter(plan=own, resolved_at__isnull=True)
    assert {a.kind for a in open_alerts} == {PriceAlert.Kind.RETAIL_FLOOR}
    seller_retail_floor_set(seller=chain.seller, customer=s2, retail_floor=None)
    assert not PriceAlert.objects.filter(plan=own, resolved_at__isnull=True).exists()
