"""Writing off bad debt: propose, approve (four eyes) and reject.

Be careful changing this module: it takes money off what a customer owes. The receivables invariant
(``billing.receivables.services``) still holds after every write-off, because the posting credits the
customer's receivable by exactly what the invoices' ``amount_written_off`` grows by:

    receivable balance (ledger) = Σ amount due of issued invoices − unallocated payment credit

Finance or an admin proposes writing off a customer's open invoices in one currency (all of them, or
chosen invoices and amounts) with a reason; nothing is posted. An admin other than the proposer approves:
the posting, dated ``effective_date``, debits the allowance for doubtful debts as far as the allowance held
in that currency and book goes and bad-debt expense for the rest, and credits the receivable. The allowance
taken is never more than was held from the effective date on (``_allowance_available``): a backdated
write-off does not spend an allowance charged later. A proposal an exhausted dunning policy made has no
proposer: only an admin approves it too (finance may edit the dunning policy that makes such proposals,
so finance alone deciding them would be one person writing off a debt). Approval re-reads what is due: a
payment received since the proposal is never written off (the line shrinks to what is still due; with
nothing left the approval is refused).
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer, StaffRole, User
from billing.dunning.selectors import invoices_really_due
from billing.dunning.suspension import overdue_suspension_watch
from billing.invoicing.models import Invoice
from billing.ledger.accounts import account_get
from billing.ledger.exceptions import LedgerError
from billing.ledger.models import AccountKind, JournalEntry, LedgerAccount
from billing.ledger.services import credit, debit, transaction_post
from billing.money import currency_exponent, is_money, quantize_money
from billing.receivables.models import WriteOff, WriteOffLine
from billing.receivables.services import (
    invoice_status_settle,
    payment_allocate,
    payments_with_credit,
    require_money_role,
)
from billing.terms.credit import credit_limit_watch
from common.stored_text import stored

PROPOSER_ROLES = (StaffRole.FINANCE, StaffRole.ADMIN)
# Every write-off, the dunning policy's proposals included, is decided by an admin.
APPROVER_ROLES = (StaffRole.ADMIN,)
OPEN_STATUSES = (Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID)
POSTING_KIND = "receivable.write_off"
ZERO = Decimal("0")


@dataclass(frozen=True)
class Split:
    """How an approved write-off was posted: from the allowance, and to expense beyond it."""

    allowance: Decimal
    expense: Decimal


def _require_proposer(actor: User | None) -> None:
    if actor is None or not actor.is_active or actor.staff_role not in PROPOSER_ROLES:
        raise PermissionDenied(_("Only finance staff or an admin may propose a write-off."))


def may_decide(user: User | None, write_off: WriteOff) -> bool:
    """Whether ``user`` may approve or reject ``write_off`` (role and four eyes; not its status)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.staff_role in APPROVER_ROLES and write_off.proposed_by_id != user.pk


def _require_decider(user: User | None, write_off: WriteOff) -> None:
    if user is not None and write_off.proposed_by_id is not None and write_off.proposed_by_id == user.pk:
        raise PermissionDenied(_("The proposer of a write-off cannot approve or reject it."))
    if not may_decide(user, write_off):
        raise PermissionDenied(_("Only an admin other than the proposer may approve or reject a write-off."))


