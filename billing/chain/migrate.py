"""Move an existing sub-distributor into the chain (resale) or back out of it (direct): ``chain_migrate``.

Before chains every sub-distributor only grouped customers that the operator priced and billed (migration
accounts 0003 made them all "direct"). Moving S to *resale*:

1. Prices. Each customer S will price has its current plan (its own assignment or the one it inherits,
   ``plan_for_customer``) copied as a plan owned by S and assigned to it from the switch: the customer
   pays what it paid, now as S's retail price. Rules that discount list are copied as they are; explicit
   prices are copied into a sell book of S's own. A cost-plus rule cannot be copied (our contract cost is
   never a sub-distributor's to see) and is refused: re-price those customers first. An agency's customers
   below S keep their agent's plans. S keeps buying at its seller's plan it has now (or ``wholesale_plan``,
   a plan of its seller's, assigned to S from the switch).
2. Books. The customers S will sell to are every customer of its subtree whose seller becomes S (a dry run
   of ``accounts.chain.chain_of``): those under direct sub-distributors and those of agency ones below S,
   whose agent's seller bills them. Their money moves from their current seller's book (the operator's, or
   that of the reseller R above S) into S's with paired transactions, so nothing is lost and each book
   balances: in the old book C's paid credit becomes S's (Dr C's paid wallet / Cr S's paid wallet, through a
   clearing account of that book that returns to zero: S now holds that deposit with its own seller); in
   S's book, after the switch, C holds it with S (Dr DUE_TO_SELLER, what S has prepaid its seller / Cr C's
   paid wallet). What cannot move safely is refused, naming what to settle first: open or draft invoices,
   receivables, unbilled usage (it would be invoiced by nobody once S is the seller), granted credit and
   packs (lots with their own expiry, the seller's promotion), a negative balance, an agent's commission.
3. The switch: S's mode becomes resale and ``accounts.chain.chain_refresh`` makes S its customers' seller.

Moving back to *direct* is allowed only when S's book is empty (every account in it at zero).

The wallet service sees C's paid credit go to zero an instant before it comes back in S's book: a customer
with a zero floor gets a balance suspension opened and closed in the same transaction, and its "suspended"
and "restored" notifications go out after commit.

Everything is one database transaction and every posting carries an idempotency key derived from S, the
switch, the customer and the currency: a failure leaves nothing half-done, and a second run finds S already
moved.
``migration_plan`` only reads (the dry run); ``migration_apply`` writes.
"""

from copy import copy
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.chain import book_label, chain_of, chain_refresh
from accounts.models import Customer
from billing.invoicing.models import Invoice
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, LedgerAccount
from billing.usage.models import UsageEvent
from billing.wallets.credits import wallet_credit
from billing.wallets.debits import wallet_debit
from billing.wallets.models import Bucket
from catalog.errors import NoPlan
from catalog.models import PlanRule, PriceEntry, SellPlan
from catalog.selectors.pricing import plan_for_customer
from catalog.services.books import entry_tiers, entry_windows, price_entry_create
from catalog.services.plans import plan_assign, plan_create, plan_rule_create
from common.stored_text import stored

Mode = Customer.ChainMode
KIND_TRANSFER = "chain.migrate.transfer"


class MigrationRefused(Exception):
    """The migration cannot be done as asked; ``reasons`` says what to settle first."""

    def __init__(self, reasons: list[str]):
        super().__init__("\n".join(reasons))
        self.reasons = reasons


@dataclass
class Transfer:
    customer: Customer
    currency: str
    amount: Decimal  # paid credit C holds with its current seller, full precision


