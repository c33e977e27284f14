"""Events are found by batch through a BRIN index on PostgreSQL instead of a B-tree.

Every ingested event paid a B-tree insert into ``usage_event_batch``; batch ids grow with time and
events are appended in batch order, so a BRIN index (a min/max per range of heap blocks, a few pages for
millions of rows) finds a batch's events as well, at next to no cost per insert. ``autosummarize`` lets
autovacuum summarise new block ranges; until then they are simply scanned, so answers stay exact.
SQLite keeps no such index (it has no BRIN, and its bulk path does not exist).
"""

from django.db import migrations

FORWARD = "CREATE INDEX usage_event_batch_brin ON usage_event USING brin (batch_id) WITH (autosummarize = on)"
BACKWARD = "DROP INDEX IF EXISTS usage_event_batch_brin"


def _run(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("billing", "0014_request_key_c_collation")]

    operations = [
        migrations.RemoveIndex(model_name="usageevent", name="usage_event_batch"),
        migrations.RunPython(_run(FORWARD), _run(BACKWARD)),
    ]
