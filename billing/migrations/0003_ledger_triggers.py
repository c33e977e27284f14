"""PostgreSQL guards for the journal: balanced transactions and append-only rows.

Be extremely careful changing this migration: it is what lets the database, not only Python, refuse an
unbalanced or rewritten book (DESIGN §4.2–4.3). On SQLite it does nothing; there the posting service and
the append-only queryset enforce the same rules.

TRUNCATE is deliberately not blocked: row triggers do not fire on it, and test databases are flushed with it.
"""

from django.db import migrations

INSTALL = r"""
CREATE OR REPLACE FUNCTION billing_ledger_check_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    txn_id bigint;
    bad record;
    entry_count integer;
BEGIN
    IF TG_TABLE_NAME = 'billing_ledger_transaction' THEN
        txn_id := NEW.id;
    ELSE
        txn_id := NEW.transaction_id;
    END IF;
    SELECT count(*) INTO entry_count FROM billing_ledger_entry WHERE transaction_id = txn_id;
    IF entry_count < 2 THEN
        RAISE EXCEPTION 'journal transaction % has % entries; at least two are required', txn_id, entry_count
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT e.currency, sum(e.amount) AS total INTO bad
      FROM billing_ledger_entry e
     WHERE e.transaction_id = txn_id
     GROUP BY e.currency
    HAVING sum(e.amount) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal transaction % does not balance: % entries sum to %', txn_id, bad.currency, bad.total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION billing_ledger_check_entry_currency() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    account_currency varchar(3);
BEGIN
    SELECT currency INTO account_currency FROM billing_ledger_account WHERE id = NEW.account_id;
    IF account_currency IS DISTINCT FROM NEW.currency THEN
        RAISE EXCEPTION 'journal entry in % posted to account % kept in %', NEW.currency, NEW.account_id,
            account_currency USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION billing_ledger_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused; post a reversal instead', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE CONSTRAINT TRIGGER billing_ledger_entry_balanced
    AFTER INSERT ON billing_ledger_entry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION billing_ledger_check_balanced();

CREATE CONSTRAINT TRIGGER billing_ledger_transaction_balanced
    AFTER INSERT ON billing_ledger_transaction
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION billing_ledger_check_balanced();

CREATE TRIGGER billing_ledger_entry_currency
    BEFORE INSERT ON billing_ledger_entry
    FOR EACH ROW EXECUTE FUNCTION billing_ledger_check_entry_currency();

CREATE TRIGGER billing_ledger_entry_append_only
    BEFORE UPDATE OR DELETE ON billing_ledger_entry
    FOR EACH ROW EXECUTE FUNCTION billing_ledger_refuse_change();

CREATE TRIGGER billing_ledger_transaction_append_only
    BEFORE UPDATE OR DELETE ON billing_ledger_transaction
    FOR EACH ROW EXECUTE FUNCTION billing_ledger_refuse_change();
"""

UNINSTALL = r"""
DROP TRIGGER IF EXISTS billing_ledger_transaction_append_only ON billing_ledger_transaction;
DROP TRIGGER IF EXISTS billing_ledger_entry_append_only ON billing_ledger_entry;
DROP TRIGGER IF EXISTS billing_ledger_entry_currency ON billing_ledger_entry;
DROP TRIGGER IF EXISTS billing_ledger_transaction_balanced ON billing_ledger_transaction;
DROP TRIGGER IF EXISTS billing_ledger_entry_balanced ON billing_ledger_entry;
DROP FUNCTION IF EXISTS billing_ledger_refuse_change();
DROP FUNCTION IF EXISTS billing_ledger_check_entry_currency();
DROP FUNCTION IF EXISTS billing_ledger_check_balanced();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNINSTALL, params=None)


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_ledger_wallets")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