@dataclass
class MigrationPlan:
    """What moving ``sub`` to ``mode`` at ``at`` does; ``refusals`` non-empty means it cannot be applied."""

    sub: Customer
    mode: str
    at: datetime
    customers: list[Customer] = field(default_factory=list)
    plans: dict[int, SellPlan] = field(default_factory=dict)  # customer id → its current plan
    wholesale: SellPlan | None = None
    wholesale_assign: bool = False
    transfers: list[Transfer] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)

    def describe(self) -> list[str]:
        """The plan as lines for people (the dry run prints them)."""
        sub = self.sub
        lines = [
            _("%(sub)s (%(code)s): %(old)s → %(new)s at %(at)s.")
            % {"sub": sub.name, "code": sub.code, "old": sub.chain_mode, "new": self.mode, "at": self.at}
        ]
        if self.mode == Mode.RESALE:
            if self.wholesale is not None:
                if sub.seller_id is None:
                    buys = _("Buys at the operator's plan %(plan)s%(assigned)s.")
                else:
                    buys = _("Buys at its seller %(seller)s's plan %(plan)s%(assigned)s.")
                lines.append(
                    buys
                    % {
                        "seller": book_label(sub.seller_id),
                        "plan": self.wholesale.name,
                        "assigned": _(" (assigned from the switch)") if self.wholesale_assign else "",
                    }
                )
            for plan in {p.pk: p for p in self.plans.values()}.values():
                names = ", ".join(c.code for c in self.customers if self.plans.get(c.pk) == plan)
                lines.append(
                    _("Retail plan %(plan)s (a copy owned by %(sub)s) for: %(customers)s.")
                    % {"plan": plan.name, "sub": sub.code, "customers": names}
                )
            for t in self.transfers:
                lines.append(
                    _("Move %(customer)s's paid credit %(amount)s %(currency)s into %(sub)s's book.")
                    % {
                        "customer": t.customer.code,
                        "amount": t.amount,
                        "currency": t.currency,
                        "sub": sub.code,
                    }
                )
            lines.append(
                _("%(count)s customers will be sold by %(sub)s.")
                % {"count": len(self.customers), "sub": sub.code}
            )
        lines += [_("Refused: %(reason)s") % {"reason": r} for r in self.refusals]
        return lines


def _future_sellers(sub: Customer) -> list[Customer]:
    """The customers of ``sub``'s subtree that ``sub`` will sell to once it is a reseller: a dry run of
    ``accounts.chain.chain_of`` over the subtree with ``sub`` resale. That is everyone reached through direct
    sub-distributors *and* the customers of agency ones below (their agent's seller bills them, which will
    be ``sub``); a resale one below keeps its own. Each is returned with ``future_owner``, the id of whose
    plans will price it (``sub``, or an agency below it)."""
    subtree = list(
        Customer.objects.filter(path__startswith=sub.path).exclude(pk=sub.pk).order_by("depth", "pk")
    )
    future = copy(sub)
    future.chain_mode = Mode.RESALE
    parents = {sub.pk: future}
    customers = []
    for customer in subtree:
        seller_id, owner_id = chain_of(parents[customer.parent_id])
        shadow = copy(customer)
        shadow.seller_id, shadow.price_owner_id = seller_id, owner_id
        parents[customer.pk] = shadow
        if seller_id == sub.pk:
            customer.future_owner = owner_id
            customers.append(customer)
    return customers


def _plan_refusals(plan: SellPlan, sub: Customer) -> list[str]:
    rules = PlanRule.objects.filter(plan=plan, method=PlanRule.Method.COST_MARKUP)
    if rules.exists():
        return [
            _(
                "Plan %(plan)s prices from our contract cost, which a sub-distributor's plan may not: give "
                "its customers a list-discount or explicit plan first."
            )
            % {"plan": plan.name}
        ]
    # A reseller's cost-plus plan marks up what its owner buys at; S's copy would mark up what S buys at
    # (the reseller's own price to S), so the customers would pay more than they did.
    if PlanRule.objects.filter(plan=plan, method=PlanRule.Method.WHOLESALE_MARKUP).exists():
        return [
            _(
                "Plan %(plan)s marks up what %(owner)s buys at, which is not what %(sub)s will buy at: give "
                "its customers a list-discount or explicit plan first."
            )
            % {"plan": plan.name, "owner": book_label(plan.owner_id), "sub": sub.code}
        ]
    return []


