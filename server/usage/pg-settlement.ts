import type { SQL } from "bun";
import { utcMonth } from "../limits/month";
import type { Settlement } from "./settlement";

/*
 * Settlements committed to PostgreSQL: the same rows and rules as commitSettlements for SQLite
 * (settlement.ts), in one transaction per batch and a fixed number of statements whatever the batch size.
 * Each statement takes the batch as one JSON parameter (jsonb_to_recordset), so the SQL text is constant
 * and no batch can run into PostgreSQL's parameter limit.
 *
 * Idempotent by request id: the usage rows go in first with ON CONFLICT DO NOTHING, and only the rows that
 * went in are charged, so a batch replayed after a crash or a lost connection charges nothing twice.
 */

const USAGE_COLUMNS = `request_id text, at bigint, account_id int, org_id int, user_id int, key_id int, key_label text, key_prefix text,
  source_ip text, endpoint text, model text, upstream_model text, channel_id int, status int, error_code text, stream boolean,
  prompt_tokens bigint, completion_tokens bigint, tokens_estimated boolean, cost bigint, ttfb_ms bigint, total_ms bigint,
  shortfall bigint, error_detail text, cached_tokens bigint, cache_write_tokens bigint`;

function usageJson(batch: readonly Settlement[]): string {
  return JSON.stringify(batch.map(({ record: r, cost, shortfall, at }) => ({
    request_id: r.requestId, at, account_id: r.accountId, org_id: r.orgId, user_id: r.userId, key_id: r.keyId, key_label: r.keyLabel,
    key_prefix: r.keyPrefix, source_ip: r.sourceIp, endpoint: r.endpoint, model: r.model, upstream_model: r.upstreamModel,
    channel_id: r.channelId, status: r.status, error_code: r.errorCode, stream: r.stream, prompt_tokens: r.promptTokens,
    completion_tokens: r.completionTokens, tokens_estimated: r.tokensEstimated, cost, ttfb_ms: r.ttfbMs, total_ms: r.totalMs,
    shortfall, error_detail: r.errorDetail, cached_tokens: r.cachedTokens, cache_write_tokens: r.cacheWriteTokens,
  })));
}

/**
 * Deletes the batch's holds (those that exist: embedded-style requests and replays have none) and takes
 * them off the held columns of their accounts, keys and members, in one statement.
 */
const RELEASE_HOLDS = `
  WITH d AS (
    DELETE FROM holds WHERE request_id IN (SELECT jsonb_array_elements_text($1::text::jsonb))
    RETURNING account_id, key_id, member_user_id, credits, tokens
  ), a AS (
    UPDATE accounts x SET held = x.held - s.c, held_tokens = x.held_tokens - s.t
    FROM (SELECT account_id, sum(credits) AS c, sum(tokens) AS t FROM d GROUP BY account_id) s WHERE x.id = s.account_id RETURNING 1
  ), k AS (
    UPDATE api_keys x SET held = x.held - s.c
    FROM (SELECT key_id, sum(credits) AS c FROM d WHERE key_id IS NOT NULL GROUP BY key_id) s WHERE x.id = s.key_id RETURNING 1
  ), m AS (
    UPDATE memberships x SET held = x.held - s.c
    FROM (SELECT account_id, member_user_id, sum(credits) AS c FROM d WHERE member_user_id IS NOT NULL GROUP BY 1, 2) s
    WHERE x.account_id = s.account_id AND x.user_id = s.member_user_id RETURNING 1
  )
  SELECT (SELECT count(*) FROM d) AS released`;

