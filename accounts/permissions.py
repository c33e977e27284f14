"""Access rules for views and API endpoints: staff roles, customer roles, read-only auditors."""

from collections.abc import Callable, Iterable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework.permissions import SAFE_METHODS

from accounts.models import Customer, MemberRole, StaffRole

ALL_STAFF_ROLES = tuple(StaffRole.values)
ALL_MEMBER_ROLES = tuple(MemberRole.values)
# A seller's money pages (onboarding, terms, transfers, codes, close) are for these; viewers only read.
SELLER_MANAGERS = (MemberRole.OWNER, MemberRole.BILLING)
# Modes in which a sub-distributor runs a business of its own: it prices its customers (agency) and, in
# resale, also bills them in its own book. A direct one only groups customers the operator runs.
SELLER_MODES = (Customer.ChainMode.RESALE, Customer.ChainMode.AGENCY)


def staff_required(roles: Iterable[str] = ALL_STAFF_ROLES, *, auditor_reads: bool = True) -> Callable:
    """Allow operator staff whose role is in ``roles``.

    Auditors may read every page (GET) unless ``auditor_reads`` is False, as for pages that exist only
    to change something (a create form), which they must not even be offered.
    """
    allowed = set(roles)

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user.is_operator_staff:
                raise PermissionDenied
            reading = request.method in SAFE_METHODS
            auditor_may_read = auditor_reads and reading and user.staff_role == StaffRole.AUDITOR
            if user.staff_role not in allowed and not auditor_may_read:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def customer_user_required(view):
    """Allow users who act for a customer organisation (the portal)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if getattr(user, "membership", None) is None:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def seller_of(user) -> Customer | None:
    """The sub-distributor ``user`` acts for when it runs its own business (resale or agency), else None."""
    membership = getattr(user, "membership", None)
    if membership is None:
        return None
    customer = membership.customer
    if customer.is_sub_distributor and customer.chain_mode in SELLER_MODES:
        return customer
    return None


def seller_member_required(
    roles: Iterable[str] = ALL_MEMBER_ROLES, *, modes: Iterable[str] = SELLER_MODES
) -> Callable:
    """Allow users of a sub-distributor in one of ``modes`` (resale or agency by default) whose member role
    is in ``roles``; everyone else signed in gets 403 (end customers, direct sub-distributors, staff).

    The view receives the sub-distributor as ``request.seller``.
    """
    allowed_roles = set(roles)
    allowed_modes = set(modes)

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = getattr(user, "membership", None)
            if membership is None or membership.role not in allowed_roles:
                raise PermissionDenied
            customer = membership.customer
            if not customer.is_sub_distributor or customer.chain_mode not in allowed_modes:
                raise PermissionDenied
            request.seller = customer
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def subtree_customer_or_404(request, pk: int, *, own_book: bool = False) -> Customer:
    """Return customer ``pk`` of the signed-in seller's subtree (never the seller itself), else 404; with
    ``own_book``, only a customer the seller sells to in its own book (``seller`` is it), as money actions
    (terms, transfers, suspension) need.

    Use behind ``seller_member_required``: a customer outside is answered as if it did not exist, so that
    ids of other sellers' customers cannot be probed.
    """
    seller = getattr(request, "seller", None) or seller_of(request.user)
    if seller is None:
        raise Http404
    customers = Customer.objects.filter(path__startswith=seller.path, pk=pk).exclude(pk=seller.pk)
    if own_book:
        customers = customers.filter(seller=seller)
    customer = customers.first()
    if customer is None:
        raise Http404
    return customer


def manages_book(user, book_id: int | None) -> bool:
    """Whether ``user`` is an active owner or billing member of the sub-distributor whose book is
    ``book_id`` (never for the operator's book, None): who may move a reseller's money. Each caller adds
    what the operator's staff may do, which differs (any book, or the operator's only)."""
    membership = getattr(user, "membership", None)
    return (
        book_id is not None
        and user.is_active
        and membership is not None
        and membership.customer_id == book_id
        and membership.role in SELLER_MANAGERS
    )
