-- Hand-written (drizzle-kit generate --custom): a settlement batch in one round trip, the same rules as the
-- statements usage/pg-settlement.ts used to send one by one. One call holds the batch's account locks only
-- while it runs, not across a statement round trip each, which was what admissions of a busy account waited
-- for. Input: a JSON array, one object per settlement, with the usage_log columns plus tokens, refused and
-- month (the settlement's UTC month, computed by the caller). Idempotent by request id: usage rows go in
-- with ON CONFLICT DO NOTHING, and only the rows that went in are charged. Returns how many were charged.
CREATE FUNCTION "relay_settle"(p_batch jsonb) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  fresh text[];
  released int;
  charged int;
BEGIN
  -- Every account of the batch, locked in id order first: what follows changes rows this call already holds,
  -- so batches of two instances and relay_reserve (account, then key and member) wait, never deadlock.
  PERFORM 1 FROM accounts WHERE id IN (SELECT DISTINCT (e->>'account_id')::int FROM jsonb_array_elements(p_batch) e) ORDER BY id FOR NO KEY UPDATE;

  -- Holds are released before the charges, so credits - held never dips below zero in between; a hold is
  -- deleted once, whoever deletes it, so it is released exactly once.
  WITH d AS (
    DELETE FROM holds WHERE request_id IN (SELECT e->>'request_id' FROM jsonb_array_elements(p_batch) e)
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
  SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM k) + (SELECT count(*) FROM m) INTO released;

  WITH ins AS (
    INSERT INTO usage_log (request_id, at, account_id, org_id, user_id, key_id, key_label, key_prefix, source_ip, endpoint, model,
      upstream_model, channel_id, status, error_code, stream, prompt_tokens, completion_tokens, tokens_estimated, cost, ttfb_ms, total_ms,
      shortfall, error_detail, cached_tokens, cache_write_tokens)
    SELECT request_id, at, account_id, org_id, user_id, key_id, key_label, key_prefix, source_ip, endpoint, model,
      upstream_model, channel_id, status, error_code, stream, prompt_tokens, completion_tokens, tokens_estimated, cost, ttfb_ms, total_ms,
      shortfall, error_detail, cached_tokens, cache_write_tokens
    FROM jsonb_to_recordset(p_batch) AS x(request_id text, at bigint, account_id int, org_id int, user_id int, key_id int, key_label text,
      key_prefix text, source_ip text, endpoint text, model text, upstream_model text, channel_id int, status int, error_code text, stream boolean,
      prompt_tokens bigint, completion_tokens bigint, tokens_estimated boolean, cost bigint, ttfb_ms bigint, total_ms bigint,
      shortfall bigint, error_detail text, cached_tokens bigint, cache_write_tokens bigint)
    ON CONFLICT (request_id) DO NOTHING RETURNING request_id
  )
  SELECT coalesce(array_agg(request_id), '{}') INTO fresh FROM ins;
  IF cardinality(fresh) = 0 THEN RETURN 0; END IF;

  -- What is due: rows that went in now (never charge twice) and were not refused (nothing to charge). Each
  -- charge's balance_after is the balance after the whole batch plus the charges after it in batch order.
  -- The CHECKs (credits >= 0, credits - held >= 0) refuse an overdraft, rolling the batch back.
  WITH b AS (
    SELECT * FROM ROWS FROM (jsonb_to_recordset(p_batch) AS (request_id text, at bigint, account_id int, user_id int, key_id int, model text,
      cost bigint, refused boolean)) WITH ORDINALITY AS x(request_id, at, account_id, user_id, key_id, model, cost, refused, ord)
  ), due AS (
    SELECT * FROM b WHERE request_id = ANY(fresh) AND NOT refused AND cost > 0
  ), upd AS (
    UPDATE accounts a SET credits = a.credits - s.c
    FROM (SELECT account_id, sum(cost) AS c FROM due GROUP BY account_id) s WHERE a.id = s.account_id RETURNING a.id, a.credits
  )
  INSERT INTO ledger (at, account_id, user_id, kind, amount, balance_after, ref, key_id, actor, note)
  SELECT d.at, d.account_id, d.user_id, 'charge', -d.cost,
    u.credits + coalesce(sum(d.cost) OVER (PARTITION BY d.account_id ORDER BY d.ord DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0),
    d.request_id, d.key_id, 'relay', d.model
  FROM due d JOIN upd u ON u.id = d.account_id
  ORDER BY d.ord;
  GET DIAGNOSTICS charged = ROW_COUNT;

  WITH due AS (
    SELECT * FROM jsonb_to_recordset(p_batch) AS x(request_id text, key_id int, cost bigint, at bigint, refused boolean)
    WHERE request_id = ANY(fresh) AND NOT refused AND key_id IS NOT NULL
  )
  UPDATE api_keys k SET spent = k.spent + v.spent, last_used_at = GREATEST(coalesce(k.last_used_at, 0), v.at)
  FROM (SELECT key_id, sum(cost) AS spent, max(at) AS at FROM due GROUP BY key_id) v WHERE k.id = v.key_id;

  INSERT INTO token_usage (account_id, month, tokens)
  SELECT account_id, month, sum(tokens) FROM jsonb_to_recordset(p_batch) AS x(request_id text, account_id int, month text, tokens bigint, refused boolean)
  WHERE request_id = ANY(fresh) AND NOT refused AND tokens > 0
  GROUP BY account_id, month ORDER BY account_id, month
  ON CONFLICT (account_id, month) DO UPDATE SET tokens = token_usage.tokens + excluded.tokens;

  -- A member's spend in an org counts against their monthly cap there.
  INSERT INTO member_spend (account_id, user_id, month, credits)
  SELECT account_id, user_id, month, sum(cost) FROM jsonb_to_recordset(p_batch) AS x(request_id text, account_id int, org_id int, user_id int, month text, cost bigint, refused boolean)
  WHERE request_id = ANY(fresh) AND NOT refused AND cost > 0 AND org_id IS NOT NULL AND user_id IS NOT NULL
  GROUP BY account_id, user_id, month ORDER BY account_id, user_id, month
  ON CONFLICT (account_id, user_id, month) DO UPDATE SET credits = member_spend.credits + excluded.credits;

  RETURN charged;
END;
$$;--> statement-breakpoint
-- The holds table is written and deleted once per request: its primary key is all it needs (the sweeper and
-- the live view scan it, and it only ever holds the requests running now).
DROP INDEX "holds_instance_idx";--> statement-breakpoint
DROP INDEX "holds_account_idx";
--> statement-breakpoint
-- Cluster admission's common reservation (a balance to check, no key limit, member cap or quota) for many
-- requests in one call: ClusterAdmission collects the reservations of one event-loop turn and sends them
-- together, so a busy instance pays one round trip and one commit for many requests. In account id order,
-- the order settlement batches lock accounts in, so the two never deadlock. Per request: a conditional
-- UPDATE (credits - held must cover the hold) and the hold's row; the outcome with the balance it saw.
-- Input: [{r: request id, a: account, c: credits, i: instance, d: admitted (JSON), t: now ms}].
CREATE FUNCTION "relay_reserve_balance"(p_batch jsonb)
RETURNS TABLE (request_id text, outcome text, credits bigint, held bigint, held_tokens bigint)
LANGUAGE plpgsql AS $$
DECLARE
  e record;
  cur int := NULL;
  v_credits bigint; v_held bigint; v_held_tokens bigint; v_added bigint := 0;
  found_account boolean := false;
BEGIN
  -- Each account's row is locked once and written once per call: its reservations are decided one after
  -- the other against the running held amount, then added in one UPDATE.
  FOR e IN SELECT * FROM jsonb_to_recordset(p_batch) AS x(r text, a int, c bigint, i text, d jsonb, t bigint) ORDER BY x.a LOOP
    IF cur IS DISTINCT FROM e.a THEN
      IF cur IS NOT NULL AND v_added <> 0 THEN UPDATE accounts x SET held = x.held + v_added WHERE x.id = cur; END IF;
      cur := e.a;
      v_added := 0;
      SELECT x.credits, x.held, x.held_tokens INTO v_credits, v_held, v_held_tokens FROM accounts x WHERE x.id = e.a FOR NO KEY UPDATE;
      found_account := FOUND;
    END IF;
    request_id := e.r;
    IF NOT found_account THEN
      outcome := 'no_account';
    ELSIF v_credits - v_held < e.c THEN
      outcome := 'balance';
    ELSE
      INSERT INTO holds (request_id, account_id, key_id, member_user_id, credits, tokens, instance_id, admitted, created_at)
      VALUES (e.r, e.a, NULL, NULL, e.c, 0, e.i, e.d, e.t) ON CONFLICT ON CONSTRAINT holds_pkey DO NOTHING;
      IF FOUND THEN
        v_held := v_held + e.c;
        v_added := v_added + e.c;
        outcome := 'ok';
      ELSE
        outcome := 'duplicate';
      END IF;
    END IF;
    credits := coalesce(v_credits, 0); held := coalesce(v_held, 0); held_tokens := coalesce(v_held_tokens, 0);
    RETURN NEXT;
  END LOOP;
  IF cur IS NOT NULL AND v_added <> 0 THEN UPDATE accounts x SET held = x.held + v_added WHERE x.id = cur; END IF;
END;
$$;--> statement-breakpoint
-- Takes back a hold that was reserved while the request's slots were being taken, when the slots were
-- refused (ClusterAdmission reserves and takes at once): the hold goes and its amounts come off the held
-- columns, account first (the order relay_reserve locks in). Nothing, if it is already gone.
CREATE FUNCTION "relay_cancel_hold"(p_request text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE h record;
BEGIN
  DELETE FROM holds WHERE holds.request_id = p_request RETURNING account_id, key_id, member_user_id, credits, tokens INTO h;
  IF NOT FOUND THEN RETURN false; END IF;
  UPDATE accounts x SET held = x.held - h.credits, held_tokens = x.held_tokens - h.tokens WHERE x.id = h.account_id;
  IF h.key_id IS NOT NULL THEN UPDATE api_keys x SET held = x.held - h.credits WHERE x.id = h.key_id; END IF;
  IF h.member_user_id IS NOT NULL THEN UPDATE memberships x SET held = x.held - h.credits WHERE x.account_id = h.account_id AND x.user_id = h.member_user_id; END IF;
  RETURN true;
END;
$$;