/** Commits a batch in one transaction; throws (everything rolled back) when any statement fails. */
export async function commitPgSettlements(sql: SQL, batch: readonly Settlement[]): Promise<void> {
  if (batch.length === 0) return;
  await sql.begin(async (tx) => {
    // The holds first (cluster mode): released before the charges, so credits - held never dips below zero
    // in between. Deleting a hold returns it once, whoever deletes it, so each is released exactly once.
    // Every account the batch touches is locked first, in id order: the statements below then change rows
    // this transaction already holds, so two instances' batches (and relay_reserve, which locks an account
    // before its key and member) can only wait for each other, never deadlock. RELEASE_HOLDS alone locked
    // keys before accounts (PostgreSQL runs the unreferenced data-modifying CTEs last first) and accounts
    // in hash order: it deadlocked under load (test/cluster/cluster.test.ts).
    const accountIds = [...new Set(batch.map((s) => s.record.accountId))].sort((a, b) => a - b);
    await tx.unsafe(`SELECT id FROM accounts WHERE id IN (SELECT (jsonb_array_elements_text($1::text::jsonb))::int) ORDER BY id FOR NO KEY UPDATE`, [JSON.stringify(accountIds)]);
    await tx.unsafe(RELEASE_HOLDS, [JSON.stringify(batch.map((s) => s.record.requestId))]);
    const inserted = await tx.unsafe(
      `INSERT INTO usage_log (${USAGE_COLUMNS.replace(/ (text|bigint|int|boolean)/g, "")})
       SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS x(${USAGE_COLUMNS})
       ON CONFLICT (request_id) DO NOTHING RETURNING request_id`,
      [usageJson(batch)],
    ) as { request_id: string }[];
    const fresh = new Set(inserted.map((r) => r.request_id));
    // Already recorded (never charge twice) or refused (nothing to charge): only the new rows count.
    const due = batch.filter((s) => fresh.has(s.record.requestId) && !s.record.refused);
    if (due.length === 0) return;

    const charged = due.filter((s) => s.cost > 0);
    const byAccount = new Map<number, number>();
    for (const s of charged) byAccount.set(s.record.accountId, (byAccount.get(s.record.accountId) ?? 0) + s.cost);
    if (byAccount.size > 0) {
      // The CHECK (credits >= 0) refuses an overdraft here, rolling the batch back. Accounts in id order:
      // two instances' batches lock them in the same order, so they cannot deadlock on each other.
      const after = await tx.unsafe(
        `UPDATE accounts a SET credits = a.credits - v.cost
         FROM (SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS x(id int, cost bigint) ORDER BY id) v
         WHERE a.id = v.id RETURNING a.id, a.credits`,
        [JSON.stringify([...byAccount].sort((x, y) => x[0] - y[0]).map(([id, cost]) => ({ id, cost })))],
      ) as { id: number; credits: string | number }[];
      // Each charge's balance_after, in batch order, counted back from the balance after them all.
      const running = new Map(after.map((r) => [Number(r.id), Number(r.credits) + byAccount.get(Number(r.id))!]));
      const ledger = charged.filter((s) => running.has(s.record.accountId)).map((s) => {
        const balance = running.get(s.record.accountId)! - s.cost;
        running.set(s.record.accountId, balance);
        return { at: s.at, account_id: s.record.accountId, user_id: s.record.userId, amount: -s.cost, balance_after: balance, ref: s.record.requestId, key_id: s.record.keyId, note: s.record.model };
      });
      if (ledger.length > 0) {
        await tx.unsafe(
          `INSERT INTO ledger (at, account_id, user_id, kind, amount, balance_after, ref, key_id, actor, note)
           SELECT at, account_id, user_id, 'charge', amount, balance_after, ref, key_id, 'relay', note
           FROM jsonb_to_recordset($1::text::jsonb) AS x(at bigint, account_id int, user_id int, amount bigint, balance_after bigint, ref text, key_id int, note text)`,
          [JSON.stringify(ledger)],
        );
      }
    }

    const keys = new Map<number, { spent: number; at: number }>();
    for (const s of due) {
      if (s.record.keyId === null) continue;
      const k = keys.get(s.record.keyId) ?? { spent: 0, at: 0 };
      k.spent += s.cost;
      k.at = Math.max(k.at, s.at);
      keys.set(s.record.keyId, k);
    }
    if (keys.size > 0) {
      await tx.unsafe(
        `UPDATE api_keys k SET spent = k.spent + v.spent, last_used_at = GREATEST(coalesce(k.last_used_at, 0), v.at)
         FROM (SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS x(id int, spent bigint, at bigint) ORDER BY id) v WHERE k.id = v.id`,
        [JSON.stringify([...keys].sort((x, y) => x[0] - y[0]).map(([id, k]) => ({ id, spent: k.spent, at: k.at })))],
      );
    }

    const tokens = new Map<string, { account_id: number; month: string; tokens: number }>();
    const members = new Map<string, { account_id: number; user_id: number; month: string; credits: number }>();
    for (const s of due) {
      const month = utcMonth(s.at);
      if (s.tokens > 0) {
        const k = `${s.record.accountId}:${month}`;
        const t = tokens.get(k) ?? { account_id: s.record.accountId, month, tokens: 0 };
        t.tokens += s.tokens;
        tokens.set(k, t);
      }
      // A member's spend in an org counts against their monthly cap there.
      if (s.cost > 0 && s.record.orgId !== null && s.record.userId !== null) {
        const k = `${s.record.accountId}:${s.record.userId}:${month}`;
        const m = members.get(k) ?? { account_id: s.record.accountId, user_id: s.record.userId, month, credits: 0 };
        m.credits += s.cost;
        members.set(k, m);
      }
    }
    if (tokens.size > 0) {
      await tx.unsafe(
        `INSERT INTO token_usage (account_id, month, tokens)
         SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS x(account_id int, month text, tokens bigint) ORDER BY account_id, month
         ON CONFLICT (account_id, month) DO UPDATE SET tokens = token_usage.tokens + excluded.tokens`,
        [JSON.stringify([...tokens.values()])],
      );
    }
    if (members.size > 0) {
      await tx.unsafe(
        `INSERT INTO member_spend (account_id, user_id, month, credits)
         SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS x(account_id int, user_id int, month text, credits bigint) ORDER BY account_id, user_id, month
         ON CONFLICT (account_id, user_id, month) DO UPDATE SET credits = member_spend.credits + excluded.credits`,
        [JSON.stringify([...members.values()])],
      );
    }
  });
}

