"""Opening balances: the open items a distributor moving in from spreadsheets or another system brings.

Each applied row becomes this system's own record — an open receivable is an ``Invoice`` of kind
*opening* (its old document number, outside this system's series) posted Dr receivable / Cr opening
balance equity, so it is aged, dunned, paid, written off and shown on statements like any invoice; a
deposit is paid wallet credit; an upstream prepaid balance an upstream pack — each against the same
equity account. A file is previewed (nothing written), then applied all or nothing.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class OpeningImport(models.Model):
    class Kind(models.TextChoices):
        RECEIVABLES = "receivables", _("Open receivables")
        DEPOSITS = "deposits", _("Customer deposits")
        UPSTREAM = "upstream", _("Upstream prepaid balances")

    class State(models.TextChoices):
        PREVIEW = "preview", _("Previewed")
        APPLIED = "applied", _("Applied")
        REFUSED = "refused", _("Refused")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    filename = models.CharField(_("file"), max_length=255)
    sha256 = models.CharField(max_length=64)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.PREVIEW)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    created = models.PositiveIntegerField(_("new"), default=0)
    unchanged = models.PositiveIntegerField(_("already imported"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    totals = models.JSONField(_("totals"), default=dict, blank=True, help_text=_("Per currency: amount."))
    errors = models.JSONField(_("errors"), default=list, blank=True, help_text=_("[{row, field, message}]"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    applied_at = models.DateTimeField(_("applied"), null=True, blank=True)

    class Meta:
        db_table = "opening_import"
        verbose_name = _("opening balance import")
        verbose_name_plural = _("opening balance imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.filename
