-- Hand-written (drizzle-kit generate --custom): the auth_epoch counter's row and the triggers that bump it,
-- PostgreSQL's version of SQLite's (db/migrations/0003 and 0008, as they stand after 0008). Same tables, same
-- events, same UPDATE OF column lists, row-level as SQLite's are, so n grows by the same amount for the same
-- writes. What authentication caches: never the balance (accounts.credits), a key's spend or last-used time,
-- which the settlement writer changes with every batch. Each bump also sends pg_notify('relay_auth', <table>),
-- delivered to every LISTENing instance when the writing transaction commits and dropped if it rolls back;
-- PostgreSQL folds identical notifications of one transaction into one, so a bulk change is one message per
-- table, not one per row. Added on PostgreSQL only: TRUNCATE of those tables bumps too (SQLite has no TRUNCATE).
INSERT INTO "auth_epoch" ("id", "n") VALUES (1, 0);--> statement-breakpoint
CREATE FUNCTION "relay_auth_epoch_bump"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "auth_epoch" SET "n" = "n" + 1 WHERE "id" = 1;
  PERFORM pg_notify('relay_auth', TG_TABLE_NAME);
  RETURN NULL;
END;
$$;--> statement-breakpoint
CREATE TRIGGER "api_keys_auth_insert" AFTER INSERT ON "api_keys" FOR EACH ROW EXECUTE FUNCTION "relay_auth_epoch_bump"();--> statement-breakpoint
CREATE TRIGGER "api_keys_auth_delete" AFTER DELETE ON "api_keys" FOR EACH ROW EXECUTE FUNCTION "relay_auth_epoch_bump"();--> statement-breakpoint
CREATE TRIGGER "api_keys_auth_update" AFTER UPDATE OF "account_id", "kind", "user_id", "public_id", "prefix", "hash", "ciphertext", "label", "enabled", "group", "allow_ips", "expires_at", "models", "spend_limit", "rpm", "tpm", "scopes", "created_at" ON "api_keys" FOR EACH ROW EXECUTE FUNCTION "relay_auth_epoch_bump"();--> statement-breakpoint
CREATE TRIGGER "api_keys_auth_truncate" AFTER TRUNCATE ON "api_keys" FOR EACH STATEMENT EXECUTE FUNCTION "relay_auth_epoch_bump"();--> statement-breakpoint
CREATE TRIGGER "users_auth_insert" AFTER INSERT ON "users" FOR EACH ROW EXECUTE FUNCTION "relay_auth_epoch_bump"();--> statement-breakpoint
CREATE TRIGGER "users_auth_delete" AFTER DELETE ON "users" FOR EACH ROW EXECUTE FUNCTION "relay_auth_epoch_bump"();--> statement-breakpoint
CREATE TRIGGER "users_auth_update" AFTER UPDATE OF "name", "enabled", "role", "password_hash", "account_id", "created_at" ON "users" FOR EACH ROW EXECUTE FUNCTION "relay_auth_epoch_bump"();--> statement-breakpoint
CREATE TRIGGER "users_auth_truncate" AFTER TRUNCATE ON "users" FOR EACH STATEMENT EXECUTE FUNCTION "relay_auth_epoch_bump"();--> statement-breakpoint
CREATE TRIGGER "accounts_auth_insert" AFTER INSERT ON "accounts" FOR EACH ROW EXECUTE FUNCTION "relay_auth_epoch_bump"();--> statement-breakpoint
CREATE TRIGGER "accounts_auth_delete" AFTER DELETE ON "accounts" FOR EACH ROW EXECUTE FUNCTION "relay_auth_epoch_bump"();--> statement-breakpoint
CREATE TRIGGER "accounts_auth_update" AFTER UPDATE OF "kind", "name", "concurrency", "monthly_tokens", "rpm", "tpm", "suspended", "models", "key_reveal" ON "accounts" FOR EACH ROW EXECUTE FUNCTION "relay_auth_epoch_bump"();--> statement-breakpoint
CREATE TRIGGER "accounts_auth_truncate" AFTER TRUNCATE ON "accounts" FOR EACH STATEMENT EXECUTE FUNCTION "relay_auth_epoch_bump"();--> statement-breakpoint
CREATE TRIGGER "memberships_auth_insert" AFTER INSERT ON "memberships" FOR EACH ROW EXECUTE FUNCTION "relay_auth_epoch_bump"();--> statement-breakpoint
CREATE TRIGGER "memberships_auth_delete" AFTER DELETE ON "memberships" FOR EACH ROW EXECUTE FUNCTION "relay_auth_epoch_bump"();--> statement-breakpoint
CREATE TRIGGER "memberships_auth_update" AFTER UPDATE ON "memberships" FOR EACH ROW EXECUTE FUNCTION "relay_auth_epoch_bump"();--> statement-breakpoint
CREATE TRIGGER "memberships_auth_truncate" AFTER TRUNCATE ON "memberships" FOR EACH STATEMENT EXECUTE FUNCTION "relay_auth_epoch_bump"();
