"""The staff customer page: every tab as a partial (htmx) and as a whole page, who may see and change what,
pagination, and the page in Chinese."""

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Customer, MemberRole, StaffRole
from billing.customers.tabs import BUILDERS, PAGE_SIZE
from billing.gateway.services import gateway_key_create
from billing.receivables.credit_notes import credit_note_issue
from billing.receivables.services import payment_record
from billing.terms.services import billing_terms_update, customer_onboard
from billing.usage.models import GatewayKey
from catalog.models import PlanAssignment
from catalog.services.plans import plan_create
from tests.billing.factories import staff, topup
from tests.billing.invoicing.factories import issued_invoice
from tests.factories import MembershipFactory, StaffFactory, SubDistributorFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def onboard(code="acme", mode="monthly", parent=None, kind=Customer.Kind.END_CUSTOMER, language="en"):
    return customer_onboard(
        name=code.title(),
        code=code,
        kind=kind,
        parent=parent,
        language=language,
        contact_email=f"{code}@example.com",
        mode=mode,
        currency="CNY",
    )


@pytest.fixture
def customer():
    return onboard()


def page(pk, tab=None, **params):
    url = reverse("staff-customer-detail", args=[pk])
    query = "&".join(f"{k}={v}" for k, v in (({"tab": tab} if tab else {}) | params).items())
    return f"{url}?{query}" if query else url


def signed_in(client, role):
    client.force_login(
        staff(role) if role in (StaffRole.ADMIN, StaffRole.FINANCE) else StaffFactory(staff_role=role)
    )
    return client


@pytest.mark.parametrize("tab", list(BUILDERS))
@pytest.mark.parametrize("role", [StaffRole.SALES, StaffRole.AUDITOR])
def test_every_tab_renders_as_a_partial_and_as_a_page(client, customer, tab, role):
    signed_in(client, role)

    partial = client.get(page(customer.pk, tab), **HTMX)
    full = client.get(page(customer.pk, tab))

    assert partial.status_code == full.status_code == 200
    assert partial.context["tab"] == full.context["tab"] == tab
    assert "<html" not in partial.content.decode()
    assert f'data-tab="{tab}"' in partial.content.decode()
    assert "<html" in full.content.decode() and f'data-tab="{tab}"' in full.content.decode()
    assert "HX-Request" in partial["Vary"]


def test_an_unknown_tab_is_not_found(client, customer):
    signed_in(client, StaffRole.SALES)
    assert client.get(page(customer.pk, "secrets")).status_code == 404


def test_the_default_tab_is_the_profile_with_the_chain_mode(client):
    sub = onboard("sub", kind=Customer.Kind.SUB_DISTRIBUTOR)
    signed_in(client, StaffRole.SUPPORT)
    response = client.get(page(sub.pk))
    body = response.content.decode()
    assert response.context["tab"] == "profile"
    assert 'data-testid="chain-mode"' in body and sub.get_chain_mode_display() in body


def test_customer_users_and_sub_distributor_users_are_refused(client, customer):
    sub = SubDistributorFactory()
    outside_user = MembershipFactory(customer=sub).user
    own_user = MembershipFactory(customer=customer).user
    for user in (outside_user, own_user):
        client.force_login(user)
        for tab in ("profile", "invoices", "keys"):
            assert client.get(page(customer.pk, tab), **HTMX).status_code == 403
    client.logout()
    assert client.get(page(customer.pk, "wallet")).status_code == 302  # to sign in


def test_a_customer_nobody_may_see_is_not_found(client):
    signed_in(client, StaffRole.SALES)
    assert client.get(page(999999, "profile")).status_code == 404


def test_the_checklist_shows_what_is_left_and_goes_when_done(client, customer):
    signed_in(client, StaffRole.SALES)
    response = client.get(page(customer.pk))
    steps = {step.name: step.done for step in response.context["checklist"]}
    assert steps == {"terms": True, "plan": False, "key": False, "user": False}
    assert 'data-testid="onboarding-checklist"' in response.content.decode()

    plan = plan_create(name="Standard", currency="CNY")
    PlanAssignment.objects.create(customer=customer, plan=plan, effective_from=timezone.now())
    gateway_key_create(key="sk-acme", customer=customer)
    MembershipFactory(customer=customer)
    response = client.get(page(customer.pk))
    assert 'data-testid="onboarding-checklist"' not in response.content.decode()


# --- Terms and limits --------------------------------------------------------------------------------


def credit_limit_shown(body: str) -> str:
    match = re.search(r'data-testid="credit-limit">(.*?)</dd>', body, re.S)
    return re.sub(r"<[^>]+>", "", match[1]).strip()


