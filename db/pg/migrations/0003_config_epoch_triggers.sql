-- Hand-written (drizzle-kit generate --custom): config_epoch's row and the triggers that bump it when channels
-- or prices change, from any instance or connection. Every instance polls auth_epoch and config_epoch
-- together (server/cluster/changes.ts) and reloads its channel registry and price book when this one moved,
-- so a write through any instance's admin socket reaches the others without a message that could be lost.
INSERT INTO "config_epoch" ("id", "n") VALUES (1, 0);--> statement-breakpoint
CREATE FUNCTION "relay_config_epoch_bump"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "config_epoch" SET "n" = "n" + 1 WHERE "id" = 1;
  RETURN NULL;
END;
$$;--> statement-breakpoint
CREATE TRIGGER "channels_config_change" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "channels" FOR EACH STATEMENT EXECUTE FUNCTION "relay_config_epoch_bump"();--> statement-breakpoint
CREATE TRIGGER "prices_config_change" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "prices" FOR EACH STATEMENT EXECUTE FUNCTION "relay_config_epoch_bump"();
