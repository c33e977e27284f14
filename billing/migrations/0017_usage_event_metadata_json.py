"""Usage events keep their metadata as ``json`` (checked text) instead of ``jsonb`` on PostgreSQL.

The database never looks inside gateway metadata, and building ``jsonb`` from it was a sixth of the
cost of COPYing an event in (see ``StoredJSONField``). The type change rewrites every partition of
``usage_event`` under an exclusive lock: on a large installation, run it at a quiet time.
"""

import billing.usage.models
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("billing", "0016_request_key_composite_pk")]

    operations = [
        migrations.AlterField(
            model_name="usageevent",
            name="metadata",
            field=billing.usage.models.StoredJSONField(blank=True, default=dict),
        ),
    ]
