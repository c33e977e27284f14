"""Who a customer's documents come from: its seller's identity, never a hop above it.

An end customer of a resale sub-distributor S buys from S: its invoices, receipts, statements and the
e-mails carrying them show S's name, address, tax id, logo and bank details (``accounts.SellerProfile``),
and nothing of the operator who sells to S. A customer sold by the operator (``seller`` None) gets the
operator's identity from settings; when an agency sub-distributor set its plans, the documents add
"via <agency>" (the operator bills, the agency introduced the customer).

It reads only customers and settings, so it lives with them: the documents, and every e-mail to a customer
(wallet alerts and credit-limit notices from the lowest billing packages too), use the same identity.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from email.utils import formataddr, parseaddr
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.chain import agent_of
from accounts.models import Customer, SellerProfile


@dataclass(frozen=True)
class SellerIdentity:
    """A seller as its documents print it. ``logo`` is a URI the PDF printer reads (a file or data URI);
    bank details are the operator's free text (settings) or a profile's labelled fields, whose labels are
    lazy so that each document translates them into its own language."""

    name: str
    address: str = ""
    tax_id: str = ""
    bank_details: str = ""
    bank_fields: tuple[tuple[str, str], ...] = ()
    email: str = ""
    footer: str = ""
    logo: str | None = None
    via: str = ""
    # The sub-distributor selling, or None for the operator.
    seller_id: int | None = None

    def bank_text(self) -> str:
        """The bank details as plain text lines (e-mails), labels in the active language."""
        if self.bank_fields:
            return "\n".join(f"{label}: {value}" for label, value in self.bank_fields)
        return self.bank_details


def _operator_logo() -> str | None:
    path = Path(settings.OPERATOR_LOGO) if settings.OPERATOR_LOGO else None
    return path.as_uri() if path and path.is_file() else None


def operator_identity(*, via: str = "") -> SellerIdentity:
    return SellerIdentity(
        name=settings.OPERATOR_NAME,
        address=settings.OPERATOR_ADDRESS,
        tax_id=settings.OPERATOR_TAX_ID,
        bank_details=settings.OPERATOR_BANK_DETAILS,
        logo=_operator_logo(),
        via=via,
    )


def _logo_data_uri(profile: SellerProfile) -> str | None:
    """The uploaded logo inlined as a data URI: the printer needs no path into the storage backend (which
    may not be a local disk), and a missing file prints no logo rather than failing the document."""
    if not profile.logo:
        return None
    try:
        with profile.logo.open("rb") as handle:
            data = handle.read()
    except OSError:
        return None
    # By content, as the upload was checked: a PNG or else a JPEG, whatever the file is called.
    kind = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def profile_identity(seller: Customer) -> SellerIdentity:
    """Sub-distributor ``seller``'s identity from its profile; its customer name alone when it has none
    (never the operator's details, which would tell its customers who it buys from)."""
    profile = SellerProfile.objects.filter(customer=seller).first()
    if profile is None:
        return SellerIdentity(name=seller.name, email=seller.contact_email, seller_id=seller.pk)
    bank_fields = (
        (_("Bank"), profile.bank_name),
        (_("Account name"), profile.bank_account_name),
        (_("Account number"), profile.bank_account_number),
        (_("SWIFT / branch"), profile.bank_code),
    )
    return SellerIdentity(
        name=profile.legal_name or seller.name,
        address=profile.address,
        tax_id=profile.tax_id,
        bank_fields=tuple((label, value) for label, value in bank_fields if value),
        email=profile.billing_email or seller.contact_email,
        footer=profile.invoice_footer,
        logo=_logo_data_uri(profile),
        seller_id=seller.pk,
    )


def seller_identity(customer: Customer | None) -> SellerIdentity:
    """The identity on ``customer``'s documents: its seller's (a resale sub-distributor's profile), or the
    operator's, with "via <agency>" when an agency sub-distributor introduced it. None: the operator."""
    if customer is None:
        return operator_identity()
    if customer.seller_id is not None:
        return profile_identity(customer.seller)
    agency = agent_of(customer)
    if agency is not None:
        return operator_identity(via=Customer.objects.only("name").get(pk=agency).name)
    return operator_identity()


def seller_name(customer: Customer) -> str:
    """Only the name ``seller_identity`` would print (one small query, no logo read): for page shells."""
    if customer.seller_id is None:
        return settings.OPERATOR_NAME
    legal_name = (
        SellerProfile.objects.filter(customer_id=customer.seller_id)
        .values_list("legal_name", flat=True)
        .first()
    )
    return legal_name or customer.seller.name


def seller_profile_for(seller: Customer) -> SellerProfile:
    """The profile of ``seller`` for a form to edit: its saved one, or a new one from its customer record."""
    return SellerProfile.objects.filter(customer=seller).first() or SellerProfile(
        customer=seller, legal_name=seller.name, billing_email=seller.contact_email
    )


def sender_address(identity: SellerIdentity) -> str:
    """The From of an e-mail carrying a document: a reseller's name on our sending address (mail from its
    own domain would fail SPF/DKIM; replies go to its billing e-mail), else ``DEFAULT_FROM_EMAIL``."""
    if identity.seller_id is None:
        return settings.DEFAULT_FROM_EMAIL
    return formataddr((identity.name, parseaddr(settings.DEFAULT_FROM_EMAIL)[1]))
