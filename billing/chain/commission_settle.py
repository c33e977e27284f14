"""Settle an agent's commission: paid by bank, or offset against the agent's own open invoices.

Both are written in the book that owes the commission (the agent's seller's, where the payable is):

- bank: Dr COMMISSION_PAYABLE (agent) / Cr CASH_BANK;
- offset: the same payout, and the same amount received back at once as the agent's payment of its open
  invoices (``billing.receivables.payment_record``: Dr CASH_BANK / Cr RECEIVABLE, allocated oldest first,
  with its receipt). Cash at bank moves in and out on the same day and nets to zero; going through the
  receivables service keeps every invoice's paid amount, the receipts and the aging in step with the ledger,
  which a direct Dr payable / Cr receivable would leave behind.
"""

from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer
from accounts.permissions import manages_book
from billing.chain.commission import SETTLEMENT_KIND_PREFIX, payable_account, payable_outstanding
from billing.chain.models import CommissionSettlement
from billing.invoicing.models import Invoice
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.services import credit, debit, transaction_post
from billing.money import is_money, money_text
from billing.receivables.selectors import with_amount_due
from billing.receivables.services import payment_record, require_money_role
from common.stored_text import stored


def invoices_open_due(agent: Customer, currency: str) -> Decimal:
    """What the agent's open invoices in ``currency`` still owe (an offset may settle at most that)."""
    invoices = with_amount_due(Invoice.objects.filter(customer=agent, currency=currency))
    return invoices.aggregate(total=Sum("due"))["total"] or Decimal(0)


def require_settler(actor, agent: Customer) -> None:
    """Refuse anyone but whoever owes ``agent``'s commission, the agent's seller: for the operator's book
    its finance or admin staff; for a reseller's book that reseller's active owner or billing members, and
    not the operator's staff, who would be recording money leaving a bank account that is not the
    operator's. ``None`` is the system."""
    if actor is None:
        return
    if agent.seller_id is None:
        require_money_role(actor)
        return
    if manages_book(actor, agent.seller_id):
        return
    raise PermissionDenied(
        _("%(agent)s's commission is owed by %(seller)s: only its owner or billing members settle it.")
        % {"agent": agent.name, "seller": agent.seller.name}
    )


def _validate(agent: Customer, currency: str, amount, method: str, settled_on) -> None:
    if not agent.is_sub_distributor or agent.chain_mode != Customer.ChainMode.AGENCY:
        raise ValidationError(_("%(agent)s is not an agency sub-distributor.") % {"agent": agent.name})
    if method not in CommissionSettlement.Method.values:
        raise ValidationError({"method": _("Choose bank transfer or offset.")})
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise ValidationError({"amount": _("Enter an amount greater than zero.")})
    if not is_money(amount, currency):
        raise ValidationError(
            {"amount": _("The amount has more decimals than %(currency)s has.") % {"currency": currency}}
        )
    if not isinstance(settled_on, date) or settled_on > timezone.localdate():
        raise ValidationError({"settled_on": _("Enter the day it was paid (not in the future).")})
    owed = payable_outstanding(agent, currency)
    if amount > owed:
        message = _("%(agent)s is owed %(owed)s %(currency)s of commission; %(amount)s is more.")
        raise ValidationError(
            {
                "amount": message
                % {
                    "agent": agent.name,
                    "owed": money_text(owed, currency),
                    "currency": currency,
                    "amount": amount,
                }
            }
        )
    if method == CommissionSettlement.Method.OFFSET:
        due = invoices_open_due(agent, currency)
        if amount > due:
            message = _("%(agent)s's open invoices owe %(due)s %(currency)s; an offset cannot exceed that.")
            raise ValidationError(
                {
                    "amount": message
                    % {"agent": agent.name, "due": money_text(due, currency), "currency": currency}
                }
            )


def _replayed(existing: CommissionSettlement, body: dict) -> CommissionSettlement:
    if any(getattr(existing, name) != value for name, value in body.items()):
        raise ValidationError(
            {"idempotency_key": _("This idempotency key was already used for a different settlement.")}
        )
    return existing


def commission_settle(
    *,
    agent: Customer,
    currency: str,
    amount: Decimal,
    method: str,
    settled_on: date,
    reference: str = "",
    note: str = "",
    actor,
    idempotency_key: str,
) -> CommissionSettlement:
    """Record paying ``amount`` of ``agent``'s commission on ``settled_on``; return the settlement.

    Only whoever owes it may (``require_settler``): the operator's finance or admin for the operator's
    book, the reseller's owner or billing members for a reseller's. Refused beyond what the agent is owed,
    and for an offset beyond what its open invoices owe. Replaying ``idempotency_key`` with the same
    settlement returns the first one.
    """
    require_settler(actor, agent)
    currency = (currency or "").upper()
    reference = (reference or "").strip()
    body = {
        "agent_id": agent.pk,
        "currency": currency,
        "amount": amount,
        "method": method,
        "settled_on": settled_on,
        "reference": reference,
    }
    existing = CommissionSettlement.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _replayed(existing, body)
    try:
        with transaction.atomic():
            # Lock the payable: two settlements at once must not both pass the "owed" check.
            account = payable_account(agent, currency)
            if account is not None:
                type(account).objects.select_for_update().get(pk=account.pk)
            _validate(agent, currency, amount, method, settled_on)
            return _settle(agent, body, note, actor, idempotency_key)
    except IntegrityError:
        existing = CommissionSettlement.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return _replayed(existing, body)


def _settle(agent: Customer, body: dict, note: str, actor, idempotency_key: str) -> CommissionSettlement:
    currency, amount, method = body["currency"], body["amount"], body["method"]
    book = agent.seller
    payable = account_get(kind=AccountKind.COMMISSION_PAYABLE, currency=currency, customer=agent)
    cash = account_get(kind=AccountKind.CASH_BANK, currency=currency, book=book)
    suffix = f", ref {body['reference']}" if body["reference"] else ""
    txn = transaction_post(
        idempotency_key=f"commission.settle:{idempotency_key}",
        kind=f"{SETTLEMENT_KIND_PREFIX}{method}",
        lines=[debit(payable, amount, currency), credit(cash, amount, currency)],
        memo=f"Commission paid to {agent.name}{suffix}"[:500],
        memo_message=(
            stored("chain.memo.commission_paid_ref", agent=agent.name, reference=body["reference"])
            if body["reference"]
            else stored("chain.memo.commission_paid", agent=agent.name)
        ),
        source=f"commission:{agent.pk}",
        effective_date=body["settled_on"],
        actor=actor,
    )
    payment = None
    if method == CommissionSettlement.Method.OFFSET:
        payment = payment_record(
            customer=agent,
            amount=amount,
            currency=currency,
            received_on=body["settled_on"],
            reference=(body["reference"] or _("Commission offset"))[:200],
            actor=actor,
            idempotency_key=f"commission.offset:{idempotency_key}"[:200],
            allocate="oldest",
            note=_("Commission offset against open invoices"),
        )
    return CommissionSettlement.objects.create(
        **body,
        book=book,
        note=note,
        idempotency_key=idempotency_key,
        journal_transaction=txn,
        payment=payment,
        recorded_by=actor,
    )