def _fingerprint(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _amount_problem(amount, currency: str) -> str | None:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        return _("enter the amount as a decimal number")
    if amount <= 0:
        return _("the amount must be greater than zero")
    if not is_money(amount, currency):
        return _("enter the amount with at most %(places)s decimal places") % {
            "places": currency_exponent(currency)
        }
    return None


def writeoff_candidates(*, customer: Customer, currency: str | None = None):
    """The customer's invoices a write-off may take: issued, with something due (oldest due first)."""
    invoices = Invoice.objects.filter(customer=customer, status__in=OPEN_STATUSES)
    if currency:
        invoices = invoices.filter(currency=currency)
    return invoices.order_by("due_date", "number", "pk")


def _pending_invoice_ids(invoice_ids) -> set[int]:
    return set(
        WriteOffLine.objects.filter(
            invoice_id__in=invoice_ids, write_off__status=WriteOff.Status.PROPOSED
        ).values_list("invoice_id", flat=True)
    )


def _lines_checked(
    customer: Customer, currency: str | None, wanted
) -> tuple[str, list[tuple[Invoice, Decimal]]]:
    """Check each wanted (invoice, amount or None) and return the currency and the lines; every problem is
    reported at once, each naming its invoice."""
    problems: list[str] = []
    # Read afresh: the caller's instances may predate a payment.
    fresh = Invoice.objects.in_bulk([inv.pk for inv, _amount in wanted])
    wanted = [(fresh[inv.pk], amount) for inv, amount in wanted if inv.pk in fresh]
    currencies = {inv.currency for inv, _amount in wanted}
    if currency is None and len(currencies) > 1:
        raise ValidationError(
            {"invoices": _("Choose invoices in one currency: a write-off is in one currency.")}
        )
    currency = currency or (currencies.pop() if currencies else "")
    really_due = invoices_really_due(customer_id=customer.pk, currency=currency) if currency else {}
    pending = _pending_invoice_ids([inv.pk for inv, _amount in wanted])
    lines, seen = [], set()
    for inv, amount in wanted:
        label = inv.number or str(inv.pk)
        if inv.pk in seen:
            problems.append(_("Invoice %(number)s is chosen twice.") % {"number": label})
            continue
        seen.add(inv.pk)
        if inv.customer_id != customer.pk:
            problems.append(_("Invoice %(number)s belongs to another customer.") % {"number": label})
            continue
        if inv.currency != currency:
            problems.append(
                _("Invoice %(number)s is in %(currency)s, the write-off in %(wanted)s.")
                % {"number": label, "currency": inv.currency, "wanted": currency}
            )
            continue
        if inv.status not in OPEN_STATUSES:
            problems.append(
                _("Invoice %(number)s is %(status)s; nothing is due on it.")
                % {"number": label, "status": inv.get_status_display().lower()}
            )
            continue
        if inv.pk in pending:
            problems.append(
                _("Invoice %(number)s is already in a write-off awaiting approval.") % {"number": label}
            )
            continue
        due = quantize_money(really_due.get(inv.pk, ZERO), currency)
        if due <= 0:
            problems.append(
                _("Invoice %(number)s is covered by credit the customer holds: allocate it instead.")
                % {"number": label}
            )
            continue
        take = due if amount is None else amount
        problem = _amount_problem(take, currency)
        if problem is not None:
            problems.append(_("Invoice %(number)s: %(problem)s.") % {"number": label, "problem": problem})
        elif take > due:
            problems.append(
                _("Invoice %(number)s has only %(due)s %(currency)s due.")
                % {"number": label, "due": due, "currency": currency}
            )
        else:
            lines.append((inv, take))
    if problems:
        raise ValidationError({"invoices": problems})
    if not lines:
        raise ValidationError({"invoices": _("Nothing is due on the chosen invoices.")})
    return currency, lines


def writeoff_propose(
    *,
    customer: Customer,
    reason: str,
    actor: User | None,
    idempotency_key: str,
    invoices_amounts=None,
    whole: bool = False,
    currency: str | None = None,
    origin: str = WriteOff.Origin.FINANCE,
) -> WriteOff:
    """Propose writing off what ``customer`` owes on chosen invoices, or (``whole``) on every open invoice
    in ``currency`` (needed only when it owes in several); nothing is posted until approval.

    ``invoices_amounts`` is [(invoice, amount or None for all that is due)]. Refused (ValidationError, one
    message per invoice at fault) when an invoice is another customer's, in another currency, not open,
    already in a pending proposal, covered by the customer's unallocated credit, or asked for more than is
    due. ``actor`` None is only for an exhausted dunning policy (origin "dunning"). The same key with the
    same body returns the first proposal; with another body it is refused.
    """
    if origin == WriteOff.Origin.DUNNING:
        if actor is not None:
            raise ValueError("A proposal of the dunning policy has no proposer.")
    else:
        _require_proposer(actor)
    errors: dict[str, list[str]] = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = [_("Say why the debt is written off: it stays on the record.")]
    if not isinstance(idempotency_key, str) or not idempotency_key.strip() or len(idempotency_key) > 200:
        errors["idempotency_key"] = [_("An idempotency key (1–200 characters) is required.")]
    currency = (currency or "").upper() or None
    if whole:
        if invoices_amounts:
            raise ValueError("Pass invoices_amounts or whole, not both.")
        open_invoices = list(writeoff_candidates(customer=customer, currency=currency))
        currencies = {inv.currency for inv in open_invoices}
        if currency is None and len(currencies) > 1:
            errors["currency"] = [
                _("%(customer)s owes in %(currencies)s: choose one currency.")
                % {"customer": customer.name, "currencies": ", ".join(sorted(currencies))}
            ]
        wanted = [(inv, None) for inv in open_invoices]
        if not wanted and "currency" not in errors:
            errors["invoices"] = [
                _("%(customer)s has no open invoice to write off.") % {"customer": customer.name}
            ]
    else:
        wanted = list(invoices_amounts or [])
        if not wanted:
            errors["invoices"] = [_("Choose at least one invoice to write off.")]
        elif any(not isinstance(inv, Invoice) for inv, _amount in wanted):
            errors["invoices"] = [_("Choose invoices from the list.")]
    if errors:
        raise ValidationError(errors)
    # The request as asked (not as resolved): a replay is recognised before anything is re-checked.
    body = {
        "customer": customer.pk,
        "currency": currency,
        "whole": whole,
        "reason": reason[:500],
        "origin": origin,
        "proposer": actor.pk if actor is not None else None,
        # "whole" is what is open when approved, whatever invoices there are: the list is not the request.
        "wanted": []
        if whole
        else sorted((inv.pk, "due" if amount is None else str(amount)) for inv, amount in wanted),
    }
    request_hash = _fingerprint(body)
    existing = WriteOff.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _replayed(existing, request_hash)
    currency, lines = _lines_checked(customer, currency, wanted)
    try:
        with transaction.atomic():
            write_off = WriteOff.objects.create(
                customer=customer,
                currency=currency,
                origin=origin,
                reason=reason[:500],
                total=sum((amount for _inv, amount in lines), ZERO),
                proposed_by=actor,
                idempotency_key=idempotency_key,
                request_hash=request_hash,
            )
            WriteOffLine.objects.bulk_create(
                WriteOffLine(write_off=write_off, invoice=inv, amount=amount) for inv, amount in lines
            )
            return write_off
    except IntegrityError:
        existing = WriteOff.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return _replayed(existing, request_hash)


def _replayed(existing: WriteOff, request_hash: str) -> WriteOff:
    if existing.request_hash != request_hash:
        raise ValidationError(
            {"idempotency_key": _("This idempotency key was already used for a different write-off.")}
        )
    return existing


def _lock_proposed(write_off: WriteOff, user: User) -> WriteOff:
    write_off = WriteOff.objects.select_for_update().select_related("customer").get(pk=write_off.pk)
    _require_decider(user, write_off)
    if write_off.status != WriteOff.Status.PROPOSED:
        raise ValidationError(
            _("This write-off was already decided: %(status)s.") % {"status": write_off.get_status_display()}
        )
    return write_off


def _effective_date_checked(effective_date, invoices: list[Invoice]) -> date:
    today = timezone.localdate()
    effective_date = effective_date or today
    if not isinstance(effective_date, date):
        raise ValidationError({"effective_date": _("Enter the date the write-off takes effect.")})
    if effective_date > today:
        raise ValidationError({"effective_date": _("The effective date cannot be in the future.")})
    latest = max(invoices, key=lambda inv: inv.issue_date)
    if effective_date < latest.issue_date:
        raise ValidationError(
            {
                "effective_date": _(
                    "Invoice %(number)s was issued on %(date)s: the write-off cannot be earlier."
                )
                % {"number": latest.number, "date": latest.issue_date.isoformat()}
            }
        )
    return effective_date


def _allowance_available(account: LedgerAccount, effective_date: date) -> Decimal:
    """What a write-off effective ``effective_date`` may take from the allowance, read under the account's
    lock: the least the allowance held (credit side) at the end of that day or of any later-dated day,
    now included. Taking more would leave it negative in the history: an allowance charged on 30 November
    does not exist for a write-off effective 15 October."""
    locked = LedgerAccount.objects.select_for_update().get(pk=account.pk)
    entries = JournalEntry.objects.filter(account=locked)
    # Entries are debit-positive: the allowance held is minus their sum.
    held = -(
        entries.filter(transaction__effective_date__lte=effective_date).aggregate(s=Sum("amount"))["s"]
        or ZERO
    )
    lowest = min(held, locked.display_balance)
    later = (
        entries.filter(transaction__effective_date__gt=effective_date)
        .values("transaction__effective_date")
        .annotate(s=Sum("amount"))
        .order_by("transaction__effective_date")
    )
    for day in later:
        held -= day["s"]
        lowest = min(lowest, held)
    return max(lowest, ZERO)


def writeoff_approve(*, write_off: WriteOff, approver: User, effective_date: date | None = None) -> WriteOff:
    """Post a proposed write-off and mark its invoices; see the module doc.

    Each line is cut to what is really due now (payments and credit since the proposal are not written
    off); a line with nothing left is dropped, and with nothing left at all the approval is refused.
    """
    with transaction.atomic(durable=True):
        write_off = _lock_proposed(write_off, approver)
        lines = list(write_off.lines.order_by("invoice_id"))
        invoices = {
            inv.pk: inv
            for inv in Invoice.objects.select_for_update()
            .filter(pk__in=[ln.invoice_id for ln in lines])
            .order_by("pk")
        }
        effective_date = _effective_date_checked(effective_date, list(invoices.values()))
        customer, currency = write_off.customer, write_off.currency
        really_due = invoices_really_due(customer_id=customer.pk, currency=currency)
        kept = []
        for line in lines:
            inv = invoices[line.invoice_id]
            due = (
                quantize_money(really_due.get(inv.pk, ZERO), currency)
                if inv.status in OPEN_STATUSES
                else ZERO
            )
            take = min(line.amount, due)
            if take <= 0:
                line.delete()  # a proposal row, never posted: nothing references it yet
                continue
            if take != line.amount:
                line.amount = take
                line.save(update_fields=["amount"])
            kept.append((line, inv))
        if not kept:
            raise ValidationError(
                _("Nothing is due any more on this write-off's invoices (paid or credited since): reject it.")
            )
        total = sum((line.amount for line, _inv in kept), ZERO)
        book = customer.seller
        allowance = account_get(kind=AccountKind.ALLOWANCE_DOUBTFUL, currency=currency, book=book)
        from_allowance = min(_allowance_available(allowance, effective_date), total)
        expense = total - from_allowance
        entries = []
        if from_allowance > 0:
            entries.append(debit(allowance, from_allowance, currency))
        if expense > 0:
            entries.append(
                debit(
                    account_get(kind=AccountKind.BAD_DEBT_EXPENSE, currency=currency, book=book),
                    expense,
                    currency,
                )
            )
        receivable = account_get(kind=AccountKind.RECEIVABLE, currency=currency, customer=customer)
        entries.append(credit(receivable, total, currency))
        numbers = ", ".join(inv.number for _line, inv in kept)
        try:
            posted = transaction_post(
                # Keyed by the proposal: whatever retries, one write-off posts one transaction.
                idempotency_key=f"receivables.write_off:{write_off.pk}",
                kind=POSTING_KIND,
                lines=entries,
                memo=f"Write-off #{write_off.pk} {customer.name}: {numbers}",
                memo_message=stored(
                    "receivables.memo.write_off",
                    write_off=write_off.pk,
                    customer=customer.name,
                    invoices=numbers,
                ),
                source=f"write_off:{write_off.pk}",
                effective_date=effective_date,
                actor=approver,
            )
        except LedgerError as exc:
            raise ValidationError(str(exc)) from exc
        for line, inv in kept:
            inv.amount_written_off += line.amount
            invoice_status_settle(inv)
            inv.save(update_fields=["amount_written_off", "status"])
            # A written-off invoice is no longer overdue: its suspension lifts once this commits.
            overdue_suspension_watch(invoice=inv)
        credit_limit_watch(transactions=[posted])
        write_off.total = total
        write_off.status = WriteOff.Status.APPROVED
        write_off.effective_date = effective_date
        write_off.journal_transaction = posted
        write_off.decided_by = approver
        write_off.decided_at = timezone.now()
        write_off.save(
            update_fields=[
                "total",
                "status",
                "effective_date",
                "journal_transaction",
                "decided_by",
                "decided_at",
            ]
        )
    return write_off


def writeoff_reject(*, write_off: WriteOff, approver: User, reason: str) -> WriteOff:
    """Refuse a proposed write-off with a reason; nothing is posted."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the write-off is rejected.")})
    with transaction.atomic(durable=True):
        write_off = _lock_proposed(write_off, approver)
        write_off.status = WriteOff.Status.REJECTED
        write_off.rejection_reason = reason[:500]
        write_off.decided_by = approver
        write_off.decided_at = timezone.now()
        write_off.save(update_fields=["status", "rejection_reason", "decided_by", "decided_at"])
    return write_off


def writeoff_split(write_off: WriteOff) -> Split | None:
    """What an approved write-off took from the allowance and charged to expense (None before approval)."""
    if write_off.journal_transaction_id is None:
        return None
    amounts = dict.fromkeys((AccountKind.ALLOWANCE_DOUBTFUL, AccountKind.BAD_DEBT_EXPENSE), ZERO)
    for kind, amount in write_off.journal_transaction.entries.values_list("account__kind", "amount"):
        if kind in amounts:
            amounts[kind] += amount
    return Split(
        allowance=amounts[AccountKind.ALLOWANCE_DOUBTFUL], expense=amounts[AccountKind.BAD_DEBT_EXPENSE]
    )


def writeoff_credit_recover(*, invoice: Invoice, actor: User):
    """Apply the customer's unallocated payments, oldest first, to ``invoice`` — what is due, then what was
    written off (a recovery); return the allocations. Finance's deliberate step: automatic application
    never recovers (``billing.receivables.recoveries``). All or nothing."""
    require_money_role(actor)
    made = []
    with transaction.atomic(durable=True):
        payments = payments_with_credit([invoice.customer_id], invoice.currency).order_by("received_on", "pk")
        for payment in payments:
            invoice.refresh_from_db()
            if invoice.amount_due + invoice.amount_written_off <= 0:
                break
            made += payment_allocate(payment=payment, invoice=invoice, actor=actor)
    return made


def dunning_write_off_receiver(sender, invoice: Invoice, **kwargs) -> WriteOff:
    """``billing.dunning.signals.write_off_wanted``: propose writing off what is due on ``invoice``, with no
    proposer (origin dunning); one proposal per invoice, whatever retries."""
    reason = _("Dunning exhausted: invoice %(number)s is still unpaid after the last reminder.") % {
        "number": invoice.number
    }
    return writeoff_propose(
        customer=invoice.customer,
        invoices_amounts=[(invoice, None)],
        reason=reason,
        actor=None,
        idempotency_key=f"dunning.exhausted:{invoice.pk}",
        origin=WriteOff.Origin.DUNNING,
    )
