"""Demo wallet history for the prepaid demo customers. Idempotent: every posting has a fixed key."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import Customer
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction
from billing.terms.models import BillingTerms
from billing.wallets.credits import wallet_credit
from billing.wallets.debits import wallet_debit
from billing.wallets.expiry import wallet_lots_expire_due
from billing.wallets.locking import wallet_get_or_create

# (customer code, top-ups, grant, usage debits) in the customer's currency.
WALLETS = [
    ("hangzhou-edu", ["5000", "3000"], "500", ["820.35", "1210.4", "96.000125"]),
    ("nanjing-legal", ["2000"], "200", ["150.5", "42.25"]),
    ("indie-dev-li", ["300", "200"], "50", ["75.12", "130.9"]),
    ("berlin-translate", ["800"], "25", ["120.75"]),
    ("tokyo-games", ["1500", "500"], "50", ["640.2", "85.333333"]),
    ("kl-commerce", ["400"], "20", ["55.5"]),
    ("coding-club", ["100"], "30", ["40.25", "12.5"]),
    # Spent down to its floor: shows a customer suspended for balance.
    ("chengdu-cs", ["300"], None, ["300"]),
]


def load() -> list[tuple[str, str]]:
    """Give prepaid demo customers top-ups by bank transfer, a grant and some usage; return no logins."""
    now = timezone.now()
    for code, topups, grant, usages in WALLETS:
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
                memo=f"Bank transfer received (demo ref DEMO-{code.upper()}-{i})",
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
                source="demo:grant",
                expires_at=(now + timedelta(days=60)).replace(microsecond=0, second=0, minute=0),
            )
        revenue = account_get(kind=AccountKind.REVENUE_USAGE, currency=currency, book=customer.seller)
        for i, amount in enumerate(usages, start=1):
            wallet_debit(
                customer=customer,
                currency=currency,
                amount=Decimal(amount),
                idempotency_key=f"demo:{code}:usage:{i}",
                target_account=revenue,
                kind="usage.prepaid",
                memo=f"API usage, demo batch {i}",
                source=f"demo:usage:{code}:{i}",
            )
    wallet_lots_expire_due(now=now)
    return []
