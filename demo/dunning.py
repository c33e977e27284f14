"""Demo dunning: the Standard policy (−3/+7/+15/+30, suspending at +30) on every demo credit customer."""

from billing.dunning.services import dunning_policy_standard
from billing.terms.models import CREDIT_MODES, BillingTerms


def load() -> list[tuple[str, str]]:
    policy = dunning_policy_standard()
    # Only customers with no policy yet, so a second run (or a policy staff chose) changes nothing.
    BillingTerms.objects.filter(mode__in=CREDIT_MODES, dunning_policy__isnull=True).update(
        dunning_policy=policy
    )
    return []
