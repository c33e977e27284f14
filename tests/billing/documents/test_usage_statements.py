"""Usage statement pages: portal list and PDF for a prepaid customer, staff list, and who is refused."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import MemberRole, StaffRole
from billing.invoicing.models import UsageStatement
from tests.billing.factories import staff
from tests.factories import CustomerFactory, MembershipFactory, SubDistributorFactory

pytestmark = pytest.mark.django_db


def usage_statement(customer, period="2026-10", currency="CNY", total="12.50"):
    year, month = (int(part) for part in period.split("-"))
    start = dt.date(year, month, 1)
    end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return UsageStatement.objects.create(
        customer=customer,
        period=period,
        period_start=start,
        period_end=end,
        currency=currency,
        lines=[{"model": "deepseek-chat", "requests": 3, "tokens": {"input": 1000000}, "amount": total}],
        total=Decimal(total),
    )


@pytest.fixture
def statements():
    acme = CustomerFactory(name="Acme")
    other = CustomerFactory(name="Other")
    return {
        "sep": usage_statement(acme, "2026-09", total="7.00"),
        "oct": usage_statement(acme, "2026-10", total="12.50"),
        "other": usage_statement(other, "2026-10", total="99.00"),
    }


def portal_user(customer, role=MemberRole.OWNER):
    return MembershipFactory(customer=customer, role=role).user


def listed(response):
    return [s.pk for s in response.context["page_obj"]]


def test_a_customer_lists_its_own_usage_statements_only_and_filters_and_sorts_them(client, statements):
    client.force_login(portal_user(statements["oct"].customer))
    url = reverse("portal-usage-statement-list")

    assert sorted(listed(client.get(url))) == sorted([statements["sep"].pk, statements["oct"].pk])
    assert listed(client.get(url, {"period": "2026-09"})) == [statements["sep"].pk]
    assert listed(client.get(url, {"period_from": "2026-10-01"})) == [statements["oct"].pk]
    assert listed(client.get(url, {"o": "total"})) == [statements["sep"].pk, statements["oct"].pk]
    assert listed(client.get(url, {"o": "-total"})) == [statements["oct"].pk, statements["sep"].pk]
    for bad in ({"period": "2026-13"}, {"period_from": "2026-99-99"}, {"o": "bogus"}, {"page": "abc"}):
        assert client.get(url, bad).status_code == 200
    page = client.get(url).content.decode()
    assert reverse("portal-usage-statement-pdf", args=[statements["oct"].pk]) in page
    assert "99.00" not in page  # the other customer's statement


def test_the_portal_statement_page_links_to_the_usage_statements(client, statements):
    client.force_login(portal_user(statements["oct"].customer))
    page = client.get(reverse("portal-statement")).content.decode()
    assert reverse("portal-usage-statement-list") in page


def test_a_customer_downloads_its_usage_statement_pdf(client, statements):
    client.force_login(portal_user(statements["oct"].customer, MemberRole.BILLING))
    response = client.get(reverse("portal-usage-statement-pdf", args=[statements["oct"].pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert "2026-10" in response["Content-Disposition"]


def test_another_customers_usage_statement_is_not_found(client, statements):
    client.force_login(portal_user(statements["oct"].customer))
    assert client.get(reverse("portal-usage-statement-pdf", args=[statements["other"].pk])).status_code == 404
    assert client.get(reverse("portal-usage-statement-pdf", args=[999999])).status_code == 404


def test_a_sub_distributor_sees_its_customers_statements_but_not_the_other_way(client):
    sub = SubDistributorFactory(name="Reseller")
    child = CustomerFactory(name="Child", parent=sub)
    of_sub, of_child = usage_statement(sub), usage_statement(child)

    client.force_login(portal_user(sub))
    response = client.get(reverse("portal-usage-statement-list"))
    assert sorted(listed(response)) == sorted([of_sub.pk, of_child.pk])
    assert response.context["show_customer"] is True
    assert client.get(reverse("portal-usage-statement-pdf", args=[of_child.pk])).status_code == 200

    client.force_login(portal_user(child))
    assert listed(client.get(reverse("portal-usage-statement-list"))) == [of_child.pk]
    assert client.get(reverse("portal-usage-statement-pdf", args=[of_sub.pk])).status_code == 404


def test_staff_pages_refuse_customers_and_strangers(client, statements):
    urls = [
        reverse("staff-usage-statement-list"),
        reverse("staff-usage-statement-pdf", args=[statements["oct"].pk]),
    ]
    for url in urls:
        assert client.get(url).status_code in (302, 403)  # anonymous: to the login page
    client.force_login(portal_user(statements["oct"].customer))
    for url in urls:
        assert client.get(url).status_code in (302, 403, 404)
        assert client.get(url).status_code != 200
    client.force_login(staff(StaffRole.SALES))
    for url in urls:
        assert client.get(url).status_code == 403


def test_portal_pages_refuse_staff_and_anonymous(client, statements):
    urls = [
        reverse("portal-usage-statement-list"),
        reverse("portal-usage-statement-pdf", args=[statements["oct"].pk]),
    ]
    for url in urls:
        assert client.get(url).status_code != 200
    client.force_login(staff(StaffRole.FINANCE))
    for url in urls:
        assert client.get(url).status_code != 200


@pytest.mark.parametrize("role", [StaffRole.FINANCE, StaffRole.ADMIN, StaffRole.SUPPORT, StaffRole.AUDITOR])
def test_staff_list_every_customers_usage_statements_and_download_them(client, statements, role):
    client.force_login(staff(role))
    url = reverse("staff-usage-statement-list")
    response = client.get(url)
    assert response.status_code == 200
    assert len(listed(response)) == 3
    assert listed(client.get(url, {"q": "Other"})) == [statements["other"].pk]
    assert listed(client.get(url, {"o": "-total"}))[0] == statements["other"].pk
    pdf = client.get(reverse("staff-usage-statement-pdf", args=[statements["other"].pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get(reverse("staff-usage-statement-pdf", args=[999999])).status_code == 404


def test_the_staff_navigation_lists_usage_statements_for_finance_not_sales(client, statements):
    client.force_login(staff(StaffRole.FINANCE))
    assert reverse("staff-usage-statement-list") in client.get(reverse("staff-invoice-list")).content.decode()
    client.force_login(staff(StaffRole.SALES))
    assert reverse("staff-usage-statement-list") not in client.get(reverse("dashboard")).content.decode()