def test_no_credit_limit_reads_the_same_on_every_page(client, customer):
    """Credit terms without a limit and prepaid terms say "No credit limit" wherever the limit shows."""
    prepaid = onboard("pre", mode="prepaid")
    signed_in(client, StaffRole.SALES)
    for pk in (customer.pk, prepaid.pk):
        urls = [page(pk, "terms"), reverse("staff-customer-terms", args=[pk])]
        for url in urls if pk == customer.pk else urls[:1]:  # a prepaid terms page has no credit panel
            assert credit_limit_shown(client.get(url).content.decode()) == "No credit limit", url


def test_a_credit_limit_shows_rounded_with_headroom(client, customer):
    billing_terms_update(customer=customer, values={"credit_limit": Decimal("50000")})
    signed_in(client, StaffRole.FINANCE)
    body = client.get(page(customer.pk, "terms"), **HTMX).content.decode()
    assert "50,000.00 CNY" in body
    assert 'data-testid="customer-credit"' in body


def test_terms_tab_offers_the_edit_to_editors_only(client, customer):
    signed_in(client, StaffRole.SUPPORT)
    assert client.get(page(customer.pk, "terms")).context["can_edit_terms"] is False
    signed_in(client, StaffRole.SALES)
    assert client.get(page(customer.pk, "terms")).context["can_edit_terms"] is True


# --- Plan --------------------------------------------------------------------------------------------


def test_sales_assigns_a_plan_from_the_customer_page(client, customer):
    plan = plan_create(name="Gold", currency="CNY")
    signed_in(client, StaffRole.SALES)
    response = client.post(
        reverse("staff-customer-plan-assign", args=[customer.pk]),
        {"plan": plan.pk, "effective": timezone.localdate().isoformat(), "note": "launch"},
    )
    assert response.status_code == 302
    assert response["Location"].endswith("?tab=plan")
    assert PlanAssignment.objects.get(customer=customer).plan == plan
    body = client.get(page(customer.pk, "plan")).content.decode()
    assert "Gold" in body and "assigned to this customer" in body


def test_a_plan_assignment_without_a_plan_says_which_field(client, customer):
    signed_in(client, StaffRole.SALES)
    response = client.post(reverse("staff-customer-plan-assign", args=[customer.pk]), {"effective": ""})
    assert response.status_code == 400
    assert set(response.context["assign_form"].errors) == {"plan", "effective"}
    assert not PlanAssignment.objects.exists()


@pytest.mark.parametrize("role", [StaffRole.SUPPORT, StaffRole.AUDITOR])
def test_support_and_auditors_cannot_assign_plans(client, customer, role):
    plan = plan_create(name="Gold", currency="CNY")
    signed_in(client, role)
    response = client.post(
        reverse("staff-customer-plan-assign", args=[customer.pk]),
        {"plan": plan.pk, "effective": timezone.localdate().isoformat()},
    )
    assert response.status_code == 403
    assert not PlanAssignment.objects.exists()
    body = client.get(page(customer.pk, "plan")).content.decode()
    assert 'data-testid="plan-read-only"' in body and "plan-assign-form" not in body


# --- Gateway keys ------------------------------------------------------------------------------------


def test_sales_maps_a_gateway_key(client, customer):
    signed_in(client, StaffRole.SALES)
    response = client.post(reverse("staff-customer-key-add", args=[customer.pk]), {"key": " sk-acme-1 "})
    assert response.status_code == 302
    assert GatewayKey.objects.get(customer=customer).key == "sk-acme-1"
    assert "sk-acme-1" in client.get(page(customer.pk, "keys")).content.decode()


def test_a_key_already_mapped_is_refused_on_the_field(client, customer):
    other = onboard("other")
    gateway_key_create(key="sk-shared", customer=other)
    signed_in(client, StaffRole.SALES)
    response = client.post(reverse("staff-customer-key-add", args=[customer.pk]), {"key": "sk-shared"})
    assert response.status_code == 400
    assert response.context["key_form"].errors
    assert GatewayKey.objects.get(key="sk-shared").customer == other


@pytest.mark.parametrize("role", [StaffRole.SUPPORT, StaffRole.AUDITOR])
def test_who_cannot_map_keys_is_told_who_can(client, customer, role):
    signed_in(client, role)
    body = client.get(page(customer.pk, "keys")).content.decode()
    assert "Administrators, finance and sales map gateway keys" in body
    response = client.post(reverse("staff-customer-key-add", args=[customer.pk]), {"key": "sk-x"})
    assert response.status_code == 403
    assert not GatewayKey.objects.exists()


def test_keys_of_a_customer_outside_the_users_reach_are_not_added(client):
    signed_in(client, StaffRole.SALES)
    response = client.post(reverse("staff-customer-key-add", args=[424242]), {"key": "sk-x"})
    assert response.status_code == 404


# --- Lists -------------------------------------------------------------------------------------------