def _money_refusals(customer: Customer) -> tuple[list[Transfer], list[str]]:
    """The customer's balances in its current seller's book (the operator's, or the reseller's above the
    sub-distributor): paid credit to move, and what blocks the move."""
    transfers, refusals = [], []
    open_invoices = Invoice.objects.filter(customer=customer).exclude(
        status__in=[Invoice.Status.PAID, Invoice.Status.VOID]
    )
    if open_invoices.exists():
        numbers = ", ".join(i.number or f"#{i.pk}" for i in open_invoices[:5])
        refusals.append(
            _("%(customer)s has open or draft invoices (%(numbers)s): issue and settle them first.")
            % {"customer": customer.code, "numbers": numbers}
        )
    accounts = (
        LedgerAccount.objects.filter(customer=customer, book_id=customer.seller_id)
        .exclude(balance=0)
        .order_by("code")
    )
    for account in accounts:
        balance = -account.balance  # what the operator owes the customer (negative: what it owes us)
        if account.kind == AccountKind.WALLET_PAID and balance > 0:
            transfers.append(Transfer(customer=customer, currency=account.currency, amount=balance))
            continue
        reason = {
            AccountKind.WALLET_PAID: _("a negative paid balance of %(amount)s %(currency)s: top it up first"),
            AccountKind.WALLET_GRANTED: _(
                "granted credit of %(amount)s %(currency)s: let it be used or expire, or remove it"
            ),
            AccountKind.WALLET_PACK: _(
                "pack credit of %(amount)s %(currency)s: let it be used or expire first"
            ),
            AccountKind.RECEIVABLE: _(
                "a receivable balance of %(amount)s %(currency)s: settle or apply it first"
            ),
            AccountKind.UNBILLED_RECEIVABLE: _(
                "unbilled usage of %(amount)s %(currency)s: close the period and settle its invoice first"
            ),
            AccountKind.COMMISSION_PAYABLE: _(
                "commission of %(amount)s %(currency)s owed to it: settle its commission statement first"
            ),
        }.get(account.kind, _("a balance of %(amount)s %(currency)s on %(account)s"))
        refusals.append(
            _("%(customer)s has %(what)s.")
            % {
                "customer": customer.code,
                "what": reason
                % {"amount": abs(balance), "currency": account.currency, "account": account.code},
            }
        )
    return transfers, refusals