/** Commits a batch; when it fails for its data (not the connection), each settlement alone, so one bad row cannot drop the rest. */
export async function commitPgOrSplit(sql: SQL, batch: readonly Settlement[]): Promise<{ dropped: { requestId: string; error: string }[] }> {
  try {
    await commitPgSettlements(sql, batch);
    return { dropped: [] };
  } catch (err) {
    if (isConnectionError(err) || isTransient(err)) throw err; // the server is away, or a retry will pass: the whole batch waits
    const dropped: { requestId: string; error: string }[] = [];
    for (const s of batch) {
      try {
        await commitPgSettlements(sql, [s]);
      } catch (e) {
        if (isConnectionError(e) || isTransient(e)) throw e;
        dropped.push({ requestId: s.record.requestId, error: String(e) });
      }
    }
    return { dropped };
  }
}

/** A deadlock, a serialization failure or a lock timeout: nothing wrong with the data, so the batch is retried, never dropped. */
function isTransient(err: unknown): boolean {
  const state = String((err as { errno?: unknown } | null)?.errno ?? "");
  return state === "40P01" || state === "40001" || state === "55P03";
}

/**
 * Bun.sql's errors for a server that is not there (refused, closed, timed out), as opposed to one that refused
 * the data; and a server that answers only to say it is not serving: class 08 (connection exception) and
 * 57P01-57P03 (shutting down, crashed, "not yet accepting connections" while it recovers after a restart).
 */
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code ?? "";
  const state = String((err as { errno?: unknown } | null)?.errno ?? "");
  return /^ERR_POSTGRES_(CONNECTION|CONNECTION_CLOSED|CONNECTION_REFUSED|CONNECTION_TIMEOUT|IDLE_TIMEOUT|LIFETIME_TIMEOUT|TLS)/.test(code) ||
    /^(08...|57P0[123])$/.test(state) ||
    /ECONNREFUSED|ECONNRESET|Connection closed|connection refused/i.test(String(err));
}