def test_invoices_payments_and_credit_notes_list_only_this_customer(client, customer):
    finance = staff(StaffRole.FINANCE)
    invoice = issued_invoice(customer, "120.00")
    issued_invoice(onboard("other"), "999.00")
    payment_record(
        customer=customer,
        amount=Decimal("20.00"),
        currency="CNY",
        received_on=timezone.localdate(),
        reference="WIRE-7",
        actor=finance,
        idempotency_key="p-7",
    )
    credit_note_issue(
        invoice=invoice, reason="Goodwill", amount=Decimal("10"), actor=finance, idempotency_key="cn"
    )
    client.force_login(finance)

    invoices = client.get(page(customer.pk, "invoices"), **HTMX).content.decode()
    assert str(invoice) in invoices and "999.00" not in invoices
    assert "WIRE-7" in client.get(page(customer.pk, "payments"), **HTMX).content.decode()
    assert "Goodwill" in client.get(page(customer.pk, "credit_notes"), **HTMX).content.decode()


def test_lists_are_paginated_keeping_the_tab(client, customer):
    for n in range(PAGE_SIZE + 3):
        gateway_key_create(key=f"sk-{n:03}", customer=customer)
    signed_in(client, StaffRole.SALES)
    first = client.get(page(customer.pk, "keys"), **HTMX)
    assert len(first.context["page_obj"].object_list) == PAGE_SIZE
    assert "tab=keys&amp;page=2" in first.content.decode()
    second = client.get(page(customer.pk, "keys", page=2))
    assert second.context["tab"] == "keys"
    assert len(second.context["page_obj"].object_list) == 3


def test_the_wallet_tab_shows_balance_and_history(client, customer):
    topup(customer, "1234.5", "t-1")
    signed_in(client, StaffRole.SUPPORT)
    response = client.get(page(customer.pk, "wallet"), **HTMX)
    body = response.content.decode()
    assert "1,234.50" in body
    assert len(response.context["page_obj"].object_list) == 1


def test_statements_are_for_the_statement_roles(client, customer):
    signed_in(client, StaffRole.SALES)
    assert (
        'data-testid="statements-not-allowed"' in client.get(page(customer.pk, "statements")).content.decode()
    )
    signed_in(client, StaffRole.SUPPORT)
    body = client.get(page(customer.pk, "statements")).content.decode()
    month = timezone.localdate().strftime("%Y-%m")
    assert f"month={month}" in body


def test_dunning_tab_says_in_good_standing(client, customer):
    signed_in(client, StaffRole.FINANCE)
    body = client.get(page(customer.pk, "dunning"), **HTMX).content.decode()
    assert "In good standing" in body


def test_users_tab_lists_portal_users(client, customer):
    member = MembershipFactory(customer=customer, role=MemberRole.BILLING)
    signed_in(client, StaffRole.SUPPORT)
    body = client.get(page(customer.pk, "users"), **HTMX).content.decode()
    assert member.user.email in body


# --- Change log and Chinese --------------------------------------------------------------------------


def test_change_log_tab_reads_as_sentences(client, customer):
    actor = UserFactory()
    billing_terms_update(customer=customer, values={"payment_term": "net", "payment_days": 30}, actor=actor)
    signed_in(client, StaffRole.AUDITOR)
    body = client.get(page(customer.pk, "changes"), **HTMX).content.decode()
    assert "Payment term" in body and "Due on receipt → Net 30 days" in body
    assert "on_receipt" not in body and "payment_term" not in body.replace('data-field="payment_term"', "")


