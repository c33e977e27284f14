"""What a seller changes on a resale sub-distributor S's wallet without cash reaches S's own book
(``wallets.mirror.seller_book_mirror``, issue #17): a grant, a redemption code, a pack or subscription fee,
an expired grant. After each, S's DUE_TO_SELLER is minus S's net balance at its seller, exactly
(``ledger.verify.reseller_position_problems``). Prices as in ``tests.billing.usage.test_chain_hops``: a
request costs S 6.00 at wholesale, its customer C 7.50 at retail.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import StaffRole
from billing.allowances.charges import pack_charge, subscription_month_charge
from billing.ledger.models import AccountKind, JournalTransaction
from billing.ledger.verify import reseller_position_problems
from billing.payments.redemption import redemption_batch_create, redemption_code_redeem
from billing.usage.services import usage_batch_ingest
from billing.wallets.expiry import wallet_lots_expire_due
from billing.wallets.models import Wallet
from billing.wallets.selectors import wallet_balance
from catalog.models import AllowanceUnit, FreeGrant
from tests.billing.factories import staff
from tests.billing.usage import conftest as usage_fixtures
from tests.billing.usage.factories import AT
from tests.billing.usage.test_allowances import pack_buy, subscribe
from tests.billing.usage.test_chain_hops import balance, use
from tests.billing.usage.test_chain_mirror import paid_top_up, tree

pytestmark = pytest.mark.django_db
K = AccountKind
source, model = usage_fixtures.source, usage_fixtures.model  # a gateway source; a priced model and plans


def grant_to(s, amount: str, *, expires_at) -> FreeGrant:
    return FreeGrant.objects.create(
        customer=s,
        unit=AllowanceUnit.CREDIT,
        amount=Decimal(amount),
        currency="CNY",
        granted_at=AT - timedelta(days=1),
        expires_at=expires_at,
        reason="Launch promotion",
    )


def test_a_grant_pays_for_a_resellers_purchase_and_its_book_owes_nothing(source, model):
    """S, prepaid with only a 10.00 grant, buys its customer's 6.00 request: its book holds 4.00 prepaid
    with its seller (it owed 6.00 before the mirror), the grant a discount on its cost."""
    s, _c = tree(terms="prepaid")
    grant_to(s, "10", expires_at=AT + timedelta(days=60))

    usage_batch_ingest(source=source, records=[use("c1", "key-c")])  # credits the grant, then debits it

    assert wallet_balance(wallet=Wallet.objects.get(customer=s, currency="CNY")).granted == Decimal("4")
    assert balance(K.DUE_TO_SELLER, book=s) == Decimal("4")
    assert balance(K.COST_OF_TOKENS, book=s) == Decimal("6") - Decimal("10")
    assert reseller_position_problems(s.pk) == []


def test_an_expired_grant_of_a_reseller_is_owed_again_in_its_book(model):
    s, _c = tree(terms="prepaid")
    grant_to(s, "10", expires_at=timezone.now() - timedelta(hours=1))

    wallet_lots_expire_due()  # credits the grant, then takes it to breakage
    wallet_lots_expire_due()

    assert balance(K.BREAKAGE) == Decimal("-10")
    assert balance(K.DUE_TO_SELLER, book=s) == 0
    assert JournalTransaction.objects.filter(book=s, kind="chain.seller_mirror").count() == 2
    assert reseller_position_problems(s.pk) == []


def test_a_redemption_code_redeemed_by_a_reseller_is_a_discount_in_its_book(model):
    s, _c = tree(terms="prepaid")
    finance = staff(StaffRole.FINANCE)
    batch = redemption_batch_create(
        user=finance,
        name="Partners",
        currency="CNY",
        value=Decimal("20"),
        count=1,
        expires_at=timezone.now() + timedelta(days=30),
    )

    redemption_code_redeem(user=finance, customer=s, code=batch.codes.get().code)

    assert balance(K.DUE_TO_SELLER, book=s) == Decimal("20")
    assert balance(K.COST_OF_TOKENS, book=s) == Decimal("-20")
    assert reseller_position_problems(s.pk) == []


def test_pack_and_subscription_fees_a_reseller_pays_from_its_wallet_are_its_cost(model):
    """S paid 100.00 by bank transfer (mirrored), then a pack (1.00) and a month of a subscription (40.00)
    from that credit: its book holds 59.00 prepaid and 41.00 of cost; replays post nothing more."""
    s, _c = tree(terms="prepaid")
    paid_top_up(s, "100")
    purchase = pack_buy(s, 1_000_000)
    subscription = subscribe(s, 1_000_000)

    for _ in range(2):
        pack_charge(purchase=purchase, stop_at_floor=True)
        subscription_month_charge(subscription=subscription, month=date(2026, 5, 1), stop_at_floor=True)

    assert balance(K.DUE_TO_SELLER, book=s) == Decimal("59")
    assert balance(K.COST_OF_TOKENS, book=s) == Decimal("41")
    assert reseller_position_problems(s.pk) == []
