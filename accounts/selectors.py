"""Who may see which customer. Every view and endpoint that touches a customer asks here."""

from django.db.models import QuerySet

from accounts.models import Customer, User


def customers_visible_to(user: User) -> QuerySet[Customer]:
    """Return the customers ``user`` may see.

    Operator staff see every customer. A customer user sees its own organisation and, when that
    organisation is a sub-distributor, its whole subtree at any depth. Anyone else sees nothing.
    """
    if not user.is_authenticated or not user.is_active:
        return Customer.objects.none()
    if user.is_operator_staff:
        return Customer.objects.all()
    membership = getattr(user, "membership", None)
    if membership is None:
        return Customer.objects.none()
    return Customer.objects.filter(path__startswith=membership.customer.path)


def customer_for_user(user: User, customer_id: int) -> Customer | None:
    """Return the customer with ``customer_id`` if ``user`` may see it, else None."""
    return customers_visible_to(user).filter(pk=customer_id).first()


def home_customer(user: User) -> Customer | None:
    """Return the organisation a customer user acts for, or None for staff and strangers."""
    membership = getattr(user, "membership", None)
    return membership.customer if membership else None


def customer_users(customer: Customer) -> dict:
    """``customer``'s portal users, its invitations not yet accepted or revoked (expired ones too, to
    resend), and the latest changes to them, for the users panel."""
    from accounts.models import Invitation, MembershipEvent

    return {
        "members": customer.memberships.select_related("user").order_by("user__email"),
        "invitations": Invitation.objects.filter(
            customer=customer, accepted_at__isnull=True, revoked_at__isnull=True
        ).select_related("invited_by"),
        "events": MembershipEvent.objects.filter(customer=customer).select_related("actor")[:20],
    }
