"""The terms the operator sets for a sub-distributor's place in the chain: how an agency is paid
(commission basis and rate) and the retail floor, the lowest markup over its buy price it may sell at.

The chain mode itself is not here: changing it moves customers between books (``billing.chain.setup``).
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Customer
from catalog.models import SellPlan
from catalog.services.alerts import price_check_run

# A markup floor above 1000% is a typo, not a policy.
MAX_RETAIL_FLOOR = Decimal("10")
Basis = Customer.CommissionBasis


def chain_terms_errors(
    *, commission_basis: str, commission_rate: Decimal | None, retail_floor: Decimal | None
) -> dict[str, str]:
    """The refusals of these terms per field name; empty when acceptable."""
    errors = {}
    if commission_basis not in Basis.values:
        errors["commission_basis"] = _("Choose retail − wholesale or a percentage of retail.")
    if commission_rate is not None and not Decimal("0") <= commission_rate <= Decimal("1"):
        errors["commission_rate"] = _("The rate is a fraction of retail between 0 and 1 (0.08 is 8%).")
    elif commission_basis == Basis.PERCENT and not commission_rate:
        errors["commission_rate"] = _("A percentage commission needs its rate (0.08 is 8%).")
    if floor_error := retail_floor_error(retail_floor):
        errors["retail_floor"] = floor_error
    return errors


def retail_floor_error(retail_floor: Decimal | None) -> str | None:
    """Why ``retail_floor`` cannot be a sub-distributor's floor, or None (blank: no floor). Set by the
    operator here and by a reseller for its own sub-distributors (``seller_services``)."""
    # Below 10, not up to it: the column holds one digit before the point.
    if retail_floor is not None and not Decimal("0") <= retail_floor < MAX_RETAIL_FLOOR:
        return _("The floor is a markup between 0 and 10 (0.05 is 5%); leave it blank for none.")
    return None


@transaction.atomic
def chain_terms_update(
    *,
    sub: Customer,
    commission_basis: str,
    commission_rate: Decimal | None,
    retail_floor: Decimal | None,
) -> Customer:
    """Set ``sub``'s commission terms and retail floor; raise ``ValidationError`` per field.

    A new floor re-checks ``sub``'s own plans at once, so a price now under it raises its alert (and one
    now above it is resolved) rather than waiting for the next price change."""
    if not sub.is_sub_distributor:
        raise ValidationError(_("Only a sub-distributor has chain terms."))
    errors = chain_terms_errors(
        commission_basis=commission_basis, commission_rate=commission_rate, retail_floor=retail_floor
    )
    if errors:
        raise ValidationError(errors)
    floor_changed = sub.retail_floor != retail_floor
    sub.commission_basis = commission_basis
    sub.commission_rate = commission_rate or Decimal("0")
    sub.retail_floor = retail_floor
    sub.save(update_fields=["commission_basis", "commission_rate", "retail_floor"])
    if floor_changed:
        retail_floor_recheck(sub)
    return sub


def retail_floor_recheck(sub: Customer) -> None:
    """Check ``sub``'s own active plans against its (new) retail floor now: a price under it raises its
    alert, one no longer under it is resolved. Runs inside the caller's transaction."""
    plans = list(SellPlan.objects.filter(owner=sub, is_active=True).select_related("owner"))
    if plans:
        price_check_run(
            trigger=_("retail floor of %(customer)s changed") % {"customer": sub.name}, plans=plans
        )
