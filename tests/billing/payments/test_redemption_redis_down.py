"""Redis down: redeeming a code fails closed. Its brute-force throttle counts failures in the cache; without
the cache a guess could be neither counted nor refused, so every attempt gets a clear "try again shortly"
and nothing is credited, instead of a 500 or an unthrottled guessing window."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from billing.payments.models import RedemptionCode
from billing.payments.redemption import redemption_batch_create, redemption_code_redeem
from common.cache_backend import SignInFailOpenRedisCache
from tests.billing.payments.helpers import topup_postings
from tests.common.redis_down import cache_down  # noqa: F401

pytestmark = pytest.mark.django_db

UNAVAILABLE = "Redemption is unavailable for a moment; try again shortly."


def _code(finance) -> str:
    batch = redemption_batch_create(
        user=finance,
        name="Outage week",
        currency="CNY",
        value=Decimal("88.00"),
        count=1,
        expires_at=timezone.now() + timedelta(days=30),
    )
    return batch.codes.get().code


@pytest.mark.parametrize("which", ["good", "guess"])
def test_the_portal_refuses_every_code_with_a_clear_message_while_the_cache_is_down(
    client,
    finance,
    owner,
    cache_down,  # noqa: F811
    which,
):
    text = _code(finance) if which == "good" else "ABCD-EFGH-JKMN-PQRS"
    client.force_login(owner)

    response = client.post("/portal/wallet/top-up/redeem/", {"code": text})

    assert response.status_code == 400
    assert UNAVAILABLE in response.content.decode()
    assert not RedemptionCode.objects.filter(redeemed_at__isnull=False).exists()
    assert not topup_postings().exists()


def test_a_wrong_guess_that_cannot_be_counted_gets_no_answer(
    finance,
    owner,
    customer,
    cache_down,  # noqa: F811
    monkeypatch,
):
    # The throttle's read answered (no failures yet), then Redis went away before the failure was counted.
    monkeypatch.setattr(SignInFailOpenRedisCache, "get", lambda *args, **kwargs: None)

    with pytest.raises(ValidationError) as err:
        redemption_code_redeem(user=owner, customer=customer, code="ABCD-EFGH-JKMN-PQRS")

    assert err.value.code == "unavailable"
    assert err.value.messages == [UNAVAILABLE]
