from decimal import Decimal

from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction
from billing.payments.cards import card_topup_start
from billing.wallets.models import Wallet
from billing.wallets.selectors import wallet_balance


def balance(customer, currency: str = "CNY"):
    wallet = Wallet.objects.filter(customer=customer, currency=currency).first()
    if wallet is None:
        return Decimal("0"), Decimal("0")
    b = wallet_balance(wallet=wallet)
    return b.paid, b.granted


def clearing(currency: str = "CNY") -> Decimal:
    return account_get(kind=AccountKind.STRIPE_CLEARING, currency=currency).balance


def fee_expense(currency: str = "CNY") -> Decimal:
    """The card/payment processing fees we bear (expense, debit-positive)."""
    return account_get(kind=AccountKind.PAYMENT_FEES, currency=currency).balance


def topup_postings():
    return JournalTransaction.objects.filter(kind__startswith="wallet.topup")


def card_topup(owner, customer, amount: str = "500"):
    """A CNY card top-up started through Checkout (Stripe's HTTP answered by recordings)."""
    return card_topup_start(
        user=owner,
        customer=customer,
        amount=Decimal(amount),
        currency="CNY",
        success_url="http://testserver/portal/wallet/top-up/success/?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="http://testserver/portal/wallet/top-up/cancel/?session_id={CHECKOUT_SESSION_ID}",
    )
