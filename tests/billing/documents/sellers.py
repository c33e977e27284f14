"""A resale sub-distributor with a seller profile (and logo), its end customer, and PDF text."""

import io
import subprocess
import tempfile

from PIL import Image

from accounts.models import Customer, SellerProfile
from tests.factories import CustomerFactory, SubDistributorFactory

OPERATOR = {"OPERATOR_NAME": "Operator Holdings Ltd.", "OPERATOR_TAX_ID": "OPTAX-99001"}
SELLER_LEGAL = "Acme Trading (Shenzhen) Co."
SELLER_LEGAL_ZH = "深圳艾克美贸易有限公司"
SELLER_TAX = "91440300ACME777"
SELLER_ACCOUNT = "6225-8888-0000-4321"


def png_bytes(size=(40, 20), color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def operator_settings(settings) -> None:
    for name, value in OPERATOR.items():
        setattr(settings, name, value)
    settings.OPERATOR_BANK_DETAILS = "Operator Bank 0000-OP"
    settings.DEFAULT_FROM_EMAIL = "Operator Billing <noreply@platform.example>"


def reseller(*, name="Acme Reseller", legal_name=SELLER_LEGAL, logo=True, **extra) -> Customer:
    """A resale sub-distributor with a full profile (logo stored through the default storage)."""
    from django.core.files.base import ContentFile

    seller = SubDistributorFactory(name=name, chain_mode=Customer.ChainMode.RESALE, **extra)
    profile = SellerProfile(
        customer=seller,
        legal_name=legal_name,
        address="88 Keyuan Road, Shenzhen",
        tax_id=SELLER_TAX,
        bank_name="China Merchants Bank",
        bank_account_name=legal_name,
        bank_account_number=SELLER_ACCOUNT,
        bank_code="CMBCCNBS",
        billing_email="billing@acme.example",
        invoice_footer="Thank you for choosing Acme.",
    )
    if logo:
        profile.logo.save("acme.png", ContentFile(png_bytes()), save=False)
    profile.save()
    return seller


def end_customer(seller: Customer, **extra) -> Customer:
    return CustomerFactory(parent=seller, **extra)


def pdf_text(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


def pdf_images(data: bytes) -> int:
    """How many images the PDF embeds (poppler's pdfimages reads a file, not a pipe)."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(data)
        handle.flush()
        listing = subprocess.run(["pdfimages", "-list", handle.name], capture_output=True, check=True)
    return len(listing.stdout.decode().splitlines()) - 2  # two header lines
