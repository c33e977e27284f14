"""The bulk path's SQL: the COPY column lists, the stage table, and the set-based statements a chunk runs
(probe and claim its keys, drop late duplicates, mark the segments, upsert the rollups and sum what to
post)."""

from billing.usage.models import TOKEN_COLUMNS, UNIT_COLUMNS
from billing.usage.rollups import KEY_FIELDS, SUM_FIELDS

COLUMNS = (
    "source_id", "batch_id", "request_id", "occurred_at", "gateway_key", "customer_id", "model_name",
    "model_id", "upstream_account", *TOKEN_COLUMNS, *UNIT_COLUMNS, "service_tier", "is_batch", "succeeded",
    "gateway_cost", "gateway_cost_currency", "metadata", "rating_state", "unrated_reason", "unrated_message",
    "sell_plan", "sell_amount", "sell_currency", "cost_amount", "cost_currency", "price_window",
    "rated_in_id", "ingested_at",
)  # fmt: skip
# COPY sends the event's own columns first (formatted once, while parsing), the rating's after them and the
# batch's last: the producer takes the chunk's batch id from its sequence before the batch row exists. The
# gateway key is the rating's: the key candidate that named the customer (``resolve.key_pick``).
HEAD_COLUMNS = (
    "source_id", "request_id", "occurred_at", "model_name", "upstream_account",
    *TOKEN_COLUMNS, "is_batch", "succeeded", "gateway_cost", "gateway_cost_currency", "metadata",
    *UNIT_COLUMNS, "service_tier",
)  # fmt: skip
TAIL_COLUMNS = (
    "gateway_key", "customer_id", "model_id", "rating_state", "unrated_reason", "unrated_message",
    "sell_plan", "sell_amount", "sell_currency", "cost_amount", "cost_currency", "price_window",
    "ingested_at",
)  # fmt: skip
BATCH_COLUMNS = ("batch_id", "rated_in_id")
COPY_COLUMNS = HEAD_COLUMNS + TAIL_COLUMNS + BATCH_COLUMNS
assert sorted(COPY_COLUMNS) == sorted(COLUMNS)
# What the writer rewrites in a line whose sale a token allowance changed (indices into COPY_COLUMNS).
SELL_FIELDS = tuple(
    COPY_COLUMNS.index(c) for c in ("sell_plan", "sell_amount", "sell_currency", "price_window")
)
# The narrow copy of each event that deduplication, allowances, rollups and posting sums work on, in a
# temporary table: the wide rows (~1 KB each with gateway metadata) go once, straight into usage_event.
# An event's derived rows (one per hop of the chain) are staged lines too, with its request id: whatever
# drops the event (a duplicate) drops them, and only hop 0 claims the key. They have no wide line: once the
# chunk's keys are claimed and its allowances drawn, DERIVED_SQL inserts them from the stage, set-based
# (the columns they need beyond the narrow ones are staged with them; an event's own line leaves them
# empty). Their line numbers are negative (``derived_line``), apart from the wide lines' numbering.
# Every line carries its unit counts (rolled up) and the time-of-day window of its sale (a derived row's is
# its buyer's plan's): window-priced sales are rolled up per window too.
STAGE_COLUMNS = (
    "line", "request_id", "occurred_at", "customer_id", "model_id", "upstream_account", "rating_state",
    *TOKEN_COLUMNS, "is_batch", *UNIT_COLUMNS, "price_window", "sell_plan", "sell_amount", "sell_currency",
    "cost_amount", "cost_currency", "hop", "end_customer_id", "gateway_key", "model_name", "service_tier",
)  # fmt: skip
# Hops a line number leaves room for per event (a chain of sub-distributors this deep is no real tree).
MAX_HOPS = 64


def derived_line(line: int, k: int) -> int:
    """The stage line number of the ``k``-th derived row of the event on wide line ``line``."""
    return -(line * MAX_HOPS + k + 1)


