"""Demo wallet history for the prepaid demo customers. Idempotent: every posting has a fixed key."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import Customer, User
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction
from billing.payments.bank_transfers import bank_transfer_approve, bank_transfer_record
from billing.payments.models import BankTransfer
from billing.terms.models import BillingTerms
from billing.wallets.credits import wallet_credit
from billing.wallets.expiry import wallet_lots_expire_due
from billing.wallets.locking import wallet_get_or_create
from common.stored_text import stored

# Who records and who approves the demo's bank lines (demo.accounts).
FINANCE, ADMIN = "finance@distributor.example.com", "admin@distributor.example.com"

# (customer code, top-ups, grant) in the customer's currency. What they spend is their demo usage
# (``demo.usage``), charged through the real pipeline: a wallet's "API usage" is its usage page's total.
WALLETS = [
    ("hangzhou-edu", ["50", "30"], "5"),
    ("nanjing-legal", ["20"], "2"),
    ("indie-dev-li", ["3", "2"], "0.5"),
    ("berlin-translate", ["8"], "0.25"),
    ("tokyo-games", ["15", "5"], "0.5"),
    ("kl-commerce", ["4"], "0.2"),
    ("coding-club", ["10"], "3"),
    # Topped up less than its traffic costs: its usage spends it to the floor, so it shows a customer
    # suspended for balance.
    ("chengdu-cs", ["1"], None),
]


def load() -> list[tuple[str, str]]:
    """Give prepaid demo customers top-ups by bank transfer and a grant; return no logins."""
    now = timezone.now()
    for code, topups, grant in WALLETS:
        customer = Customer.objects.filter(code=code, billing_terms__mode=BillingTerms.Mode.PREPAID).first()
        if customer is None:
            continue
        currency = customer.billing_terms.currency
        wallet_get_or_create(customer=customer, currency=currency)
        for i, amount in enumerate(topups, start=1):
            _bank_topup(
                customer, currency, Decimal(amount), f"DEMO-{code.upper()}-{i}", now - timedelta(days=40 - i)
            )
        grant_key = f"demo:{code}:grant"
        # The expiry is relative to the first load; later loads must not re-post it with another date.
        if grant and not JournalTransaction.objects.filter(idempotency_key=grant_key).exists():
            wallet_credit(
                customer=customer,
                currency=currency,
                amount=Decimal(grant),
                bucket="granted",
                idempotency_key=grant_key,
                source_account=account_get(
                    kind=AccountKind.PROMOTIONAL_CREDIT, currency=currency, book=customer.seller
                ),
                kind="wallet.grant",
                memo="Welcome credit",
                memo_message=stored("wallets.memo.welcome_credit"),
                source="demo:grant",
                expires_at=(now + timedelta(days=60)).replace(microsecond=0, second=0, minute=0),
            )
    wallet_lots_expire_due(now=now)
    return []


def _bank_topup(customer: Customer, currency: str, amount: Decimal, reference: str, received) -> None:
    """A top-up as finance takes one: the bank line recorded by finance and approved by the administrator
    (four eyes), so it is on the bank-transfer list and the search finds its reference."""
    if BankTransfer.objects.filter(customer=customer, reference=reference).exists():
        return
    transfer = bank_transfer_record(
        recorder=User.objects.get(email=FINANCE),
        customer=customer,
        currency=currency,
        amount=amount,
        reference=reference,
        value_date=received.date(),
        note="Demo top-up",
    )
    if transfer.status == BankTransfer.Status.PENDING:
        bank_transfer_approve(transfer=transfer, approver=User.objects.get(email=ADMIN))
