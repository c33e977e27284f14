"""Bounds on what staff may store: a window's rules are at most 50, a service tier's name is a token."""

import pytest
from django.core.exceptions import ValidationError

from catalog.services.validation import service_tier_name_check
from catalog.time_windows import MAX_RULES, rules_check

RULE = {"weekdays": [1], "start": "00:00", "end": "01:00"}


def test_a_window_takes_up_to_fifty_rules():
    assert len(rules_check([RULE] * MAX_RULES)) == MAX_RULES
    with pytest.raises(ValidationError, match="at most 50 rules"):
        rules_check([RULE] * (MAX_RULES + 1))


@pytest.mark.parametrize("name", ["<script>", "flex tier", "优先", "a/b"])
def test_a_service_tier_name_is_a_token(name):
    with pytest.raises(ValidationError) as refused:
        service_tier_name_check(name)
    assert "service_tier" in refused.value.message_dict


def test_service_tier_names_are_stored_as_events_send_them():
    assert service_tier_name_check(" Priority ") == "priority"
    assert service_tier_name_check("on_demand") == "on_demand"