def test_the_page_reads_in_chinese(client, customer):
    billing_terms_update(customer=customer, values={"payment_term": "net", "payment_days": 30})
    signed_in(client, StaffRole.SALES)
    with translation.override("zh-hans"):
        client.cookies["django_language"] = "zh-hans"
        full = client.get(page(customer.pk), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        terms = client.get(
            page(customer.pk, "terms"), HTTP_ACCEPT_LANGUAGE="zh-hans", **HTMX
        ).content.decode()
        changes = client.get(
            page(customer.pk, "changes"), HTTP_ACCEPT_LANGUAGE="zh-hans", **HTMX
        ).content.decode()
    for english in ("Terms and limits", "Gateway keys", "Getting this customer ready", "Profile"):
        assert english not in full
    assert "不设信用额度" in terms
    assert "Payment term" not in changes and "付款" in changes


def test_an_old_page_link_still_opens_the_tab_many_pages_in(client, customer):
    """A page number past the end (a shrunk list) shows the last page, not an error."""
    gateway_key_create(key="sk-one", customer=customer)
    signed_in(client, StaffRole.SALES)
    response = client.get(page(customer.pk, "keys", page=9))
    assert response.status_code == 200
    assert response.context["page_obj"].number == 1


def test_the_usage_tab_draws_from_the_rollups(client, customer):
    signed_in(client, StaffRole.SALES)
    response = client.get(page(customer.pk, "usage"), **HTMX)
    assert response.status_code == 200
    assert 'id="usage-chart-data"' in response.content.decode()
    assert 'data-usage-chart="{&quot;labels&quot;' in response.content.decode()  # survives an htmx swap
    assert response.context["start"] <= timezone.localdate() <= response.context["end"] + timedelta(days=1)


TRANSLATE = re.compile(r'{% translate "([^"]+)" %}')


@pytest.mark.parametrize("tab", list(BUILDERS))
def test_every_tab_reads_in_chinese(client, customer, tab):
    """No English string of the tab's own template is left in the Chinese page."""
    billing_terms_update(customer=customer, values={"credit_limit": Decimal("100")})
    gateway_key_create(key="sk-zh", customer=customer)
    topup(customer, "10", "t-zh")
    signed_in(client, StaffRole.SALES)
    client.cookies["django_language"] = "zh-hans"
    body = client.get(page(customer.pk, tab)).content.decode()
    template = (Path(settings.BASE_DIR) / "templates" / "customers" / "tabs" / f"{tab}.html").read_text()
    with translation.override("zh-hans"):
        english = [text for text in TRANSLATE.findall(template) if translation.gettext(text) != text]
    assert english, "the tab has strings to translate"
    left = [text for text in english if f">{text}<" in body or f"> {text}<" in body or f"{text}</" in body]
    assert not left, left


def test_the_plan_tab_says_where_prices_come_from(client, customer):
    signed_in(client, StaffRole.SALES)
    body = client.get(page(customer.pk, "plan")).content.decode()
    assert 'data-testid="plan-error"' in body and "no default plan in CNY" in body
    plan_create(name="House", currency="CNY", is_default=True)
    body = client.get(page(customer.pk, "plan")).content.decode()
    assert "House" in body and "the default plan: no plan of its own yet" in body


def test_a_history_restore_gets_the_whole_page(client, customer):
    """Going back to a pushed tab address after the browser dropped its snapshot asks again with htmx's
    history header: the answer must be the whole page, not the tab alone."""
    signed_in(client, StaffRole.SALES)
    response = client.get(page(customer.pk, "keys"), HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX)
    assert "<html" in response.content.decode()
    assert response.context["tab"] == "keys"


def test_the_gateway_keys_page_tells_sales_where_to_map_a_key(client):
    signed_in(client, StaffRole.SALES)
    body = client.get(reverse("staff-gateway-keys")).content.decode()
    assert 'data-testid="keys-read-only"' in body and "from its customer page" in body
    assert 'data-testid="key-form"' not in body


def test_a_plan_given_to_the_subtree_counts_a_resellers_wholesale_plan_does_not(client):
    from billing.customers.onboarding import plan_assigned

    plan = plan_create(name="Group", currency="CNY")
    direct = onboard("grouping", kind=Customer.Kind.SUB_DISTRIBUTOR)
    direct.chain_mode = Customer.ChainMode.DIRECT
    direct.save(update_fields=["chain_mode"])
    member = onboard("member", parent=direct)
    reseller = onboard("reseller", kind=Customer.Kind.SUB_DISTRIBUTOR)
    retail_customer = onboard("retail", parent=reseller)
    for sub in (direct, reseller):
        PlanAssignment.objects.create(customer=sub, plan=plan, effective_from=timezone.now())
    member.refresh_from_db()
    retail_customer.refresh_from_db()
    assert plan_assigned(member) is True
    assert plan_assigned(retail_customer) is False  # its seller's wholesale price is not its price


def test_portal_users_cannot_post_keys_or_plans(client, customer):
    plan = plan_create(name="Gold", currency="CNY")
    client.force_login(MembershipFactory(customer=customer).user)
    assert (
        client.post(reverse("staff-customer-key-add", args=[customer.pk]), {"key": "sk-x"}).status_code == 403
    )
    response = client.post(
        reverse("staff-customer-plan-assign", args=[customer.pk]),
        {"plan": plan.pk, "effective": timezone.localdate().isoformat()},
    )
    assert response.status_code == 403
    assert not GatewayKey.objects.exists() and not PlanAssignment.objects.exists()


def test_the_payment_term_reads_with_its_days(client, customer):
    billing_terms_update(customer=customer, values={"payment_term": "eom", "payment_days": 15})
    signed_in(client, StaffRole.SALES)
    assert "End of month + 15 days" in client.get(page(customer.pk, "terms")).content.decode()
    client.cookies["django_language"] = "zh-hans"
    assert "月末后 15 天" in client.get(page(customer.pk, "terms")).content.decode()
