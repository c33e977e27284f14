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


def _bank_fields(name: str, account_name: str, number: str, code: str) -> tuple[tuple[str, str], ...]:
    """The labelled bank fields that are filled in (labels lazy: each document or page translates them)."""
    fields = (
        (_("Bank"), name),
        (_("Account name"), account_name),
        (_("Account number"), number),
        (_("SWIFT / branch"), code),
    )
    return tuple((label, value) for label, value in fields if value)


def _operator_bank_fields() -> tuple[tuple[str, str], ...]:
    return _bank_fields(
        settings.OPERATOR_BANK_NAME,
        settings.OPERATOR_BANK_ACCOUNT_NAME,
        settings.OPERATOR_BANK_ACCOUNT_NUMBER,
        settings.OPERATOR_BANK_CODE,
    )


def _profile_bank_fields(profile: SellerProfile) -> tuple[tuple[str, str], ...]:
    return _bank_fields(
        profile.bank_name, profile.bank_account_name, profile.bank_account_number, profile.bank_code
    )


def operator_identity(*, via: str = "") -> SellerIdentity:
    return SellerIdentity(
        name=settings.OPERATOR_NAME,
        address=settings.OPERATOR_ADDRESS,
        tax_id=settings.OPERATOR_TAX_ID,
        bank_details=settings.OPERATOR_BANK_DETAILS,
        bank_fields=_operator_bank_fields(),
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
    return SellerIdentity(
        name=profile.legal_name or seller.name,
        address=profile.address,
        tax_id=profile.tax_id,
        bank_fields=_profile_bank_fields(profile),
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


@dataclass(frozen=True)
class PaymentInstructions:
    """How a customer pays its seller by bank transfer: on its invoices and statements, and on the portal's
    "notify a bank transfer" page. ``bank_fields`` are (lazy label, value) pairs; ``bank_details`` the
    operator's older free-text setting (``OPERATOR_BANK_DETAILS``); ``note`` a free-text instruction
    (``OPERATOR_PAYMENT_INSTRUCTIONS``; a reseller's profile has none). The transfer reference and due date
    belong to each document, so the document adds them."""

    payee: str
    bank_fields: tuple[tuple[str, str], ...] = ()
    bank_details: str = ""
    note: str = ""
    email: str = ""


def payment_instructions(customer: Customer | None) -> PaymentInstructions | None:
    """The bank details ``customer`` pays to: its reseller's (never the operator's, which a reseller's
    customer must not see), else the operator's from settings. None when its seller configured no bank
    details: nothing to print, and a page says to ask the seller instead. None customer: the operator."""
    if customer is not None and customer.seller_id is not None:
        seller = customer.seller
        profile = SellerProfile.objects.filter(customer=seller).first()
        if profile is None:
            return None
        fields = _profile_bank_fields(profile)
        if not fields:
            return None
        return PaymentInstructions(
            payee=profile.legal_name or seller.name,
            bank_fields=fields,
            email=profile.billing_email or seller.contact_email,
        )
    fields = _operator_bank_fields()
    if not fields and not settings.OPERATOR_BANK_DETAILS:
        return None
    return PaymentInstructions(
        payee=settings.OPERATOR_NAME,
        bank_fields=fields,
        bank_details=settings.OPERATOR_BANK_DETAILS,
        note=settings.OPERATOR_PAYMENT_INSTRUCTIONS,
    )


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