def migration_plan(
    *, sub: Customer, mode: str, at: datetime | None = None, wholesale_plan: str = ""
) -> MigrationPlan:
    """Work out what moving ``sub`` to ``mode`` would do, and what refuses it; writes nothing."""
    at = at or timezone.now()
    plan = MigrationPlan(sub=sub, mode=mode, at=at)
    if not sub.is_sub_distributor:
        plan.refusals.append(_("%(sub)s is not a sub-distributor.") % {"sub": sub.code})
        return plan
    if mode not in (Mode.RESALE, Mode.DIRECT):
        plan.refusals.append(_("Choose resale or direct."))
        return plan
    if sub.chain_mode == mode:
        plan.refusals.append(
            _("%(sub)s is already %(mode)s: nothing to do.") % {"sub": sub.code, "mode": mode}
        )
        return plan
    if sub.chain_mode == Mode.AGENCY:
        plan.refusals.append(
            _("%(sub)s is an agency: settle its commission and change its mode by hand.") % {"sub": sub.code}
        )
        return plan
    if mode == Mode.DIRECT:
        left = LedgerAccount.objects.filter(book=sub).exclude(balance=0).order_by("code")
        if left.exists():
            codes = ", ".join(f"{a.code} {-a.balance}" for a in left[:10])
            plan.refusals.append(
                _("%(sub)s's book is not empty (%(accounts)s): settle its customers with it first.")
                % {"sub": sub.code, "accounts": codes}
            )
        plan.customers = list(Customer.objects.filter(seller=sub))
        return plan
    plan.customers = _future_sellers(sub)
    ids = [sub.pk] + [c.pk for c in plan.customers]
    latest = UsageEvent.objects.filter(customer_id__in=ids).aggregate(last=Max("occurred_at"))["last"]
    if latest is not None and latest >= at:
        plan.refusals.append(
            _("Usage up to %(latest)s is already charged the old way: switch after it.") % {"latest": latest}
        )
    if at > timezone.now():
        plan.refusals.append(
            _("The switch cannot be in the future: it applies to every event rated after it.")
        )
    if wholesale_plan:
        # S buys from its own seller: the operator, or the reseller above it.
        plan.wholesale = SellPlan.objects.filter(name=wholesale_plan, owner_id=sub.seller_id).first()
        plan.wholesale_assign = True
        if plan.wholesale is None:
            plan.refusals.append(
                _("%(seller)s has no plan named %(plan)s.")
                % {"seller": book_label(sub.seller_id), "plan": wholesale_plan}
            )
    else:
        try:
            plan.wholesale, _source = plan_for_customer(sub, at)
        except NoPlan as exc:
            plan.refusals.append(str(exc))
    for customer in plan.customers:
        transfers, refusals = _money_refusals(customer)
        plan.transfers += transfers
        plan.refusals += refusals
        if customer.future_owner != sub.pk:
            continue  # an agency's customer below S: its agent's plans price it, before and after
        try:
            current, _source = plan_for_customer(customer, at)
        except NoPlan as exc:
            plan.refusals.append(str(exc))
            continue
        plan.plans[customer.pk] = current
    for each in {p.pk: p for p in plan.plans.values()}.values():
        plan.refusals += _plan_refusals(each, sub)
    return plan


def _plan_copy(source: SellPlan, owner: Customer, at: datetime) -> SellPlan:
    """``source`` as a plan of ``owner``, pricing the same from ``at``: list discounts as they are, explicit
    prices copied into a sell book of ``owner``'s (``plan_rule_create`` makes it)."""
    existing = SellPlan.objects.filter(owner=owner, name=source.name).first()
    if existing is not None:
        return existing
    copy = plan_create(
        name=source.name,
        currency=source.currency,
        margin_floor=source.margin_floor,
        description=source.description,
        owner=owner,
    )
    in_force_later = Q(effective_to__isnull=True) | Q(effective_to__gt=at)
    for rule in PlanRule.objects.filter(in_force_later, plan=source).order_by("effective_from", "pk"):
        created = plan_rule_create(
            plan=copy,
            method=rule.method,
            model=rule.model,
            vendor=rule.vendor,
            markup=rule.markup,
            discount=rule.discount,
            source_book=rule.source_book if rule.method == PlanRule.Method.LIST_DISCOUNT else None,
            effective_from=max(rule.effective_from, at),
            effective_to=rule.effective_to,
        )
        if rule.method == PlanRule.Method.EXPLICIT:
            _book_copy(rule, created.source_book, at)
    return copy


def _book_copy(rule: PlanRule, book, at: datetime) -> None:
    """Copy the explicit prices ``rule`` reads (in force from ``at`` on) into ``book``."""
    entries = PriceEntry.objects.filter(book=rule.source_book).prefetch_related("tiers")
    if rule.model_id:
        entries = entries.filter(model_id=rule.model_id)
    elif rule.vendor_id:
        entries = entries.filter(model__vendor_id=rule.vendor_id)
    for entry in entries.exclude(effective_to__lte=at).order_by("model_id", "effective_from"):
        # Every part of the price: standard tiers, service tiers and time-of-day windows.
        standard, service_tiers = entry_tiers(entry)
        price_entry_create(
            book=book,
            model=entry.model,
            effective_from=max(entry.effective_from, at),
            effective_to=entry.effective_to,
            tiers=standard,
            service_tiers=service_tiers,
            windows=entry_windows(entry),
            request_fee=entry.request_fee,
            batch_multiplier=entry.batch_multiplier,
            source=f"chain_migrate from {rule.source_book.name}"[:200],
        )


