"""The general ledger: accounts, journal transactions and their entries.

Sign convention: an entry's ``amount`` is positive for a debit and negative for a credit, so every
transaction's entries sum to zero per currency and an account's balance is the plain sum of its entries
(debit-positive). Credit-normal accounts (liabilities, income) therefore carry negative balances; pages
flip the sign for display with :attr:`LedgerAccount.display_balance`.

Books: every account and every transaction belongs to one book, the operator's (``book`` None) or a resale
sub-distributor's (``accounts.chain``). A transaction's entries are all in its book, so each book balances
on its own; a sale that crosses a hop is two transactions, one in each book.

Be extremely careful changing these tables: PostgreSQL triggers (migrations ``0003_ledger_triggers`` and
``0034_ledger_books``) refuse any UPDATE or DELETE of transactions and entries, any transaction whose
entries do not sum to zero per currency, and any entry on an account of another book than its
transaction's.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.ledger.exceptions import AppendOnlyError
from billing.money import LEDGER_FIELD
from catalog.models import Vendor


class AccountKind(models.TextChoices):
    """The chart of accounts. Each kind exists once per currency (and per customer or vendor where keyed)."""

    CASH_BANK = "cash_bank", _("Cash at bank")
    STRIPE_CLEARING = "stripe_clearing", _("Stripe clearing")
    WALLET_PAID = "wallet_paid", _("Customer deposits: paid credit")
    WALLET_GRANTED = "wallet_granted", _("Customer deposits: granted credit")
    WALLET_PACK = "wallet_pack", _("Customer deposits: packs")
    RECEIVABLE = "receivable", _("Accounts receivable")
    UNBILLED_RECEIVABLE = "unbilled_receivable", _("Unbilled receivables")
    REVENUE_USAGE = "revenue_usage", _("Revenue: usage")
    REVENUE_SUBSCRIPTIONS = "revenue_subscriptions", _("Revenue: subscriptions")
    REVENUE_SERVICES = "revenue_services", _("Revenue: services")
    COST_OF_TOKENS = "cost_of_tokens", _("Cost of tokens")
    UPSTREAM_PREPAID = "upstream_prepaid", _("Upstream prepaid credit")
    PAYABLE = "payable", _("Accounts payable")
    TAX_PAYABLE = "tax_payable", _("Tax payable")
    ROUNDING = "rounding", _("Rounding differences")
    FX_GAIN_LOSS = "fx_gain_loss", _("FX gain/loss")
    # Month-end revaluation of foreign-currency balances (billing.fx): kept in the base currency, one
    # adjustment account per kind revalued, against unrealised gain/loss; reversed on the 1st.
    FX_UNREALISED = "fx_unrealised", _("Unrealised FX gain/loss")
    FX_REVALUATION_RECEIVABLE = "fx_reval_receivable", _("FX revaluation: receivables")
    FX_REVALUATION_DEPOSITS = "fx_reval_deposits", _("FX revaluation: customer deposits")
    FX_REVALUATION_PAYABLE = "fx_reval_payable", _("FX revaluation: payables")
    PROMOTIONAL_CREDIT = "promotional_credit", _("Promotional credit expense")
    BREAKAGE = "breakage", _("Breakage income")
    BAD_DEBT_EXPENSE = "bad_debt_expense", _("Bad-debt expense")
    ALLOWANCE_DOUBTFUL = "allowance_doubtful", _("Allowance for doubtful debts")
    MANUAL_ADJUSTMENT = "manual_adjustment", _("Manual adjustments")
    PAYMENT_FEES = "payment_fees", _("Payment processing fees")
    # The distribution chain (accounts.chain): in a resale sub-distributor's book, what it owes its own
    # seller for usage bought at wholesale (a debit balance: it prepaid more than it used); in the book that
    # bills an agency sub-distributor's customers, the commission earned by that sub-distributor.
    DUE_TO_SELLER = "due_to_seller", _("Due to our seller")
    COMMISSION_EXPENSE = "commission_expense", _("Agency commission expense")
    COMMISSION_PAYABLE = "commission_payable", _("Agency commission payable")
    # The upstream side (billing.upstream), per channel (``reference`` "channel-<id>", with its vendor): a
    # postpaid channel's consumption accrues until the vendor invoices it; an upstream pack's unused credit
    # is expensed when it expires; a committed-spend shortfall is accrued as an expense.
    UPSTREAM_ACCRUED = "upstream_accrued", _("Upstream cost accrued, not yet invoiced")
    UPSTREAM_EXPIRED = "upstream_expired", _("Expired upstream credit")
    COMMIT_SHORTFALL = "commit_shortfall", _("Committed-spend shortfall")
    # Bad debt (billing.receivables.writeoffs): money paid on a receivable written off earlier is income
    # of its own, not a reversal of the impairment expense of a closed period.
    BAD_DEBT_RECOVERED = "bad_debt_recovered", _("Bad debts recovered")
    # Opening balances (billing.opening): what a distributor moving in brings along — open receivables,
    # customer deposits, upstream prepaid credit — is posted against this equity account.
    OPENING_BALANCE_EQUITY = "opening_equity", _("Opening balance equity")


class AccountType(models.TextChoices):
    ASSET = "asset", _("Asset")
    LIABILITY = "liability", _("Liability")
    EQUITY = "equity", _("Equity")
    INCOME = "income", _("Income")
    EXPENSE = "expense", _("Expense")


class LedgerAccount(models.Model):
    """One account of the chart, in one currency; create it with ``billing.ledger.accounts.account_get``."""

    code = models.CharField(
        _("code"),
        max_length=120,
        unique=True,
        editable=False,
        help_text=_("Derived from kind, currency and key, e.g. wallet_paid:CNY:customer=42."),
    )
    kind = models.CharField(_("kind"), max_length=32, choices=AccountKind.choices)
    type = models.CharField(_("type"), max_length=12, choices=AccountType.choices)
    currency = models.CharField(_("currency"), max_length=3, help_text=_("ISO 4217 code."))
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_accounts"
    )
    vendor = models.ForeignKey(
        Vendor, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_accounts"
    )
    book = models.ForeignKey(
        Customer,
        verbose_name=_("book"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="book_accounts",
        help_text=_(
            "Whose books the account is kept in: a resale sub-distributor's, or none for the operator's."
        ),
    )
    reference = models.CharField(
        _("reference"),
        max_length=60,
        blank=True,
        help_text=_("Optional further key, e.g. a bank account or (later) a vendor contract."),
    )
    balance = models.DecimalField(
        _("balance"),
        **LEDGER_FIELD,
        default=Decimal("0"),
        help_text=_("Cached sum of entries, debit-positive, full precision, in the account's currency."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "billing_ledger_account"
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        ordering = ["code"]
        indexes = [models.Index(fields=["kind", "currency"], name="ledger_account_kind_ccy")]
        constraints = [
            # A customer's own accounts are kept by whoever sells to it (accounts.chain): checked here too,
            # not only in account_get, because the trigger that balances each book relies on it.
            models.CheckConstraint(
                condition=~models.Q(book=models.F("customer")), name="ledger_account_not_own_book"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        label = str(AccountKind(self.kind).label)
        who = self.customer or self.vendor
        parts = [label, self.currency]
        if who is not None:
            parts.append(str(who))
        if self.reference:
            parts.append(self.reference)
        return " · ".join(parts)

    @property
    def is_credit_normal(self) -> bool:
        return self.type in {AccountType.LIABILITY, AccountType.EQUITY, AccountType.INCOME} or (
            self.kind == AccountKind.ALLOWANCE_DOUBTFUL
        )

    @property
    def display_balance(self) -> Decimal:
        """The balance on the account's normal side (a customer's deposit shows positive)."""
        return -self.balance if self.is_credit_normal else self.balance


class AppendOnlyQuerySet(models.QuerySet):
    """Refuse bulk updates and deletes so append-only holds on SQLite too (PostgreSQL adds triggers)."""

    def update(self, **kwargs):
        raise AppendOnlyError(_("The journal is append-only; post a reversal instead."))

    def delete(self):
        raise AppendOnlyError(_("The journal is append-only; post a reversal instead."))

    _raw_delete = delete


class JournalTransaction(models.Model):
    """One financial event. Immutable once posted; corrections are new reversal transactions."""

    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    request_hash = models.CharField(
        max_length=64, editable=False, help_text=_("SHA-256 of the request that created it.")
    )
    kind = models.CharField(
        _("kind"), max_length=40, db_index=True, help_text=_("Dotted event name, e.g. wallet.topup.bank.")
    )
    effective_date = models.DateField(_("effective date"), db_index=True)
    memo = models.CharField(_("memo"), max_length=500, blank=True)
    memo_message = models.JSONField(
        _("memo message"),
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "The memo as a message key and its parameters (common.stored_text), for the reader's language."
        ),
    )
    source = models.CharField(
        _("source"), max_length=200, blank=True, help_text=_("Where it came from, e.g. stripe:evt_123.")
    )
    book = models.ForeignKey(
        Customer,
        verbose_name=_("book"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="book_transactions",
        help_text=_("The book every entry is in (the database refuses any other): none is the operator's."),
    )
    reverses = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
        verbose_name=_("reverses"),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("posted by"),
    )
    posted_at = models.DateTimeField(_("posted"), auto_now_add=True, db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        db_table = "billing_ledger_transaction"
        verbose_name = _("journal transaction")
        verbose_name_plural = _("journal transactions")
        ordering = ["-posted_at", "-id"]
        indexes = [models.Index(fields=["book", "effective_date"], name="ledger_txn_book_date")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.effective_date}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError(_("Posted transactions are append-only; post a reversal instead."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(_("Posted transactions are append-only; post a reversal instead."))


class JournalEntry(models.Model):
    """One leg of a transaction: a signed amount (debit positive) on one account, in its currency."""

    transaction = models.ForeignKey(
        JournalTransaction, on_delete=models.PROTECT, related_name="entries", verbose_name=_("transaction")
    )
    account = models.ForeignKey(
        LedgerAccount, on_delete=models.PROTECT, related_name="entries", verbose_name=_("account")
    )
    amount = models.DecimalField(
        _("amount"),
        **LEDGER_FIELD,
        help_text=_("Debit positive, credit negative; full precision, not rounded; in ``currency``."),
    )
    currency = models.CharField(_("currency"), max_length=3, help_text=_("ISO 4217; the account's currency."))
    balance_after = models.DecimalField(
        _("balance after"),
        **LEDGER_FIELD,
        help_text=_("The account's balance right after this entry (debit-positive), for running balances."),
    )

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        db_table = "billing_ledger_entry"
        verbose_name = _("journal entry")
        verbose_name_plural = _("journal entries")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="ledger_entry_amount_nonzero")
        ]

    def __str__(self) -> str:
        return f"{self.account.code} {self.amount} {self.currency}"

    def save(self, *args, **kwargs):
        # Guard, not business logic: an existing entry must never be rewritten.
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError(_("Journal entries are append-only; post a reversal instead."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(_("Journal entries are append-only; post a reversal instead."))
