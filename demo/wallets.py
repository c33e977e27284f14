"""Demo wallet history for the prepaid demo customers. Idempotent: every posting has a fixed key."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import Customer
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction
from billing.terms.models import BillingTerms
from billing.wallets.credits import wallet_credit
from billing.wallets.expiry import wallet_lots_expire_due
from billing.wallets.locking import wallet_get_or_create
from common.stored_text import stored

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
        bank = account_get(kind=AccountKind.CASH_BANK, currency=currency, book=customer.seller)
        for i, amount in enumerate(topups, start=1):
            wallet_credit(
                customer=customer,
                currency=currency,
                amount=Decimal(amount),
                bucket="paid",
                idempotency_key=f"demo:{code}:topup:{i}",
                source_account=bank,
                kind="wallet.topup.bank",
                memo=f"Bank transfer DEMO-{code.upper()}-{i}",
                memo_message=stored("payments.memo.bank_transfer", reference=f"DEMO-{code.upper()}-{i}"),
                source=f"demo:bank:{code}:{i}",
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
