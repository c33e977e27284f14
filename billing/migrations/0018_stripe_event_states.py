"""Stripe events can be parked (waiting for an earlier event, or for finance) and resolved by finance.

Existing events get the payment intent they are about, so that a failed refund retried after this
migration can wait for its payment like a new one.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _payment_intent(event_type: str, obj: dict) -> str:
    # A frozen copy of billing.payments.stripe_objects.event_payment_intent as it was at this migration.
    value = obj.get("id") if event_type.startswith("payment_intent.") else obj.get("payment_intent")
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and 0 < len(value) <= 80 and value.isprintable() else ""


def backfill_payment_intents(apps, schema_editor):
    StripeEvent = apps.get_model("billing", "StripeEvent")
    for event in StripeEvent.objects.only("type", "payload").iterator(chunk_size=1000):
        obj = (event.payload.get("data") or {}).get("object") or {}
        payment_intent = _payment_intent(event.type, obj) if isinstance(obj, dict) else ""
        if payment_intent:
            StripeEvent.objects.filter(pk=event.pk).update(payment_intent_id=payment_intent)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0017_usage_event_metadata_json"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="stripeevent",
            name="parked_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("waiting", "Waiting for an earlier event"),
                    ("mismatch", "Does not match our records"),
                    ("invalid", "Missing or invalid fields"),
                ],
                max_length=10,
                verbose_name="parked because",
            ),
        ),
        migrations.AddField(
            model_name="stripeevent",
            name="payment_intent_id",
            field=models.CharField(
                blank=True,
                db_index=True,
                help_text="The payment the event is about; events waiting for it apply when it is credited.",
                max_length=255,
                verbose_name="payment intent",
            ),
        ),
        migrations.AddField(
            model_name="stripeevent",
            name="resolution",
            field=models.TextField(
                blank=True, help_text="What finance did, and why.", verbose_name="resolution"
            ),
        ),
        migrations.AddField(
            model_name="stripeevent",
            name="resolved_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="resolved"),
        ),
        migrations.AddField(
            model_name="stripeevent",
            name="resolved_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="resolved by",
            ),
        ),
        migrations.AlterField(
            model_name="stripeevent",
            name="error",
            field=models.TextField(
                blank=True, help_text="Why it was ignored, parked or failed.", verbose_name="reason"
            ),
        ),
        migrations.AlterField(
            model_name="stripeevent",
            name="status",
            field=models.CharField(
                choices=[
                    ("received", "Received"),
                    ("processed", "Processed"),
                    ("ignored", "Ignored"),
                    ("parked", "Parked"),
                    ("failed", "Failed"),
                    ("resolved", "Resolved by finance"),
                ],
                db_index=True,
                default="received",
                max_length=10,
                verbose_name="status",
            ),
        ),
        migrations.AddConstraint(
            model_name="stripeevent",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "parked"), _negated=True),
                    models.Q(("parked_reason", ""), _negated=True),
                    _connector="OR",
                ),
                name="payments_stripe_event_parked_has_reason",
            ),
        ),
        migrations.AddConstraint(
            model_name="stripeevent",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "resolved"), _negated=True),
                    models.Q(("resolved_by__isnull", False), models.Q(("resolution", ""), _negated=True)),
                    _connector="OR",
                ),
                name="payments_stripe_event_resolved_by_someone",
            ),
        ),
        migrations.RunPython(backfill_payment_intents, migrations.RunPython.noop),
    ]