STAGE_TABLE = """
    CREATE TEMP TABLE IF NOT EXISTS usage_ingest_stage (
        line integer, request_id text COLLATE "C", occurred_at timestamptz, customer_id bigint,
        model_id bigint, upstream_account text, rating_state text, prompt_tokens bigint,
        cache_read_tokens bigint, cache_write_tokens bigint, cache_write_1h_tokens bigint,
        completion_tokens bigint, reasoning_tokens bigint, is_batch boolean, audio_prompt_tokens bigint,
        audio_completion_tokens bigint, images bigint, audio_ms bigint, price_window text COLLATE "C",
        sell_plan text, sell_amount numeric(40, 24), sell_currency text, cost_amount numeric(40, 24),
        cost_currency text, hop smallint NOT NULL DEFAULT 0, end_customer_id bigint, gateway_key text,
        model_name text, service_tier text, segment integer NOT NULL DEFAULT 0
    ) ON COMMIT DELETE ROWS
"""
STAGE_COPY = f"COPY usage_ingest_stage ({', '.join(STAGE_COLUMNS)}) FROM STDIN"
EVENT_COPY = f"COPY usage_event ({', '.join(COPY_COLUMNS)}) FROM STDIN"

# The stage is summed once, into quarter hours (every time zone's offset is a multiple of 15 minutes, so a
# quarter hour lies within one local hour and one local day); hours, days and posting sums add those up.
QUARTER_SUMS = ", ".join(
    ["count(*) AS requests", *(f"sum({c}) AS {c}" for c in SUM_FIELDS[1:]), "sum(sell_amount) AS sell_amount",
     "sum(cost_amount) AS cost_amount", "count(*) FILTER (WHERE hop > 0) AS derived"]
)  # fmt: skip
ROLLUP_SUMS = ", ".join(
    [*(f"sum({c})" for c in SUM_FIELDS), "sum(sell_amount)", "coalesce(sum(cost_amount), 0)"]
)
KEYS = ", ".join(KEY_FIELDS)
ROLLUP_COLUMNS = ", ".join((*KEY_FIELDS, *SUM_FIELDS, "sell_amount", "cost_amount"))
# Rollup rows are locked in the order rollups.rollups_add writes them (strings by code point), so a bulk
# chunk and a concurrent per-batch ingest queue on shared rows instead of deadlocking.
ROLLUP_ORDER = (
    '1, customer_id, model_id, upstream_account COLLATE "C", sell_currency COLLATE "C", '
    'cost_currency COLLATE "C"'
)
ADD = ", ".join(f"{c} = {{t}}.{c} + excluded.{c}" for c in (*SUM_FIELDS, "sell_amount", "cost_amount"))


# Keys another batch already holds (committed) are duplicates: dropped from the stage (so no allowance
# draw, rollup or posting sees them) and returned by line number, so their wide lines are never sent. Each
# staged key is probed once against the unique index (LATERAL … LIMIT 1: a nested loop of index probes,
# never a scan of all the source's keys); derived rows go with their event's key. Only reads: the chunk
# waits for no one here.
PROBE_SQL = """
    WITH taken AS MATERIALIZED (
        SELECT s.request_id FROM usage_ingest_stage s
        JOIN LATERAL (
            SELECT 1 FROM usage_request_key k
            WHERE k.source_id = %(source)s AND k.request_id = s.request_id LIMIT 1
        ) k ON true
        WHERE s.hop = 0
    )
    , gone AS (
        DELETE FROM usage_ingest_stage s USING taken t WHERE t.request_id = s.request_id
        RETURNING s.line, s.hop
    )
    SELECT line FROM gone WHERE hop = 0
"""
# In the chunk's turn the probed-new keys are claimed by a plain INSERT (ON CONFLICT's speculative
# insertion costs about twice as much per row). A key committed since the probe, or inserted by another
# ingest still running, makes it fail (once that one ends): the claim is then made the waiting way, and
# the keys it could not claim are returned (line, request id) as late duplicates.
CLAIM_SQL = """
    INSERT INTO usage_request_key (source_id, request_id, occurred_at)
    SELECT %(source)s, request_id, occurred_at FROM usage_ingest_stage WHERE hop = 0
"""
CLAIM_WAITING_SQL = """
    WITH won AS (
        INSERT INTO usage_request_key (source_id, request_id, occurred_at)
        SELECT %(source)s, request_id, occurred_at FROM usage_ingest_stage WHERE hop = 0
        ON CONFLICT (source_id, request_id) DO NOTHING RETURNING request_id
    )
    , lost AS (
        DELETE FROM usage_ingest_stage s
        WHERE NOT EXISTS (SELECT 1 FROM won WHERE won.request_id = s.request_id)
        RETURNING s.line, s.request_id, s.occurred_at, s.hop
    )
    SELECT line, request_id, occurred_at FROM lost WHERE hop = 0
"""
# A late duplicate's wide row may already be in usage_event (copied before the turn): it goes again.
# Bounded by time too, so only the partitions holding them are touched.
LATE_DELETE_SQL = """
    DELETE FROM usage_event
    WHERE batch_id = %(batch)s AND source_id = %(source)s AND request_id = ANY(%(ids)s)
      AND occurred_at BETWEEN %(first)s AND %(last)s
"""


