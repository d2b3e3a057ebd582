-- Hand-written (drizzle-kit generate --custom): cluster admission's reservation, in one round trip.
-- relay_reserve checks, under the account's row lock, that a request's hold still fits (balance, key spend
-- limit, member monthly cap, monthly token quota) and only then records the hold and adds it to the held
-- columns. Every reservation of an account's money goes through its row lock (FOR UPDATE), so two instances
-- can never both spend the same credits, and the CHECK (credits - held >= 0) on accounts backs that up. It
-- returns the state it saw (after the hold, for 'ok'), so the caller plans the next request without another
-- read. PL/pgSQL with its statements inline (plans cached per connection): a SQL-language helper function
-- was planned again on every call and made this three times slower.
-- Outcomes: ok | balance | key | member | tokens | duplicate | no_account.
CREATE FUNCTION "relay_reserve"(
  p_request text, p_account int, p_key int, p_member int, p_credits bigint, p_tokens bigint,
  p_key_limit bigint, p_member_limit bigint, p_quota bigint, p_month text, p_instance text, p_admitted text, p_now bigint)
RETURNS TABLE (outcome text, credits bigint, held bigint, held_tokens bigint, month_tokens bigint, key_spent bigint, key_held bigint, member_spent bigint, member_held bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_credits bigint; v_held bigint; v_held_tokens bigint;
  v_month bigint := 0; v_key_spent bigint := 0; v_key_held bigint := 0; v_member_spent bigint := 0; v_member_held bigint := 0;
  verdict text := 'ok';
BEGIN
  SELECT a.credits, a.held, a.held_tokens INTO v_credits, v_held, v_held_tokens FROM accounts a WHERE a.id = p_account FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'no_account'::text, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint;
    RETURN;
  END IF;
  -- Only what a limit needs is read: most requests have no key limit, no member cap and no quota.
  IF p_key IS NOT NULL THEN SELECT k.spent, k.held INTO v_key_spent, v_key_held FROM api_keys k WHERE k.id = p_key; END IF;
  IF p_member IS NOT NULL THEN
    SELECT m.held INTO v_member_held FROM memberships m WHERE m.account_id = p_account AND m.user_id = p_member;
    IF p_member_limit IS NOT NULL THEN
      SELECT coalesce(max(s.credits), 0) INTO v_member_spent FROM member_spend s WHERE s.account_id = p_account AND s.user_id = p_member AND s.month = p_month;
    END IF;
  END IF;
  IF p_quota > 0 THEN
    SELECT coalesce(max(t.tokens), 0) INTO v_month FROM token_usage t WHERE t.account_id = p_account AND t.month = p_month;
  END IF;
  v_key_spent := coalesce(v_key_spent, 0); v_key_held := coalesce(v_key_held, 0); v_member_held := coalesce(v_member_held, 0);
  IF v_credits - v_held < p_credits THEN verdict := 'balance';
  ELSIF p_key_limit IS NOT NULL AND v_key_spent + v_key_held + p_credits > p_key_limit THEN verdict := 'key';
  ELSIF p_member_limit IS NOT NULL AND v_member_spent + v_member_held + p_credits > p_member_limit THEN verdict := 'member';
  ELSIF p_quota > 0 AND v_month + v_held_tokens + p_tokens > p_quota THEN verdict := 'tokens';
  END IF;
  IF verdict = 'ok' THEN
    INSERT INTO holds (request_id, account_id, key_id, member_user_id, credits, tokens, instance_id, admitted, created_at)
    VALUES (p_request, p_account, p_key, p_member, p_credits, p_tokens, p_instance, p_admitted::jsonb, p_now)
    ON CONFLICT (request_id) DO NOTHING;
    IF NOT FOUND THEN
      verdict := 'duplicate';
    ELSE
      UPDATE accounts a SET held = a.held + p_credits, held_tokens = a.held_tokens + p_tokens WHERE a.id = p_account;
      IF p_key IS NOT NULL THEN UPDATE api_keys k SET held = k.held + p_credits WHERE k.id = p_key; END IF;
      IF p_member IS NOT NULL THEN UPDATE memberships m SET held = m.held + p_credits WHERE m.account_id = p_account AND m.user_id = p_member; END IF;
      v_held := v_held + p_credits; v_held_tokens := v_held_tokens + p_tokens; v_key_held := v_key_held + p_credits; v_member_held := v_member_held + p_credits;
    END IF;
  END IF;
  outcome := verdict; credits := v_credits; held := v_held; held_tokens := v_held_tokens; month_tokens := v_month;
  key_spent := v_key_spent; key_held := v_key_held; member_spent := v_member_spent; member_held := v_member_held;
  RETURN NEXT;
END;
$$;
