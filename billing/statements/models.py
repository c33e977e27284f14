"""Accountant exports built in the background: a period's statements as one zip, with progress."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class StatementExport(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Queued")
        RUNNING = "running", _("Building")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")

    date_from = models.DateField(_("from"))
    date_to = models.DateField(_("to"))
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.PENDING)
    total = models.PositiveIntegerField(_("statements"), default=0)
    done = models.PositiveIntegerField(_("built"), default=0)
    file = models.FileField(_("file"), upload_to="statement_exports/%Y/%m/", blank=True)
    error = models.TextField(_("error"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "documents_statement_export"
        verbose_name = _("statement export")
        verbose_name_plural = _("statement exports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.date_from}..{self.date_to} ({self.get_state_display()})"

    @property
    def percent(self) -> int:
        return int(self.done * 100 / self.total) if self.total else (100 if self.state == "done" else 0)