def _transfer(plan: MigrationPlan, t: Transfer, *, after_switch: bool, actor) -> None:
    sub, customer = plan.sub, t.customer
    # Keyed by the switch too: a sub-distributor moved back to direct may move to resale again later.
    key = f"chain_migrate:{sub.pk}:{plan.at:%Y%m%dT%H%M%S}:{customer.pk}:{t.currency}"
    memo = f"{customer.name}'s prepaid credit moves to {sub.name}'s book (chain migration)"
    memo_message = stored("chain.memo.migration", customer=customer.name, sub=sub.name)
    if not after_switch:
        # C's current seller's book (the operator's, or the reseller R's above S): the deposit C held there
        # becomes S's own, held with that same seller (S owes it to C in its own book). The wallet service
        # moves wallet money only to and from company accounts: it passes through a clearing sub-account of
        # manual adjustments in that book, back at zero within the same database transaction.
        clearing = account_get(
            kind=AccountKind.MANUAL_ADJUSTMENT,
            currency=t.currency,
            reference=f"chain-migrate-{sub.pk}",
            book=customer.seller,
        )
        wallet_debit(
            customer=customer,
            currency=t.currency,
            amount=t.amount,
            buckets=[Bucket.PAID],
            target_account=clearing,
            idempotency_key=f"{key}:operator:out",
            kind=KIND_TRANSFER,
            memo=memo,
            memo_message=memo_message,
            source=f"chain:{sub.pk}",
            allow_below_floor=True,
            actor=actor,
        )
        wallet_credit(
            customer=sub,
            currency=t.currency,
            amount=t.amount,
            bucket=Bucket.PAID,
            source_account=clearing,
            idempotency_key=f"{key}:operator:in",
            kind=KIND_TRANSFER,
            memo=memo,
            memo_message=memo_message,
            source=f"chain:{sub.pk}",
            actor=actor,
        )
        return
    wallet_credit(
        customer=customer,
        currency=t.currency,
        amount=t.amount,
        bucket=Bucket.PAID,
        source_account=account_get(kind=AccountKind.DUE_TO_SELLER, currency=t.currency, book=sub),
        idempotency_key=f"{key}:book",
        kind=KIND_TRANSFER,
        memo=memo,
        memo_message=memo_message,
        source=f"chain:{sub.pk}",
        actor=actor,
    )


def migration_apply(plan: MigrationPlan, *, actor=None) -> None:
    """Do what ``plan`` says; raise ``MigrationRefused`` if it was refused."""
    if plan.refusals:
        raise MigrationRefused(plan.refusals)
    sub = plan.sub
    with transaction.atomic():
        Customer.objects.select_for_update().get(pk=sub.pk)
        if plan.mode == Mode.RESALE:
            for t in plan.transfers:
                _transfer(plan, t, after_switch=False, actor=actor)
            if plan.wholesale_assign:
                plan_assign(
                    customer=sub,
                    plan=plan.wholesale,
                    effective_from=plan.at,
                    note="chain_migrate",
                    created_by=actor,
                )
        Customer.objects.filter(pk=sub.pk).update(chain_mode=plan.mode)
        sub.chain_mode = plan.mode
        chain_refresh(sub)
        if plan.mode != Mode.RESALE:
            return
        copies: dict[int, SellPlan] = {}
        for customer in plan.customers:
            if customer.pk not in plan.plans:
                continue  # priced by an agency below S, whose plans stay
            customer.refresh_from_db(fields=["seller", "price_owner"])
            source = plan.plans[customer.pk]
            if source.pk not in copies:
                copies[source.pk] = _plan_copy(source, sub, plan.at)
            plan_assign(
                customer=customer,
                plan=copies[source.pk],
                effective_from=plan.at,
                note="chain_migrate",
                created_by=actor,
            )
        for t in plan.transfers:
            t.customer.refresh_from_db(fields=["seller", "price_owner"])
            _transfer(plan, t, after_switch=True, actor=actor)
