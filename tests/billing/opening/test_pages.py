"""The opening-balance page: admin and finance upload a file to a preview and apply it (refused with
errors, or when what applying would do changed since the preview); auditors read the history and the
imports; sales, support, portal users and visitors are refused."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import StaffRole
from billing.invoicing.models import Invoice
from billing.opening.models import OpeningImport
from billing.opening.services import opening_import
from tests.billing.factories import staff
from tests.billing.opening.conftest import opening_csv
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
GOOD = ("acme,OLD-1,2026-09-15,2026-10-15,12800.00,CNY,Sept", "beta,OLD-2,2026-10-01,,350.50,CNY,")


def login(client, role):
    client.force_login(staff(role))
    return client


def upload(client, content: bytes, kind="receivables", name="open.csv"):
    return client.post(reverse("opening-import"), {"kind": kind, "file": SimpleUploadedFile(name, content)})


def digest_of(page: str) -> str:
    return page.split('name="digest" value="', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize("role", [StaffRole.ADMIN, StaffRole.FINANCE])
def test_upload_previews_then_apply_writes_it_all(client, acme, beta, role):
    login(client, role)
    response = upload(client, opening_csv("receivables", *GOOD))
    record = OpeningImport.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "opening-import-detail", args=[record.pk]
    )
    assert record.state == "preview" and not Invoice.objects.exists()
    page = client.get(response["Location"]).content.decode()
    assert (
        "Applying creates 2 open items and leaves 0 already imported as they are. Nothing is written yet."
        in page
    )
    assert "12,800.00" in page and "13,150.50" in page and "by terms" in page
    applied = client.post(
        reverse("opening-import-apply", args=[record.pk]), {"digest": digest_of(page)}, follow=True
    ).content.decode()
    assert "Applied: 2 created, 0 already imported." in applied
    assert Invoice.objects.filter(kind="opening").count() == 2
    record.refresh_from_db()
    assert record.state == "applied" and record.applied_at is not None
    # The rows as they stand now link to the invoices; a second apply is refused.
    invoice = Invoice.objects.get(number="OLD-1")
    assert reverse("staff-invoice-detail", args=[invoice.pk]) in applied
    shown = client.get(reverse("staff-invoice-detail", args=[invoice.pk]))
    assert shown.status_code == 200 and "OLD-1" in shown.content.decode() and "Sept" in shown.content.decode()
    again = client.post(reverse("opening-import-apply", args=[record.pk]), {"digest": "x"}, follow=True)
    assert "This import is applied already" in again.content.decode()
    assert Invoice.objects.count() == 2


def test_a_preview_with_errors_lists_them_by_row_and_field_and_cannot_be_applied(client, acme, beta):
    login(client, StaffRole.FINANCE)
    response = upload(client, opening_csv("receivables", *GOOD, "gamma,OLD-3,2026-10-01,,1,CNY,"))
    page = client.get(response["Location"]).content.decode()
    assert "1 row is in error: nothing can be applied until the file is corrected and uploaded again." in page
    assert "The other rows are valid: 2 new, 0 already imported." in page
    assert "<code>customer</code>: No customer has the code &#x27;gamma&#x27;." in page
    assert 'name="digest"' not in page
    errors_only = client.get(response["Location"] + "?outcome=error").content.decode()
    assert "OLD-3" in errors_only and "OLD-1" not in errors_only
    record = OpeningImport.objects.get()
    response = client.post(
        reverse("opening-import-apply", args=[record.pk]), {"digest": "anything"}, follow=True
    )
    assert "Nothing was applied: 1 row is in error now." in response.content.decode()
    assert not Invoice.objects.exists()
    record.refresh_from_db()
    assert record.state == "refused" and record.errors[0]["field"] == "customer"


def test_apply_is_refused_when_what_it_would_do_changed_since_the_preview(client, acme, beta):
    login(client, StaffRole.FINANCE)
    response = upload(client, opening_csv("receivables", *GOOD))
    digest = digest_of(client.get(response["Location"]).content.decode())
    # Meanwhile the same rows were imported another way: the preview no longer says what would happen.
    opening_import(
        content=opening_csv("receivables", GOOD[0]), filename="other.csv", kind="receivables", apply=True
    )
    record = OpeningImport.objects.get(filename="open.csv")
    page = client.post(reverse("opening-import-apply", args=[record.pk]), {"digest": digest}, follow=True)
    text = page.content.decode()
    assert "What applying would do has changed since the preview" in text
    assert "Applying creates 1 open item and leaves 1 already imported as they are." in text
    assert Invoice.objects.count() == 1
    client.post(reverse("opening-import-apply", args=[record.pk]), {"digest": digest_of(text)})
    assert Invoice.objects.count() == 2


def test_a_file_that_cannot_be_read_is_shown_on_the_form(client, acme):
    login(client, StaffRole.ADMIN)
    response = upload(client, b"customer,document\nacme,1\n")
    assert response.status_code == 400
    page = response.content.decode()
    assert (
        "The file was not read." in page
        and "missing column(s) issue_date, due_date, amount, currency" in page
    )
    assert OpeningImport.objects.get().state == "refused"
    assert upload(client, b"").status_code == 400


def test_the_history_filters_and_paginates_and_the_template_downloads(client, acme):
    for n in range(27):
        opening_import(content=b"", filename=f"f{n:02}.csv", kind="deposits", apply=False)
    opening_import(
        content=opening_csv("receivables", GOOD[0]), filename="good.csv", kind="receivables", apply=False
    )
    login(client, StaffRole.FINANCE)
    first = client.get(reverse("opening-import")).content.decode()
    assert "1–25 of 28" in first
    filtered = client.get(
        reverse("opening-import"), {"state": "preview", "kind": "receivables"}
    ).content.decode()
    assert "good.csv" in filtered and "f01.csv" not in filtered
    template = client.get(reverse("opening-import-template", args=["upstream"]))
    assert template["Content-Disposition"] == 'attachment; filename="opening-upstream.csv"'
    assert template.content.decode().startswith(
        "channel,document,date,amount,currency,expires_on,description\r\n"
    )
    assert client.get(reverse("opening-import-template", args=["nothing"])).status_code == 404


def test_auditors_read_but_cannot_upload_or_apply(client, acme, beta):
    record = opening_import(
        content=opening_csv("receivables", *GOOD), filename="g.csv", kind="receivables", apply=False
    )
    login(client, StaffRole.AUDITOR)
    listing = client.get(reverse("opening-import")).content.decode()
    assert "g.csv" in listing and 'data-testid="opening-upload"' not in listing
    detail = client.get(reverse("opening-import-detail", args=[record.pk])).content.decode()
    assert "Applying creates 2 open items" in detail and 'name="digest"' not in detail
    assert upload(client, opening_csv("receivables", *GOOD)).status_code == 403
    assert client.post(reverse("opening-import-apply", args=[record.pk]), {"digest": "x"}).status_code == 403
    assert not Invoice.objects.exists() and OpeningImport.objects.count() == 1


@pytest.mark.parametrize("role", [StaffRole.SALES, StaffRole.SUPPORT])
def test_sales_and_support_are_refused(client, acme, role):
    record = opening_import(
        content=opening_csv("receivables", GOOD[0]), filename="g.csv", kind="receivables", apply=False
    )
    login(client, role)
    for url in (
        reverse("opening-import"),
        reverse("opening-import-detail", args=[record.pk]),
        reverse("opening-import-template", args=["receivables"]),
    ):
        assert client.get(url).status_code == 403
    assert upload(client, opening_csv("receivables", GOOD[0])).status_code == 403
    assert client.post(reverse("opening-import-apply", args=[record.pk])).status_code == 403
    assert not Invoice.objects.exists()


def test_portal_users_and_visitors_are_refused(client, acme):
    record = opening_import(
        content=opening_csv("receivables", GOOD[0]), filename="g.csv", kind="receivables", apply=False
    )
    response = client.get(reverse("opening-import"))
    assert response.status_code == 302 and "login" in response["Location"]
    portal_user = UserFactory()
    MembershipFactory(user=portal_user, customer=acme)
    client.force_login(portal_user)
    assert client.get(reverse("opening-import")).status_code == 403
    assert client.get(reverse("opening-import-detail", args=[record.pk])).status_code == 403
    assert client.post(reverse("opening-import-apply", args=[record.pk])).status_code == 403


def test_the_page_in_chinese(client, acme):
    login(client, StaffRole.FINANCE)
    response = client.get(reverse("opening-import"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200 and 'lang="zh-hans"' in response.content.decode()
