-- Hand-written (drizzle-kit generate --custom): cluster admission's reservation, in one round trip.
-- relay_room reads what a request's hold is planned against; relay_reserve checks it again under the account's
-- row lock and, only if everything still fits, records the hold and adds it to the held columns. Every
-- reservation of an account's money goes through its row lock (FOR UPDATE), so two instances can never both
-- spend the same credits, and the CHECK (credits - held >= 0) on accounts backs that up. Both return the state
-- they saw (after the hold, for 'ok'), so the caller plans the next request without another read.
-- Outcomes: ok | balance | key | member | tokens | duplicate | no_account.
CREATE FUNCTION "relay_room"(p_account int, p_key int, p_member int, p_month text)
RETURNS TABLE (credits bigint, held bigint, held_tokens bigint, month_tokens bigint, key_spent bigint, key_held bigint, member_spent bigint, member_held bigint)
LANGUAGE sql STABLE AS $$
  SELECT a.credits, a.held, a.held_tokens,
    coalesce((SELECT t.tokens FROM token_usage t WHERE t.account_id = p_account AND t.month = p_month), 0),
    coalesce((SELECT k.spent FROM api_keys k WHERE k.id = p_key), 0),
    coalesce((SELECT k.held FROM api_keys k WHERE k.id = p_key), 0),
    coalesce((SELECT s.credits FROM member_spend s WHERE s.account_id = p_account AND s.user_id = p_member AND s.month = p_month), 0),
    coalesce((SELECT m.held FROM memberships m WHERE m.account_id = p_account AND m.user_id = p_member), 0)
  FROM accounts a WHERE a.id = p_account
$$;--> statement-breakpoint
CREATE FUNCTION "relay_reserve"(
  p_request text, p_account int, p_key int, p_member int, p_credits bigint, p_tokens bigint,
  p_key_limit bigint, p_member_limit bigint, p_quota bigint, p_month text, p_instance text, p_admitted text, p_now bigint)
RETURNS TABLE (outcome text, credits bigint, held bigint, held_tokens bigint, month_tokens bigint, key_spent bigint, key_held bigint, member_spent bigint, member_held bigint)
LANGUAGE plpgsql AS $$
DECLARE
  a record;
  r record;
  verdict text := 'ok';
BEGIN
  SELECT x.credits, x.held, x.held_tokens INTO a FROM accounts x WHERE x.id = p_account FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'no_account'::text, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint;
    RETURN;
  END IF;
  SELECT * INTO r FROM relay_room(p_account, p_key, p_member, p_month);
  IF r.credits - r.held < p_credits THEN verdict := 'balance';
  ELSIF p_key_limit IS NOT NULL AND r.key_spent + r.key_held + p_credits > p_key_limit THEN verdict := 'key';
  ELSIF p_member_limit IS NOT NULL AND r.member_spent + r.member_held + p_credits > p_member_limit THEN verdict := 'member';
  ELSIF p_quota > 0 AND r.month_tokens + r.held_tokens + p_tokens > p_quota THEN verdict := 'tokens';
  END IF;
  IF verdict = 'ok' THEN
    INSERT INTO holds (request_id, account_id, key_id, member_user_id, credits, tokens, instance_id, admitted, created_at)
    VALUES (p_request, p_account, p_key, p_member, p_credits, p_tokens, p_instance, p_admitted::jsonb, p_now)
    ON CONFLICT (request_id) DO NOTHING;
    IF NOT FOUND THEN
      verdict := 'duplicate';
    ELSE
      UPDATE accounts x SET held = x.held + p_credits, held_tokens = x.held_tokens + p_tokens WHERE x.id = p_account;
      IF p_key IS NOT NULL THEN UPDATE api_keys k SET held = k.held + p_credits WHERE k.id = p_key; END IF;
      IF p_member IS NOT NULL THEN UPDATE memberships m SET held = m.held + p_credits WHERE m.account_id = p_account AND m.user_id = p_member; END IF;
      r.held := r.held + p_credits;
      r.held_tokens := r.held_tokens + p_tokens;
      r.key_held := r.key_held + p_credits;
      r.member_held := r.member_held + p_credits;
    END IF;
  END IF;
  RETURN QUERY SELECT verdict, r.credits, r.held, r.held_tokens, r.month_tokens, r.key_spent, r.key_held, r.member_spent, r.member_held;
END;
$$;