# The chunk's derived rows, from the claimed stage with the sales the draw left there (one statement: no
# text to parse, unlike COPY). The gateway's evidence (its cost and metadata) stays on the event's own row.
DERIVED_SQL = f"""
    INSERT INTO usage_event (
        source_id, batch_id, rated_in_id, request_id, occurred_at, gateway_key, customer_id, model_name,
        model_id, upstream_account, {", ".join((*TOKEN_COLUMNS, *UNIT_COLUMNS))}, service_tier, is_batch,
        succeeded, gateway_cost_currency, metadata, rating_state, unrated_reason, sell_plan, sell_amount,
        sell_currency, cost_amount, cost_currency, price_window, ingested_at, hop, end_customer_id
    )
    SELECT %(source)s, %(batch)s, %(batch)s, request_id, occurred_at, gateway_key, customer_id, model_name,
           model_id, upstream_account, {", ".join((*TOKEN_COLUMNS, *UNIT_COLUMNS))}, service_tier, is_batch,
           true, '', '{{}}', rating_state, '', sell_plan, sell_amount, sell_currency, cost_amount,
           cost_currency, price_window, now(), hop, end_customer_id
    FROM usage_ingest_stage WHERE hop > 0
"""

# A derived row the draw changed (a sub-distributor's allowance or overage plan) is what the buyer one hop
# below bought the request at: that row's cost follows (``allowance_use.hop_costs``). Returns the changed
# events' own rows (hop 0), whose wide rows the writer then updates to say the same.
HOP_COST_SQL = """
    UPDATE usage_ingest_stage b SET cost_amount = u.sell_amount, cost_currency = u.sell_currency
    FROM usage_ingest_stage u
    WHERE u.line = ANY(%(lines)s) AND u.hop > 0 AND u.rating_state = 'rated'
      AND b.request_id = u.request_id AND b.hop = u.hop - 1 AND b.rating_state = 'rated'
    RETURNING b.hop, b.request_id, b.occurred_at, b.cost_amount, b.cost_currency
"""
EVENT_COST_SQL = """
    UPDATE usage_event e SET cost_amount = v.cost, cost_currency = v.ccy
    FROM unnest(%(ids)s::text[], %(times)s::timestamptz[], %(costs)s::numeric[], %(ccys)s::text[])
      AS v(request_id, at, cost, ccy)
    WHERE e.batch_id = %(batch)s AND e.source_id = %(source)s AND e.hop = 0
      AND e.request_id = v.request_id AND e.occurred_at = v.at
      AND e.occurred_at BETWEEN %(first)s AND %(last)s
"""

# Where a customer's terms or wallet lots change inside the chunk's time (``usage.timeline``: cuts, as
# parallel arrays of customers and instants, few), each staged event of that customer counts the cuts at or
# before it: its segment within the chunk. Run only when there are such cuts, and it touches only those
# customers' rows; every other row keeps segment 0 (its customer's timeline is the same all chunk long).
SEGMENT_SQL = """
    UPDATE usage_ingest_stage s SET segment = c.n
    FROM (
        SELECT t.line, count(*) AS n
        FROM usage_ingest_stage t
        JOIN unnest(%(customers)s::bigint[], %(cuts)s::timestamptz[]) AS cut(customer_id, at)
          ON cut.customer_id = t.customer_id AND cut.at <= t.occurred_at
        GROUP BY t.line
    ) c
    WHERE s.line = c.line
"""

