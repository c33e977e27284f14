"""Statement pages, exports and their permissions (staff roles, auditors, customers)."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import MemberRole, StaffRole
from billing.statements.models import StatementExport
from tests.billing.documents.helpers import credit_note, invoice, payment
from tests.billing.factories import staff
from tests.factories import CustomerFactory, MembershipFactory, StaffFactory

pytestmark = pytest.mark.django_db
OCTOBER = {"period": "month", "month": "2026-10"}


@pytest.fixture
def books():
    acme = CustomerFactory(name="Acme")
    a = invoice(acme, "1000.00", dt.date(2026, 9, 10))
    b = invoice(acme, "500.00", dt.date(2026, 10, 5))
    payment(acme, "600.00", dt.date(2026, 10, 12), [(a, "600.00")])
    credit_note(b, "100.00", dt.date(2026, 10, 20))
    other = CustomerFactory(name="Other")
    invoice(other, "42.00", dt.date(2026, 10, 7))
    return acme, other


def client_for(client, user):
    client.force_login(user)
    return client


def portal_user(customer, role=MemberRole.BILLING):
    return MembershipFactory(customer=customer, role=role).user


# The CSV's full-precision balances need PostgreSQL: SQLite, the demo database, stores decimals as REAL.
@pytest.mark.postgres
def test_finance_previews_and_downloads_a_statement(client, books):
    acme, _other = books
    client_for(client, staff(StaffRole.FINANCE))
    url = reverse("staff-statement")
    page = client.get(url, {"customer": acme.pk, **OCTOBER})
    assert page.status_code == 200
    body = page.content.decode()
    assert (
        'data-testid="statement-opening">1,000.00' in body
        and 'data-testid="statement-closing">800.00' in body
    )
    pdf = client.get(url, {"customer": acme.pk, **OCTOBER, "format": "pdf"})
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    rows = list(
        csv.reader(
            io.StringIO(
                b"".join(
                    client.get(url, {"customer": acme.pk, **OCTOBER, "format": "csv"}).streaming_content
                ).decode()
            )
        )
    )
    assert rows[1][4] == "opening" and rows[1][-1] == "1000.000000000000"
    closing = next(r for r in rows if r[4] == "closing")
    assert Decimal(closing[-1]) == Decimal("800")


def test_bad_period_is_a_form_error_not_a_500(client, books):
    acme, _other = books
    client_for(client, staff(StaffRole.FINANCE))
    page = client.get(
        reverse("staff-statement"), {"customer": acme.pk, "period": "month", "month": "2026-13"}
    )
    assert page.status_code == 200 and "YYYY-MM" in page.content.decode()
    page = client.get(
        reverse("staff-statement"),
        {"customer": acme.pk, "period": "custom", "date_from": "2026-10-31", "date_to": "2026-10-01"},
    )
    assert "ends before it starts" in page.content.decode()


@pytest.mark.parametrize("role", [StaffRole.SALES])
def test_sales_may_not_see_statements(client, books, role):
    client_for(client, StaffFactory(staff_role=role))
    assert client.get(reverse("staff-statement")).status_code == 403
    assert client.get(reverse("staff-accountant-exports")).status_code == 403
    assert client.get(reverse("staff-statement-export-list")).status_code == 403


def test_support_sees_statements_but_not_accountant_exports(client, books):
    acme, _other = books
    client_for(client, StaffFactory(staff_role=StaffRole.SUPPORT))
    assert client.get(reverse("staff-statement"), {"customer": acme.pk, **OCTOBER}).status_code == 200
    assert client.get(reverse("staff-accountant-exports")).status_code == 403
    assert client.get(reverse("staff-statement-export-list")).status_code == 403


def test_auditor_reads_and_downloads_but_cannot_start_an_export(client, books):
    client_for(client, staff(StaffRole.AUDITOR))
    assert client.get(reverse("staff-accountant-exports")).status_code == 200
    assert client.get(reverse("staff-accountant-export", args=["journal"]), OCTOBER).status_code == 200
    page = client.get(reverse("staff-statement-export-list"))
    assert page.status_code == 200 and 'data-testid="export-form"' not in page.content.decode()
    response = client.post(reverse("staff-statement-export-start"), OCTOBER)
    assert response.status_code == 403 and not StatementExport.objects.exists()


def test_customer_user_is_refused_staff_pages(client, books):
    acme, _other = books
    client_for(client, portal_user(acme))
    assert client.get(reverse("staff-statement"), {"customer": acme.pk, **OCTOBER}).status_code == 403
    assert client.get(reverse("staff-accountant-export", args=["trial_balance"]), OCTOBER).status_code == 403


def test_portal_shows_the_customers_own_statement_only(client, books):
    acme, other = books
    client_for(client, portal_user(acme, MemberRole.VIEWER))
    page = client.get(reverse("portal-statement"), OCTOBER)
    assert page.status_code == 200 and 'data-testid="statement-closing">800.00' in page.content.decode()
    pdf = client.get(reverse("portal-statement"), {**OCTOBER, "format": "pdf"})
    assert pdf.content.startswith(b"%PDF")
    # Another customer's statement: not found, whatever the format.
    assert client.get(reverse("portal-statement"), {**OCTOBER, "customer": other.pk}).status_code == 404
    assert client.get(reverse("portal-statement"), {**OCTOBER, "customer": "x"}).status_code == 404


def test_staff_user_is_refused_the_portal_page(client, books):
    client_for(client, staff(StaffRole.FINANCE))
    assert client.get(reverse("portal-statement")).status_code == 403


def test_accountant_exports_page_links_and_unknown_kind(client, books):
    client_for(client, staff(StaffRole.FINANCE))
    page = client.get(reverse("staff-accountant-exports"), OCTOBER)
    body = page.content.decode()
    for key in ("invoices", "payments", "credit_notes", "journal", "trial_balance"):
        assert f'data-testid="export-{key}"' in body
    assert client.get(reverse("staff-accountant-export", args=["salaries"]), OCTOBER).status_code == 404
    bad = client.get(
        reverse("staff-accountant-export", args=["journal"]), {"period": "quarter", "quarter": "Q9"}
    )
    assert bad.status_code == 400


def test_sub_distributor_sees_its_customers_statement_not_its_parents(client):
    from accounts.models import Customer
    from tests.factories import SubDistributorFactory

    # Direct: the operator invoices the child (the helpers post in the operator's book).
    parent = SubDistributorFactory(name="Reseller", chain_mode=Customer.ChainMode.DIRECT)
    child = CustomerFactory(name="Child Co", parent=parent)
    invoice(child, "321.00", dt.date(2026, 10, 3))
    client_for(client, portal_user(parent))
    page = client.get(reverse("portal-statement"), {**OCTOBER, "customer": child.pk})
    assert page.status_code == 200 and 'data-testid="statement-closing">321.00' in page.content.decode()
    client.logout()
    client_for(client, portal_user(child))
    assert client.get(reverse("portal-statement"), {**OCTOBER, "customer": parent.pk}).status_code == 404


def test_export_download_only_when_done_and_only_for_finance(client, settings, tmp_path):
    from django.core.files.base import ContentFile

    settings.MEDIA_ROOT = tmp_path
    export = StatementExport.objects.create(date_from=dt.date(2026, 10, 1), date_to=dt.date(2026, 10, 31))
    url = reverse("staff-statement-export-download", args=[export.pk])
    client_for(client, staff(StaffRole.FINANCE))
    assert client.get(url).status_code == 404  # still queued: nothing to download
    export.file.save("x.zip", ContentFile(b"PK\x05\x06" + b"\0" * 18))
    export.state = StatementExport.State.DONE
    export.save()
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"PK")
    progress = client.get(reverse("staff-statement-export-progress", args=[export.pk]))
    assert 'data-state="done"' in progress.content.decode() and "hx-trigger" not in progress.content.decode()
    client.logout()
    client_for(client, StaffFactory(staff_role=StaffRole.SUPPORT))
    assert client.get(url).status_code == 403
