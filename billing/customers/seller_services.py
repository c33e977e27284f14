"""Writes of the seller console: a resale sub-distributor onboards its customers, sets their terms, limits
and floors, and holds or releases their gateway traffic.

Each service takes the seller and refuses a customer it does not sell to in its own book, so a view that
forgot its check still could not act outside the seller's business. Nothing here ever writes to the seller
itself: its own terms, limits and holds are its seller's (the operator's) to set.
"""

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Customer
from billing.customers.chain_terms import retail_floor_error, retail_floor_recheck
from billing.gateway.models import GatewayHold
from billing.gateway.services import gateway_hold_place, gateway_hold_release
from billing.terms.models import BillingTerms
from billing.terms.services import billing_terms_update, customer_onboard
from billing.wallets.locking import wallet_get_or_create
from billing.wallets.models import Wallet
from billing.wallets.status import wallet_settings_update


def _require_own(seller: Customer, customer: Customer) -> None:
    """Refuse unless ``seller`` is a resale sub-distributor selling to ``customer`` in its own book."""
    if not seller.is_reseller or customer.pk == seller.pk or customer.seller_id != seller.pk:
        raise PermissionDenied(_("%(customer)s is not one of your customers.") % {"customer": customer})


@transaction.atomic
def seller_customer_onboard(
    *,
    seller: Customer,
    actor,
    name: str,
    code: str,
    kind: str,
    language: str,
    contact_email: str,
    mode: str,
    currency: str,
    credit_limit: Decimal | None = None,
    credit_policy: str = BillingTerms.CreditPolicy.BLOCK,
    payment_term: str = BillingTerms.PaymentTerm.NET,
    payment_days: int = 30,
    terms_from: datetime | None = None,
    chain_mode: str = Customer.ChainMode.RESALE,
) -> Customer:
    """Create a customer under ``seller`` with its billing terms; the new customer's seller is ``seller``
    (``accounts.chain``), so its accounts open in ``seller``'s book; a sub-distributor sells below it in
    ``chain_mode``. Raises ``ValidationError`` per field (nothing is created then)."""
    if not seller.is_reseller:
        raise PermissionDenied(_("Only a sub-distributor in resale mode onboards customers of its own."))
    customer = customer_onboard(
        name=name,
        code=code,
        kind=kind,
        parent=seller,
        language=language,
        contact_email=contact_email,
        mode=mode,
        currency=currency,
        terms_from=terms_from,
        # An end customer sells to nobody: its mode stays the default whatever the form sent.
        chain_mode=chain_mode if kind == Customer.Kind.SUB_DISTRIBUTOR else Customer.ChainMode.RESALE,
    )
    values = {
        "mode": mode,
        "currency": currency,
        "credit_limit": credit_limit or Decimal("0"),
        "credit_policy": credit_policy,
        "payment_term": payment_term,
        "payment_days": payment_days,
    }
    billing_terms_update(customer=customer, values=values, actor=actor)
    return customer


def seller_terms_update(*, seller: Customer, customer: Customer, values: dict, actor) -> BillingTerms:
    """Change the billing terms (mode, limit, policy, payment terms…) of one of ``seller``'s customers."""
    _require_own(seller, customer)
    return billing_terms_update(customer=customer, values=values, actor=actor)


def seller_wallet_floor_set(
    *, seller: Customer, customer: Customer, currency: str, floor: Decimal, limit_mode: str
) -> Wallet:
    """Set how far below zero one of ``seller``'s prepaid customers may go, and whether in-flight usage may
    cross it (soft) or a reserve holds it back (hard); alerting settings are kept."""
    _require_own(seller, customer)
    wallet = wallet_get_or_create(customer=customer, currency=currency)
    return wallet_settings_update(
        wallet=wallet,
        floor=floor,
        low_balance_threshold=wallet.low_balance_threshold,
        alert_email=wallet.alert_email,
        webhook_url=wallet.webhook_url,
        limit_mode=limit_mode,
        reserve_minutes=wallet.reserve_minutes,
    )


@transaction.atomic
def seller_retail_floor_set(
    *, seller: Customer, customer: Customer, retail_floor: Decimal | None
) -> Customer:
    """Set the lowest markup one of ``seller``'s own sub-distributors may sell at over what it pays
    ``seller`` (None: no floor), as the operator does for ``seller``."""
    _require_own(seller, customer)
    if not customer.is_sub_distributor:
        raise ValidationError({"retail_floor": _("Only a sub-distributor sells at a retail floor.")})
    if floor_error := retail_floor_error(retail_floor):
        raise ValidationError({"retail_floor": floor_error})
    changed = customer.retail_floor != retail_floor
    customer.retail_floor = retail_floor
    customer.save(update_fields=["retail_floor"])
    if changed:
        retail_floor_recheck(customer)
    return customer


def seller_hold_place(*, seller: Customer, customer: Customer, reason: str, actor) -> GatewayHold:
    """Suspend one of ``seller``'s customers at the gateway (and, for a sub-distributor, its subtree):
    ``seller`` itself keeps being served, since its status reads only holds above it."""
    _require_own(seller, customer)
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the customer is suspended.")})
    return gateway_hold_place(customer=customer, reason=reason, actor=actor)


def seller_hold_lift(*, seller: Customer, hold: GatewayHold) -> GatewayHold:
    """Release a hold on one of ``seller``'s customers (a hold the operator placed is the operator's)."""
    _require_own(seller, hold.customer)
    if hold.created_by is not None and hold.created_by.is_operator_staff:
        raise PermissionDenied(_("The operator placed this hold; only the operator can lift it."))
    return gateway_hold_release(hold=hold)