# One statement over the (claimed) stage: upsert the hourly and daily rollups, and the daily rollup of
# window-priced sales (``usage_window_daily``, after the daily one, in the per-batch path's key order: the
# quarter sums are split by window for it), and return the sums to post (as
# ``charging.Group`` with the segment within the chunk, then the hourly and daily rows written, then how
# many of the group's rows are derived, then the channel). The cost of an event on a channel is owed on
# that channel, to its contract's vendor: the chunk's mapped accounts come as parallel arrays (account as
# sent, channel, vendor; few), joined to the summed quarter rows only.
# Parameters: the operator's time zone (tz), the mapped accounts (accounts, channels, vendors).
ROLLUPS_SQL = f"""
    WITH quarter AS MATERIALIZED (
        SELECT date_bin('15 minutes', occurred_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS at, {KEYS},
               rating_state, segment, price_window, {QUARTER_SUMS}
        FROM usage_ingest_stage GROUP BY 1, {KEYS}, rating_state, segment, price_window
    ), hourly AS (
        INSERT INTO usage_hourly (hour, {ROLLUP_COLUMNS})
        SELECT date_trunc('hour', at), {KEYS}, {ROLLUP_SUMS}
        FROM quarter WHERE rating_state = 'rated' GROUP BY 1, {KEYS} ORDER BY {ROLLUP_ORDER}
        ON CONFLICT (hour, {KEYS}) DO UPDATE SET {ADD.format(t="usage_hourly")}
        RETURNING 1
    ), hours AS (
        SELECT count(*) AS n FROM hourly
    ), daily AS (
        -- Reading ``hours`` makes the hourly upsert finish before the daily one starts (lock order).
        INSERT INTO usage_daily (day, {ROLLUP_COLUMNS})
        SELECT (at AT TIME ZONE %(tz)s)::date, {KEYS}, {ROLLUP_SUMS}
        FROM quarter, hours WHERE rating_state = 'rated' GROUP BY 1, {KEYS} ORDER BY {ROLLUP_ORDER}
        ON CONFLICT (day, {KEYS}) DO UPDATE SET {ADD.format(t="usage_daily")}
        RETURNING 1
    ), days AS (
        SELECT count(*) AS n FROM daily
    ), windowed AS (
        -- Reading ``days``: after the daily upsert. Run though nothing reads it (PostgreSQL runs every
        -- data-modifying WITH statement to completion).
        INSERT INTO usage_window_daily (day, {ROLLUP_COLUMNS}, price_window)
        SELECT (at AT TIME ZONE %(tz)s)::date, {KEYS}, {ROLLUP_SUMS}, price_window
        FROM quarter, days WHERE rating_state = 'rated' AND price_window <> ''
        GROUP BY 1, {KEYS}, price_window ORDER BY {ROLLUP_ORDER}, price_window
        ON CONFLICT (day, {KEYS}, price_window) DO UPDATE SET {ADD.format(t="usage_window_daily")}
    )
    SELECT q.customer_id, q.rating_state, q.sell_currency, coalesce(c.vendor_id, m.vendor_id),
           q.cost_currency,
           sum(q.requests)::bigint, sum(q.sell_amount), sum(q.cost_amount), q.segment,
           (SELECT n FROM hours), (SELECT n FROM days), sum(q.derived)::bigint,
           coalesce(c.channel_id, 0)
    FROM quarter q LEFT JOIN catalog_aimodel m ON m.id = q.model_id
    LEFT JOIN unnest(%(accounts)s::text[], %(channels)s::bigint[], %(vendors)s::bigint[])
      AS c(account, channel_id, vendor_id) ON c.account = q.upstream_account
    GROUP BY 1, 2, 3, 4, 5, 9, 13
"""
