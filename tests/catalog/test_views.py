"""Catalog pages: they render, refuse who they must, and the upload page previews before applying."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from catalog.models import BookKind, FxRate, PlanAssignment, PlanRule, PriceEntry, PriceImport
from catalog.services.alerts import price_check_run
from tests.catalog.factories import (
    AIModelFactory,
    PriceBookFactory,
    SellPlanFactory,
    add_prices,
    add_rule,
    tier,
)
from tests.factories import CustomerFactory, MembershipFactory, SubDistributorFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def priced(db):
    model = AIModelFactory(name="glm-5.1")
    cost = PriceBookFactory(name="Zhipu contract", kind=BookKind.COST, currency="CNY")
    listing = PriceBookFactory(name="Zhipu list", kind=BookKind.LIST, currency="CNY")
    add_prices(cost, model, tier(0, 32000, input="5", output="20"), tier(32000, None, input="7", output="25"))
    add_prices(
        listing, model, tier(0, 32000, input="6", output="24"), tier(32000, None, input="8", output="28")
    )
    plan = SellPlanFactory(name="Standard CNY", currency="CNY", is_default=True)
    add_rule(plan, PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0"))
    return {"model": model, "cost": cost, "list": listing, "plan": plan}


def test_every_staff_page_renders(staff_client, priced):
    customer = CustomerFactory()
    price_check_run(trigger="test")
    urls = [
        reverse("catalog-model-list"),
        reverse("catalog-model-list") + "?q=glm&o=-vendor",
        reverse("catalog-model-detail", args=[priced["model"].pk]),
        reverse("catalog-book-list"),
        reverse("catalog-book-detail", args=[priced["cost"].pk]),
        reverse("catalog-book-detail", args=[priced["cost"].pk]) + "?history=1",
        reverse("catalog-plan-list"),
        reverse("catalog-plan-detail", args=[priced["plan"].pk]),
        reverse("catalog-allowances"),
        reverse("catalog-customer-prices"),
        reverse("catalog-customer-prices") + f"?customer={customer.pk}",
        reverse("catalog-calculator"),
        reverse("catalog-import-list"),
        reverse("catalog-import-new"),
        reverse("catalog-alerts"),
        reverse("catalog-fx"),
    ]
    for url in urls:
        response = staff_client.get(url)
        assert response.status_code == 200, url
    assert (
        "glm-5.1"
        in staff_client.get(reverse("catalog-plan-detail", args=[priced["plan"].pk])).content.decode()
    )


def test_calculator_quotes_through_htmx(staff_client, priced):
    response = staff_client.get(
        reverse("catalog-calculator"),
        {"plan": "Standard CNY", "model": "glm-5.1", "prompt_tokens": 32001, "completion_tokens": 1000},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="quote-result"' in body and "<html" not in body
    assert "0.284008 CNY" in body  # 32,001 × 8/M + 1,000 × 28/M
    assert "Margin" in body


def test_calculator_shows_unknown_model_suggestions(staff_client, priced):
    response = staff_client.get(reverse("catalog-calculator"), {"plan": "Standard CNY", "model": "glm-51"})
    assert "glm-5.1" in response.content.decode()


def test_plan_price_list_exports_csv(staff_client, priced):
    response = staff_client.get(reverse("catalog-plan-detail", args=[priced["plan"].pk]) + "?format=csv")
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("vendor,model,tier_lo,tier_hi,input,cache_read")
    assert any(line.split(",")[1:7] == ["glm-5.1", "32000", "", "8", "8", "8"] for line in lines[1:])


def test_staff_assigns_a_plan_to_a_customer(staff_client, priced):
    customer = CustomerFactory()
    vip = SellPlanFactory(name="VIP", currency="CNY")
    response = staff_client.post(
        reverse("catalog-customer-prices"),
        {"customer": customer.pk, "plan": vip.pk, "effective": "2026-01-01"},
    )
    assert response.status_code == 302
    assert PlanAssignment.objects.get(customer=customer).plan == vip


def test_upload_previews_then_applies_and_lists_unprofitable_prices(staff_client, priced):
    csv = b"model,tier_lo,tier_hi,input,output\nglm-5.1,0,32000,6.5,20\nglm-5.1,32000,,7,25\n"
    response = staff_client.post(
        reverse("catalog-import-new"),
        {
            "file": SimpleUploadedFile("zhipu.csv", csv, content_type="text/csv"),
            "format": "csv",
            "book": "Zhipu contract",
            "kind": "cost",
            "effective": "2026-06-01",
        },
    )
    record = PriceImport.objects.get()
    assert response.status_code == 302 and response.url == reverse("catalog-import-detail", args=[record.pk])
    preview = staff_client.get(response.url).content.decode()
    assert "6.5" in preview and PriceEntry.objects.count() == 2  # previewed, not applied
    applied = staff_client.post(reverse("catalog-import-apply", args=[record.pk]), {"action": "apply"})
    body = applied.content.decode()
    assert PriceEntry.objects.count() == 3
    assert 'data-testid="unprofitable"' in body
    assert "Standard CNY / glm-5.1 tier (0, 32000] input: sells below cost" in body


def test_discarding_a_preview_changes_no_price_and_an_applied_import_stays_applied(staff_client, priced):
    def upload(book):
        csv = b"model,tier_lo,tier_hi,input,output\nglm-5.1,0,32000,6.5,20\nglm-5.1,32000,,7,25\n"
        staff_client.post(
            reverse("catalog-import-new"),
            {
                "file": SimpleUploadedFile("zhipu.csv", csv, content_type="text/csv"),
                "format": "csv",
                "book": book,
                "kind": "cost",
                "effective": "2026-06-01",
            },
        )
        return PriceImport.objects.latest("pk")

    discarded = upload("Zhipu contract")
    response = staff_client.post(reverse("catalog-import-apply", args=[discarded.pk]), {"action": "discard"})
    assert response.status_code == 302
    discarded.refresh_from_db()
    assert discarded.status == PriceImport.Status.DISCARDED and PriceEntry.objects.count() == 2

    applied = upload("Zhipu contract")
    staff_client.post(reverse("catalog-import-apply", args=[applied.pk]), {"action": "apply"})
    staff_client.post(reverse("catalog-import-apply", args=[applied.pk]), {"action": "discard"})
    applied.refresh_from_db()
    assert applied.status == PriceImport.Status.APPLIED and PriceEntry.objects.count() == 3


def test_bad_upload_lists_rows_and_fields_and_changes_nothing(staff_client, priced):
    response = staff_client.post(
        reverse("catalog-import-new"),
        {
            "file": SimpleUploadedFile("bad.csv", b"model,input,output\nglm-5.1,abc,2\n"),
            "format": "csv",
            "book": "Zhipu contract",
            "kind": "cost",
            "effective": "2026-06-01",
        },
    )
    assert response.status_code == 200
    assert "Row 2, field input: &#x27;abc&#x27; is not a number" in response.content.decode()
    assert not PriceImport.objects.exists()


def test_fx_rate_form_and_csv_upload(staff_client):
    staff_client.post(
        reverse("catalog-fx"), {"base": "usd", "quote": "CNY", "date": "2026-01-01", "rate": "7.1"}
    )
    assert FxRate.objects.get().rate == Decimal("7.1")
    bad = SimpleUploadedFile("fx.csv", b"date,base,quote,rate\n2026-02-01,USD,CNY,seven\n")
    response = staff_client.post(reverse("catalog-fx"), {"file": bad})
    assert "Row 2, field rate" in response.content.decode()
    assert FxRate.objects.count() == 1


# -- refusals ----------------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(priced):
    for name in ("catalog-model-list", "catalog-import-new", "portal-prices", "portal-calculator"):
        response = Client().get(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response.url


def test_auditor_reads_but_cannot_import(auditor_client, priced):
    assert auditor_client.get(reverse("catalog-import-list")).status_code == 200
    upload = SimpleUploadedFile("p.csv", b"model,input,output\nglm-5.1,1,2\n")
    response = auditor_client.post(
        reverse("catalog-import-new"),
        {"file": upload, "format": "csv", "book": "Zhipu list", "kind": "list", "effective": "2026-06-01"},
    )
    assert response.status_code == 403
    assert not PriceImport.objects.exists()


def test_auditor_cannot_apply_a_previewed_import(auditor_client, staff_client, priced):
    staff_client.post(
        reverse("catalog-import-new"),
        {
            "file": SimpleUploadedFile("p.csv", b"model,input,output\nglm-5.1,1,2\n"),
            "format": "csv",
            "book": "New list",
            "kind": "list",
            "currency": "CNY",
            "effective": "2026-06-01",
        },
    )
    record = PriceImport.objects.get()
    assert auditor_client.post(reverse("catalog-import-apply", args=[record.pk])).status_code == 403
    record.refresh_from_db()
    assert record.status == PriceImport.Status.PREVIEWED


def test_customer_users_cannot_open_staff_pages(priced):
    client = Client()
    client.force_login(MembershipFactory().user)
    assert client.get(reverse("catalog-calculator")).status_code == 403
    assert client.get(reverse("catalog-customer-prices")).status_code == 403


# -- portal ------------------------------------------------------------------------------------


def portal_client(customer) -> Client:
    client = Client()
    client.force_login(MembershipFactory(customer=customer).user)
    return client


def test_portal_price_list_and_csv_hide_how_prices_derive(priced):
    client = portal_client(CustomerFactory())
    page = client.get(reverse("portal-prices")).content.decode()
    assert "glm-5.1" in page and "list × (1" not in page and "Zhipu list" not in page
    csv = client.get(reverse("portal-prices") + "?format=csv").content.decode()
    assert "basis" not in csv.splitlines()[0]
    assert "glm-5.1,0,32000,6,6,6,6,24,24" in csv


def test_portal_price_list_of_another_customer_is_404(priced):
    client = portal_client(CustomerFactory())
    assert client.get(reverse("portal-prices"), {"customer": CustomerFactory().pk}).status_code == 404


def test_sub_distributor_sees_its_customers_prices(priced):
    reseller = SubDistributorFactory()
    child = CustomerFactory(parent=reseller)
    client = portal_client(reseller)
    assert client.get(reverse("portal-prices"), {"customer": child.pk}).status_code == 200


def test_portal_calculator_quotes_without_cost(priced):
    customer = CustomerFactory()
    client = portal_client(customer)
    response = client.get(
        reverse("portal-calculator"), {"customer": customer.pk, "model": "glm-5.1", "prompt_tokens": 10000}
    )
    body = response.content.decode()
    assert "0.06 CNY" in body  # 10,000 × 6/M in the first tier
    assert "Margin" not in body and "Zhipu" not in body


def test_portal_calculator_refuses_a_stranger_customer(priced):
    client = portal_client(CustomerFactory())
    response = client.get(
        reverse("portal-calculator"),
        {"customer": CustomerFactory().pk, "model": "glm-5.1", "prompt_tokens": 1},
    )
    assert "Select a valid choice" in response.content.decode()


def test_user_without_membership_is_refused_in_the_portal(priced):
    client = Client()
    client.force_login(UserFactory())
    assert client.get(reverse("portal-prices")).status_code == 403
