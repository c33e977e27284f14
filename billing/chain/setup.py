"""The operator changes a sub-distributor's chain mode from its "Chain settings" page.

A sub-distributor with nobody below it and no usage yet has nothing sold the old way: its mode is set and
``accounts.chain.chain_refresh`` re-derives its subtree (only itself). Once it has customers or usage, the
change moves customers, prices and money between books, which ``billing.chain.migrate`` does (or refuses,
saying why): the page shows its dry run first and applies it only when confirmed.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.chain import chain_refresh
from accounts.models import Customer
from billing.chain.migrate import MigrationPlan, MigrationRefused, migration_apply, migration_plan
from billing.usage.models import UsageEvent

Mode = Customer.ChainMode


@dataclass
class ModeChange:
    """What changing ``sub`` to ``mode`` does: the migration's plan when it has customers or usage, else a
    plain switch. ``lines`` describe it for people; ``refusals`` non-empty means it cannot be done."""

    sub: Customer
    mode: str
    plan: MigrationPlan | None = None
    lines: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)


def _has_business(sub: Customer) -> bool:
    """Whether ``sub`` has customers below it or usage of its own (what a mode change must carry over)."""
    below = Customer.objects.filter(path__startswith=sub.path).exclude(pk=sub.pk)
    return below.exists() or UsageEvent.objects.filter(customer=sub).exists()


def mode_change_plan(*, sub: Customer, mode: str) -> ModeChange:
    """Work out changing ``sub``'s chain mode to ``mode``; writes nothing."""
    change = ModeChange(sub=sub, mode=mode)
    if not sub.is_sub_distributor:
        change.refusals.append(_("%(sub)s is not a sub-distributor.") % {"sub": sub.code})
    elif mode not in Mode.values:
        change.refusals.append(_("Choose resale, agency or direct."))
    elif sub.chain_mode == mode:
        change.refusals.append(
            _("%(sub)s is already %(mode)s: nothing to do.") % {"sub": sub.code, "mode": mode}
        )
    elif _has_business(sub):
        change.plan = migration_plan(sub=sub, mode=mode)
        change.refusals = list(change.plan.refusals)
        # describe() ends with a line per refusal; the page shows the refusals apart.
        described = change.plan.describe()
        change.lines = described[: len(described) - len(change.refusals)]
    else:
        change.lines.append(
            _("%(sub)s has no customers or usage yet: it sells in the %(mode)s mode from now on.")
            % {"sub": sub.name, "mode": Mode(mode).label}
        )
    return change


@transaction.atomic
def mode_change_apply(change: ModeChange, *, actor) -> None:
    """Do ``change``; raise ``billing.chain.migrate.MigrationRefused`` when it is refused."""
    if change.refusals:
        raise MigrationRefused(change.refusals)
    if change.plan is not None:
        migration_apply(change.plan, actor=actor)
        return
    sub = Customer.objects.select_for_update().get(pk=change.sub.pk)
    sub.chain_mode = change.mode
    sub.save(update_fields=["chain_mode"])
    chain_refresh(sub)
