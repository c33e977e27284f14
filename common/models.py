"""What ``common`` stores: the outbox of tasks that could not be queued while the broker was down."""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class OutboxTask(models.Model):
    """A Celery task kept because the broker was unreachable when it was queued (``common.outbox``).

    Kept after its write committed (a webhook, an e-mail), it is queued again by ``outbox_drain`` once the
    broker answers, oldest first, and marked sent; rows are kept after sending, as the record of an outage.
    """

    task = models.CharField(_("task"), max_length=200, help_text=_("The registered Celery task name."))
    args = models.JSONField(_("arguments"), default=list, encoder=DjangoJSONEncoder)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(_("kept at"), auto_now_add=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0, help_text=_("Times queueing it failed."))
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    refused_at = models.DateTimeField(
        _("refused at"),
        null=True,
        blank=True,
        help_text=_("Queueing it failed for another reason than the broker (its arguments, say): set aside."),
    )

    class Meta:
        verbose_name = _("outbox task")
        verbose_name_plural = _("outbox tasks")
        indexes = [
            # The drain and the count read only unsent rows, in the order they were kept.
            models.Index(fields=["id"], condition=Q(sent_at__isnull=True), name="outbox_unsent"),
        ]

    def __str__(self) -> str:
        return f"{self.task} #{self.pk}"
