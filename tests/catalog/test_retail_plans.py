"""Sub-distributors' retail plans: ownership, which plan prices whom, wholesale markup, the retail floor."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Customer, MemberRole
from catalog.admin import PlanRuleForm
from catalog.errors import NoPlan
from catalog.models import PlanAssignment, PlanRule, PriceAlert, SellPlan
from catalog.selectors.pricelist import price_list
from catalog.selectors.pricing import PricingSnapshot, plan_for_customer, plans_for_customers
from catalog.services.alerts import price_check_run
from catalog.services.plans import plan_assign, plan_create, plan_update
from catalog.services.retail import retail_price_set
from tests.catalog.factories import EPOCH, PriceBookFactory, add_prices, add_rule, tier
from tests.catalog.retail import chain_build, floor_set
from tests.factories import CustomerFactory, MembershipFactory, SubDistributorFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 5, 1, tzinfo=UTC)


def prices(plan, model, at=NOW):
    price = PricingSnapshot(at).plan_price(plan, model)
    return price.sell.tiers[0].input, price.sell.tiers[0].output, price


# -- which plan prices whom ------------------------------------------------------------------------


def test_an_end_customer_is_priced_by_its_sellers_plan_and_the_seller_by_ours():
    chain = chain_build()
    assert plan_for_customer(chain.customer, NOW) == (chain.retail, "assigned")
    assert plan_for_customer(chain.seller, NOW) == (chain.wholesale, "assigned")


def test_a_resellers_wholesale_plan_never_prices_its_customers():
    # The audit's bug: the customer inherited its seller's wholesale assignment, or our default plan.
    chain = chain_build()
    plan_create(name="Standard", currency="CNY", is_default=True)
    other = CustomerFactory(parent=chain.seller)
    with pytest.raises(NoPlan):
        plan_for_customer(other, NOW)
    default = plan_create(name="S Default", currency="CNY", owner=chain.seller, is_default=True)
    assert plan_for_customer(other, NOW) == (default, "default")


def test_an_agency_sets_its_customers_plan_too():
    chain = chain_build(mode=Customer.ChainMode.AGENCY)
    assert chain.customer.price_owner_id == chain.seller.pk and chain.customer.seller_id is None
    assert plan_for_customer(chain.customer, NOW)[0] == chain.retail
    assert prices(chain.retail, chain.model)[:2] == (Decimal("15"), Decimal("30"))


def test_a_direct_group_under_a_reseller_inherits_the_resellers_plan_given_to_the_group():
    chain = chain_build()
    group = SubDistributorFactory(parent=chain.seller, chain_mode=Customer.ChainMode.DIRECT)
    member = CustomerFactory(parent=group)
    plan_assign(customer=group, plan=chain.retail, effective_from=EPOCH)
    assert plan_for_customer(member, NOW) == (chain.retail, f"inherited from {group.name}")


def test_operator_customers_keep_the_rule_of_today():
    chain = chain_build()
    standard = plan_create(name="Standard", currency="CNY", is_default=True)
    assert plan_for_customer(CustomerFactory(), NOW) == (standard, "default")
    direct = SubDistributorFactory(chain_mode=Customer.ChainMode.DIRECT)
    plan_assign(customer=direct, plan=chain.wholesale, effective_from=EPOCH)
    assert plan_for_customer(CustomerFactory(parent=direct), NOW)[0] == chain.wholesale


# -- pricing ----------------------------------------------------------------------------------------


def test_wholesale_markup_is_cost_plus_on_the_sellers_buy_price():
    chain = chain_build()
    sell_in, sell_out, price = prices(chain.retail, chain.model)
    assert (sell_in, sell_out) == (Decimal("15"), Decimal("30"))
    # The plan's cost is what S pays, not our contract cost.
    assert (price.cost.tiers[0].input, price.cost.tiers[0].output) == (Decimal("12.5"), Decimal("25"))
    # Its basis and book name neither the wholesale plan nor our cost book.
    assert price.sell.book == "S Retail"
    assert "Wholesale" not in price.sell.basis and "contract" not in price.sell.basis
    assert price.sell.basis == "wholesale × (1 + 0.2)"


def test_wholesale_follows_the_price_in_force_at_the_same_instant():
    chain = chain_build()
    later = datetime(2026, 3, 1, tzinfo=UTC)
    add_prices(chain.cost_book, chain.model, tier(input="20", output="20"), effective_from=later)
    assert prices(chain.retail, chain.model, at=datetime(2026, 2, 1, tzinfo=UTC))[0] == Decimal("15")
    # 20 × 1.25 × 1.2
    assert prices(chain.retail, chain.model, at=NOW)[0] == Decimal("30")


def test_three_levels_each_marks_up_what_it_buys_at():
    chain = chain_build()
    second = SubDistributorFactory(name="Shop S2", parent=chain.seller)
    plan_assign(customer=second, plan=chain.retail, effective_from=EPOCH)
    deep_retail = plan_create(name="S2 Retail", currency="CNY", owner=second)
    add_rule(deep_retail, PlanRule.Method.WHOLESALE_MARKUP, markup=Decimal("0.1"))
    end = CustomerFactory(parent=second)
    plan_assign(customer=end, plan=deep_retail, effective_from=EPOCH)
    assert plan_for_customer(end, NOW)[0] == deep_retail
    sell_in, sell_out, price = prices(deep_retail, chain.model)
    # 10 × 1.25 × 1.2 × 1.1 and 20 × 1.25 × 1.2 × 1.1
    assert (sell_in, sell_out) == (Decimal("16.5"), Decimal("33"))
    assert price.cost.tiers[0].input == Decimal("15")


def test_list_discount_and_explicit_prices_for_a_seller():
    chain = chain_build()
    discounted = plan_create(name="S List", currency="CNY", owner=chain.seller)
    add_rule(discounted, PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0.1"))
    assert prices(discounted, chain.model)[:2] == (Decimal("14.4"), Decimal("36"))
    explicit = plan_create(name="S Explicit", currency="CNY", owner=chain.seller)
    rule = add_rule(explicit, PlanRule.Method.EXPLICIT)
    assert rule.source_book.owner == chain.seller
    retail_price_set(
        plan=explicit, model=chain.model, effective_from=EPOCH, input=Decimal("14"), output=Decimal("33")
    )
    sell_in, sell_out, price = prices(explicit, chain.model)
    assert (sell_in, sell_out) == (Decimal("14"), Decimal("33"))
    assert price.cost.tiers[0].input == Decimal("12.5")


def test_a_sellers_plan_without_a_buy_price_has_no_margin_but_still_prices():
    chain = chain_build()
    discounted = plan_create(name="S List", currency="CNY", owner=chain.seller)
    add_rule(discounted, PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0"))
    chain.wholesale.rules.all().delete()
    _in, _out, price = prices(discounted, chain.model)
    assert price.cost is None and "Wholesale price and margin unknown." in price.warnings[0]


# -- ownership ----------------------------------------------------------------------------------------


def test_plan_names_and_defaults_are_unique_per_owner():
    chain = chain_build()
    other = SubDistributorFactory()
    # Another seller and the operator may use the same name, and each may have a CNY default.
    plan_create(name="S Retail", currency="CNY", owner=other)
    plan_create(name="S Retail", currency="CNY")
    plan_create(name="Basic", currency="CNY", owner=other, is_default=True)
    plan_create(name="Basic", currency="CNY", is_default=True)
    with pytest.raises(ValidationError, match="already a plan named S Retail"):
        plan_create(name="S Retail", currency="CNY", owner=chain.seller)
    plan_create(name="Basic", currency="CNY", owner=chain.seller, is_default=True)
    with pytest.raises(ValidationError, match="already a default plan in CNY"):
        plan_create(name="Other", currency="CNY", owner=chain.seller, is_default=True)
    with pytest.raises(ValidationError, match="already a plan named Basic"):
        plan_update(plan=chain.retail, name="Basic", description="", is_default=False, is_active=True)


def test_the_database_refuses_a_duplicate_name_within_one_owner():
    chain = chain_build()
    with pytest.raises(IntegrityError), transaction.atomic():
        SellPlan.objects.create(name="S Retail", currency="CNY", owner=chain.seller)
    SellPlan.objects.create(name="S Retail", currency="CNY")


def test_only_resale_or_agency_sub_distributors_own_plans():
    for owner in (CustomerFactory(), SubDistributorFactory(chain_mode=Customer.ChainMode.DIRECT)):
        with pytest.raises(ValidationError, match="does not set its own prices"):
            plan_create(name="X", currency="CNY", owner=owner)


def test_a_plan_is_assigned_only_where_its_owner_prices():
    chain = chain_build()
    rival = SubDistributorFactory()
    rival_plan = plan_create(name="Rival", currency="CNY", owner=rival)
    for customer, plan in (
        (chain.customer, chain.wholesale),  # ours to a reseller's customer
        (chain.customer, rival_plan),  # another seller's
        (chain.seller, chain.retail),  # a seller's own plan to itself
    ):
        with pytest.raises(ValidationError, match="is not priced by the owner of"):
            plan_assign(customer=customer, plan=plan, effective_from=NOW)


def test_what_a_sellers_rule_may_derive_from():
    chain = chain_build()
    with pytest.raises(ValidationError, match="marks up its wholesale price, not cost"):
        add_rule(chain.retail, PlanRule.Method.COST_MARKUP, markup=Decimal("0.1"), model=chain.model)
    with pytest.raises(ValidationError, match="Only a sub-distributor's plan"):
        add_rule(chain.wholesale, PlanRule.Method.WHOLESALE_MARKUP, markup=Decimal("0.1"), model=chain.model)
    ours = PriceBookFactory(name="Our sell book", kind="sell", currency="CNY")
    with pytest.raises(ValidationError, match="is not this plan's"):
        add_rule(chain.retail, PlanRule.Method.EXPLICIT, source_book=ours, model=chain.model)
    rival = SubDistributorFactory()
    rival_book = PriceBookFactory(name="Rival book", kind="sell", currency="CNY", owner=rival)
    with pytest.raises(ValidationError, match="is not this plan's"):
        add_rule(chain.retail, PlanRule.Method.EXPLICIT, source_book=rival_book, model=chain.model)
    with pytest.raises(ValidationError, match="Explicit prices of the operator's plans"):
        retail_price_set(
            plan=chain.wholesale, model=chain.model, effective_from=NOW, input=Decimal(1), output=Decimal(1)
        )


# -- the retail floor ----------------------------------------------------------------------------------


def test_a_rule_under_the_retail_floor_is_refused_naming_the_model_and_price():
    chain = chain_build()
    floor_set(chain.seller, "0.1")  # at least 12.5 × 1.1 = 13.75 input, 27.5 output
    cheap = plan_create(name="Cheap", currency="CNY", owner=chain.seller)
    with pytest.raises(ValidationError) as exc:
        add_rule(cheap, PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0.2"))
    # list 16 × 0.8 = 12.8 < 13.75; output 40 × 0.8 = 32 is above 27.5
    assert exc.value.messages == [
        "glm-5 input, cache_read, cache_write_5m, cache_write_1h: 12.8 CNY per million tokens is under "
        "the floor of 13.75 (wholesale 12.5 × (1 + 0.1))."
    ]
    assert not cheap.rules.exists()
    with pytest.raises(ValidationError, match="under the floor"):
        add_rule(cheap, PlanRule.Method.WHOLESALE_MARKUP, markup=Decimal("0.05"))
    add_rule(cheap, PlanRule.Method.WHOLESALE_MARKUP, markup=Decimal("0.1"))
    assert prices(cheap, chain.model)[0] == Decimal("13.75")


def test_a_new_rule_refused_by_the_floor_leaves_the_current_one_open():
    chain = chain_build()
    floor_set(chain.seller, "0.1")
    current = chain.retail.rules.get()
    with pytest.raises(ValidationError):
        add_rule(
            chain.retail,
            PlanRule.Method.WHOLESALE_MARKUP,
            markup=Decimal("0"),
            effective_from=NOW,
            close_open=True,
        )
    current.refresh_from_db()
    assert current.effective_to is None


def test_an_explicit_price_under_the_floor_is_refused_and_not_written():
    chain = chain_build()
    floor_set(chain.seller, "0.1")
    explicit = plan_create(name="S Explicit", currency="CNY", owner=chain.seller)
    rule = add_rule(explicit, PlanRule.Method.EXPLICIT)
    with pytest.raises(
        ValidationError, match=r"glm-5 input, cache_read, .*: 13 CNY .* under the floor of 13.75"
    ):
        retail_price_set(
            plan=explicit, model=chain.model, effective_from=EPOCH, input=Decimal("13"), output=Decimal("40")
        )
    assert not rule.source_book.entries.exists()


def test_without_a_floor_a_seller_may_sell_under_wholesale_but_is_alerted():
    chain = chain_build()
    cheap = plan_create(name="Cheap", currency="CNY", owner=chain.seller)
    add_rule(cheap, PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0.5"))  # 8 < 12.5
    price_check_run(trigger="test", at=NOW)
    alert = PriceAlert.objects.get(plan=cheap, token_class="input", batch=False)
    assert (alert.kind, alert.sell_price, alert.cost_price) == (
        PriceAlert.Kind.LOSS,
        Decimal("8"),
        Decimal("12.5"),
    )


def test_a_wholesale_price_rise_raises_a_retail_floor_alert_on_the_sellers_plan():
    chain = chain_build()
    floor_set(chain.seller, "0.1")
    explicit = plan_create(name="S Explicit", currency="CNY", owner=chain.seller)
    add_rule(explicit, PlanRule.Method.EXPLICIT)
    retail_price_set(
        plan=explicit, model=chain.model, effective_from=EPOCH, input=Decimal("14"), output=Decimal("40")
    )
    price_check_run(trigger="test", at=NOW)
    assert not PriceAlert.objects.filter(plan=explicit).exists()
    # Our cost rises to 10.4: wholesale 13, floor 14.3 > 14 (still above wholesale: not a loss).
    add_prices(chain.cost_book, chain.model, tier(input="10.4", output="20"), effective_from=NOW)
    price_check_run(trigger="cost import", at=NOW)
    alerts = PriceAlert.objects.filter(plan=explicit, resolved_at__isnull=True)
    # cache prices fall back to input: the same price under the floor in each input class
    assert sorted(alerts.values_list("token_class", flat=True)) == [
        "cache_read",
        "cache_write_1h",
        "cache_write_5m",
        "input",
    ]
    alert = alerts.get(token_class="input")
    assert (alert.kind, alert.token_class, alert.sell_price, alert.cost_price) == (
        PriceAlert.Kind.RETAIL_FLOOR,
        "input",
        Decimal("14"),
        Decimal("13"),
    )


def test_plans_for_many_customers_follow_the_same_rule():
    chain = chain_build()
    standard = plan_create(name="Standard", currency="CNY", is_default=True)
    s_default = plan_create(name="S Default", currency="CNY", owner=chain.seller, is_default=True)
    direct = SubDistributorFactory(chain_mode=Customer.ChainMode.DIRECT)
    plan_assign(customer=direct, plan=chain.wholesale, effective_from=EPOCH)
    customers = [
        chain.seller,
        chain.customer,
        CustomerFactory(parent=chain.seller),  # S's default, not S's wholesale nor our default
        CustomerFactory(),  # our default
        CustomerFactory(parent=direct),  # inherits the direct group's plan
    ]
    loaded = Customer.objects.filter(pk__in=[c.pk for c in customers]).select_related("billing_terms")
    assert plans_for_customers(loaded, NOW) == {c.pk: plan_for_customer(c, NOW)[0] for c in customers}
    assert [plans_for_customers(loaded, NOW)[c.pk] for c in customers] == [
        chain.wholesale,
        chain.retail,
        s_default,
        standard,
        chain.wholesale,
    ]


def test_a_cost_plus_retail_plan_of_a_seller_without_a_buy_plan_prices_nothing_and_breaks_nothing():
    chain = chain_build()
    PlanAssignment.objects.filter(customer=chain.seller).delete()
    with pytest.raises(NoPlan):
        PricingSnapshot(NOW).plan_price(chain.retail, chain.model)
    (row,) = price_list(chain.retail, NOW)
    # the plan's own page says it cannot price the model; why (S has no plan) is on the seller's page
    assert row.unavailable.startswith("Plan 'S Retail' cannot price glm-5 at ")
    assert price_check_run(trigger="test", at=NOW).findings == []


def test_the_admin_rule_form_keeps_cost_plus_for_our_plans_and_wholesale_for_sellers():
    chain = chain_build()

    def errors(plan, method):
        data = {"plan": plan.pk, "method": method, "markup": "0.1", "effective_from": "2027-01-01 00:00"}
        form = PlanRuleForm(data=data)
        return form.errors.get("method") if not form.is_valid() else None

    assert errors(chain.retail, PlanRule.Method.COST_MARKUP)
    assert errors(chain.wholesale, PlanRule.Method.WHOLESALE_MARKUP)
    assert errors(chain.retail, PlanRule.Method.WHOLESALE_MARKUP) is None


def test_a_new_buy_plan_checks_the_sellers_plans_and_tells_its_owners(
    mailoutbox, django_capture_on_commit_callbacks
):
    chain = chain_build()
    floor_set(chain.seller, "0.1")
    MembershipFactory(customer=chain.seller, role=MemberRole.OWNER, user__email="owner@shop-s.example.com")
    MembershipFactory(customer=chain.seller, role=MemberRole.VIEWER, user__email="viewer@shop-s.example.com")
    explicit = plan_create(name="S Explicit", currency="CNY", owner=chain.seller)
    add_rule(explicit, PlanRule.Method.EXPLICIT)
    retail_price_set(
        plan=explicit, model=chain.model, effective_from=EPOCH, input=Decimal("14"), output=Decimal("40")
    )
    dearer = plan_create(name="Wholesale Plus", currency="CNY")
    add_rule(dearer, PlanRule.Method.COST_MARKUP, markup=Decimal("0.35"))  # 13.5: floor 14.85 > 14
    with django_capture_on_commit_callbacks(execute=True):
        plan_assign(customer=chain.seller, plan=dearer, effective_from=timezone.now())
    alert = PriceAlert.objects.get(plan=explicit, token_class="input", resolved_at__isnull=True)
    assert (alert.kind, alert.cost_price) == (PriceAlert.Kind.RETAIL_FLOOR, Decimal("13.5"))
    seller_mail = [m for m in mailoutbox if m.to == ["owner@shop-s.example.com"]]
    assert len(seller_mail) == 1 and "vs wholesale 13.5 CNY" in seller_mail[0].body
    assert not [m for m in mailoutbox if "viewer@shop-s.example.com" in m.to]
