"""The seller profile pages: a resale sub-distributor edits its identity (with a logo) in the portal;
operator staff read or edit it; nobody else reaches it, and a logo that is not a small PNG/JPEG is refused."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Customer, MemberRole, SellerProfile, StaffRole
from tests.billing.documents.sellers import end_customer, png_bytes, reseller
from tests.billing.factories import staff
from tests.factories import MembershipFactory, SubDistributorFactory

pytestmark = pytest.mark.django_db
URL = "/portal/seller/profile/"
FORM = {
    "legal_name": "Acme Trading Co.",
    "address": "1 Road",
    "tax_id": "TAX-1",
    "billing_email": "ar@acme.example",
    "bank_name": "CMB",
    "bank_account_name": "Acme Trading Co.",
    "bank_account_number": "6225-1",
    "bank_code": "CMBCCNBS",
    "invoice_footer": "",
}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def member(customer, role=MemberRole.OWNER):
    return MembershipFactory(customer=customer, role=role).user


def test_an_owner_saves_the_profile_with_a_logo_and_documents_use_it(client):
    seller = SubDistributorFactory(name="Acme", chain_mode=Customer.ChainMode.RESALE)
    client.force_login(member(seller))
    assert reverse("portal-seller-profile") == URL
    assert 'value="Acme"' in client.get(URL).content.decode()  # starts from its customer record

    logo = SimpleUploadedFile("acme.png", png_bytes(), content_type="image/png")
    response = client.post(URL, {**FORM, "logo": logo})

    assert response.status_code == 302
    profile = SellerProfile.objects.get(customer=seller)
    assert (profile.legal_name, profile.tax_id) == ("Acme Trading Co.", "TAX-1")
    assert profile.logo.name.startswith(f"seller-logos/{seller.pk}/")
    page = client.get(URL).content.decode()
    assert 'data-testid="profile-logo"' in page and "data:image/png;base64," in page
    assert 'data-testid="tab-seller-profile"' in client.get(reverse("portal-seller-home")).content.decode()


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        (
            "logo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><image href="file:///etc/passwd"/></svg>',
            "image/svg+xml",
        ),
        ("logo.png", b"<svg>not really a png</svg>", "image/png"),
        ("logo.png", png_bytes(size=(2400, 10)), "image/png"),
        ("logo.png", b"\x89PNG" + b"0" * (513 * 1024), "image/png"),
    ],
    ids=["svg", "fake-png", "too-many-pixels", "too-large"],
)
def test_a_logo_that_is_not_a_small_png_or_jpeg_is_refused(client, name, content, content_type):
    seller = SubDistributorFactory(chain_mode=Customer.ChainMode.RESALE)
    client.force_login(member(seller))
    response = client.post(
        URL, {**FORM, "logo": SimpleUploadedFile(name, content, content_type=content_type)}
    )
    assert response.status_code == 400
    assert not SellerProfile.objects.exists()


def test_a_viewer_reads_but_cannot_save(client):
    seller = reseller()
    client.force_login(member(seller, MemberRole.VIEWER))
    page = client.get(URL)
    assert page.status_code == 200 and 'data-testid="profile-read-only"' in page.content.decode()
    assert client.post(URL, {**FORM, "legal_name": "Hijacked"}).status_code == 403
    assert SellerProfile.objects.get(customer=seller).legal_name != "Hijacked"


def test_end_customers_agencies_and_direct_sub_distributors_have_no_profile_page(client):
    seller = reseller()
    for customer in (
        end_customer(seller),
        SubDistributorFactory(chain_mode=Customer.ChainMode.AGENCY),
        SubDistributorFactory(chain_mode=Customer.ChainMode.DIRECT),
    ):
        client.force_login(member(customer))
        assert client.get(URL).status_code == 403
        assert client.post(URL, FORM).status_code == 403
    client.force_login(staff(StaffRole.ADMIN))
    assert client.get(URL).status_code == 403  # staff use the dashboard page


def test_staff_edit_or_read_by_role(client):
    seller = reseller()
    url = reverse("staff-seller-profile", args=[seller.pk])
    client.force_login(staff(StaffRole.SALES))
    detail = client.get(reverse("staff-customer-detail", args=[seller.pk])).content.decode()
    assert f'href="{url}"' in detail
    assert client.post(url, {**FORM, "legal_name": "Fixed by sales"}).status_code == 302
    assert SellerProfile.objects.get(customer=seller).legal_name == "Fixed by sales"
    for role in (StaffRole.SUPPORT, StaffRole.AUDITOR):
        client.force_login(staff(role))
        assert client.get(url).status_code == 200
        assert client.post(url, {**FORM, "legal_name": "No"}).status_code == 403
    # Only a resale sub-distributor has a profile.
    agency = SubDistributorFactory(chain_mode=Customer.ChainMode.AGENCY)
    assert client.get(reverse("staff-seller-profile", args=[agency.pk])).status_code == 404
    # And a customer user never reaches the dashboard page.
    client.force_login(member(seller))
    assert client.get(url).status_code == 403


def test_saving_keeps_the_logo_and_a_new_logo_replaces_the_old_file(
    client, django_capture_on_commit_callbacks
):
    seller = reseller()
    old = SellerProfile.objects.get(customer=seller).logo
    storage, old_name = old.storage, old.name
    client.force_login(member(seller))

    assert client.post(URL, {**FORM, "tax_id": "TAX-2"}).status_code == 302
    profile = SellerProfile.objects.get(customer=seller)
    assert (profile.tax_id, profile.logo.name) == ("TAX-2", old_name)

    blue = SimpleUploadedFile("new.png", png_bytes(color=(0, 0, 200)), content_type="image/png")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(URL, {**FORM, "logo": blue}).status_code == 302
    profile.refresh_from_db()
    assert profile.logo.name != old_name and storage.exists(profile.logo.name)
    assert not storage.exists(old_name)
