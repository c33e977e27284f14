from django.db import migrations


class Migration(migrations.Migration):
    """The credit span columns give way to the terms history (``TermsSpan``, migration 0022 filled it from
    them): the close invoices credit usage by the spans, across every credit span, not only the latest."""

    dependencies = [("billing", "0029_terms_auto_apply_credit")]

    operations = [
        migrations.RemoveField(model_name="billingterms", name="credit_since"),
        migrations.RemoveField(model_name="billingterms", name="credit_until"),
    ]
