"""Reads for top-up pages; every query is scoped to the customers the user may see."""

from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce

from accounts.models import Customer, Membership, User
from accounts.selectors import customers_visible_to
from billing.payments.models import (
    HOLDS_REFERENCE,
    BankTransfer,
    CardTopUp,
    Correction,
    RedemptionBatch,
    RedemptionCode,
    StripeEvent,
)


def card_topups_visible_to(user: User) -> QuerySet[CardTopUp]:
    return CardTopUp.objects.filter(customer__in=customers_visible_to(user)).select_related("customer")


def with_notice_flag(transfers: QuerySet[BankTransfer]) -> QuerySet[BankTransfer]:
    """Annotate ``notified_by_customer``: recorded from the portal by the customer itself.

    Only staff, the book's (a reseller's) owner or billing members, and the customer's own may record a
    transfer (``bank_transfers``); a recorder who is neither staff nor a member of the book is the customer,
    even after its user was revoked (whereas asking "is it a member of the customer" would then forget it).
    """
    book_member = Membership.objects.filter(user=OuterRef("recorded_by"), customer=OuterRef("book"))
    return transfers.annotate(
        notified_by_customer=ExpressionWrapper(
            Q(recorded_by__staff_role="") & ~Exists(book_member), output_field=BooleanField()
        )
    )


def with_reference_clash(transfers: QuerySet[BankTransfer]) -> QuerySet[BankTransfer]:
    """Annotate ``reference_clash``: a customer's pending notice whose bank line another transfer holds in
    its book, so approving it is refused (``bank_transfers.reference_clash``). For the deciders' pages only:
    a customer must not learn of another customer's lines."""
    holders = (
        BankTransfer.objects.filter(HOLDS_REFERENCE)
        .annotate(book_key=Coalesce("book_id", Value(0)))
        .filter(
            book_key=Coalesce(OuterRef("book_id"), Value(0)),
            reference_key=OuterRef("reference_key"),
            currency=OuterRef("currency"),
        )
        .exclude(pk=OuterRef("pk"))
    )
    return transfers.annotate(
        reference_clash=ExpressionWrapper(
            Q(notified=True, status=BankTransfer.Status.PENDING) & Exists(holders),
            output_field=BooleanField(),
        )
    )


def bank_transfers_visible_to(user: User) -> QuerySet[BankTransfer]:
    return with_reference_clash(
        with_notice_flag(
            BankTransfer.objects.filter(customer__in=customers_visible_to(user)).select_related(
                "customer", "recorded_by", "decided_by"
            )
        )
    )


def stripe_events_visible_to(user: User) -> QuerySet[StripeEvent]:
    # Events are about the operator's Stripe account as a whole: staff only.
    return StripeEvent.objects.all() if user.is_operator_staff else StripeEvent.objects.none()


# Events finance must decide on: they will not apply by themselves. An event waiting for an earlier one
# applies when that arrives, so it is listed apart.
NEEDS_ATTENTION = Q(status=StripeEvent.Status.FAILED) | (
    Q(status=StripeEvent.Status.PARKED) & ~Q(parked_reason=StripeEvent.ParkedReason.WAITING)
)
WAITING = Q(status=StripeEvent.Status.PARKED, parked_reason=StripeEvent.ParkedReason.WAITING)


def stripe_event_queue_counts(user: User) -> dict[str, int]:
    """How many visible events need finance's attention, and how many wait for an earlier event."""
    return stripe_events_visible_to(user).aggregate(
        attention=Count("pk", filter=NEEDS_ATTENTION), waiting=Count("pk", filter=WAITING)
    )


def redemption_batches_visible_to(user: User) -> QuerySet[RedemptionBatch]:
    if not user.is_operator_staff:
        return RedemptionBatch.objects.none()
    # Meta.ordering is not applied to a GROUP BY query: paginating needs the order said again.
    return (
        RedemptionBatch.objects.select_related("created_by")
        .annotate(redeemed=Count("codes", filter=Q(codes__redeemed_at__isnull=False)))
        .order_by("-created_at", "-id")
    )


def customer_topups(*, customer: Customer, limit: int = 20) -> dict:
    """A customer's own recent top-ups of each kind, for the portal (never a sibling's or a child's)."""
    return {
        "card_topups": CardTopUp.objects.filter(customer=customer).exclude(status=CardTopUp.Status.OPEN)[
            :limit
        ],
        "bank_transfers": BankTransfer.objects.filter(customer=customer).exclude(
            status=BankTransfer.Status.REJECTED
        )[:limit],
        "redeemed_codes": RedemptionCode.objects.filter(customer=customer)
        .select_related("batch")
        .order_by("-redeemed_at")[:limit],
    }


def corrections_visible_to(user: User) -> QuerySet[Correction]:
    return Correction.objects.filter(customer__in=customers_visible_to(user)).select_related(
        "customer", "payment", "card_topup", "bank_transfer", "proposed_by", "decided_by"
    )
