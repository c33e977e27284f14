"""Checks queued after a usage commit, throttled through the cache, leave it to their sweeps when the cache
(Redis) is down instead of failing the commit's after-commit hooks (issue 22)."""

from decimal import Decimal
from unittest import mock

import pytest

from billing.dunning import risk_tasks
from billing.invoicing.receivers import unbilled_accrued_receiver
from billing.terms.models import BillingTerms
from tests.billing.usage.factories import customer_make
from tests.common.redis_down import cache_down  # noqa: F401

pytestmark = pytest.mark.django_db


def test_the_spike_check_after_usage_is_left_to_the_sweep(cache_down, caplog):  # noqa: F811
    customer = customer_make(key="key-u", mode="monthly", spike_factor=Decimal("3"))

    with mock.patch.object(risk_tasks.risk_spike_check_task, "delay") as queued:
        risk_tasks.risk_after_usage(sender=None, customer_ids={customer.pk})

    queued.assert_not_called()
    assert f"spike check of customers {{{customer.pk}}} left to the sweep" in caplog.text


def test_the_progressive_check_after_usage_is_left_to_the_sweep(cache_down, caplog):  # noqa: F811
    with mock.patch("billing.invoicing.receivers.progressive_check_task.delay") as queued:
        unbilled_accrued_receiver(sender=BillingTerms, customer_ids=[7])

    queued.assert_not_called()
    assert "progressive-billing check of customers [7] left to the sweep" in caplog.text
