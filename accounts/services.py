"""Writes for users, customers and memberships."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.chain import chain_of
from accounts.models import Customer, MemberRole, Membership, StaffRole, User


@transaction.atomic
def customer_create(
    *,
    name: str,
    code: str,
    kind: str = Customer.Kind.END_CUSTOMER,
    parent: Customer | None = None,
    language: str = Customer.Language.EN,
    contact_email: str = "",
    chain_mode: str = Customer.ChainMode.RESALE,
) -> Customer:
    """Create a customer under ``parent`` (None: a direct customer of the operator); a sub-distributor
    sells in ``chain_mode`` (``accounts.chain``)."""
    if parent is not None and not parent.is_sub_distributor:
        raise ValidationError({"parent": _("Only a sub-distributor can have customers of its own.")})
    seller_id, owner_id = chain_of(parent)
    customer = Customer(
        name=name,
        code=code,
        kind=kind,
        parent=parent,
        language=language,
        contact_email=contact_email,
        chain_mode=chain_mode,
        seller_id=seller_id,
        price_owner_id=owner_id,
    )
    customer.full_clean(exclude=["path", "depth"])
    customer.save()
    # The path needs the new row's id, so it is written right after the insert, in the same transaction.
    customer.path = f"{parent.path if parent else '/'}{customer.pk}/"
    customer.depth = parent.depth + 1 if parent else 0
    customer.save(update_fields=["path", "depth"])
    return customer


def staff_user_create(
    *, email: str, password: str, role: str, first_name: str = "", last_name: str = ""
) -> User:
    if role not in StaffRole.values:
        raise ValidationError({"role": _("Unknown staff role %(role)s.") % {"role": role}})
    return User.objects.create_user(
        email,
        password,
        staff_role=role,
        is_staff=role == StaffRole.ADMIN,
        first_name=first_name,
        last_name=last_name,
    )


@transaction.atomic
def customer_user_create(
    *, email: str, password: str, customer: Customer, role: str, first_name: str = "", last_name: str = ""
) -> User:
    if role not in MemberRole.values:
        raise ValidationError({"role": _("Unknown member role %(role)s.") % {"role": role}})
    user = User.objects.create_user(email, password, first_name=first_name, last_name=last_name)
    Membership.objects.create(user=user, customer=customer, role=role)
    return user
