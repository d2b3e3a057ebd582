CREATE TABLE "config_epoch" (
	"id" integer PRIMARY KEY NOT NULL,
	"n" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "holds" (
	"request_id" text PRIMARY KEY NOT NULL,
	"account_id" integer NOT NULL,
	"key_id" integer,
	"member_user_id" integer,
	"credits" bigint NOT NULL,
	"tokens" bigint NOT NULL,
	"instance_id" text NOT NULL,
	"admitted" jsonb NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "instances" (
	"id" text PRIMARY KEY NOT NULL,
	"host" text NOT NULL,
	"pid" integer NOT NULL,
	"listen" text NOT NULL,
	"version" text NOT NULL,
	"mode" text NOT NULL,
	"started_at" bigint NOT NULL,
	"heartbeat_at" bigint NOT NULL,
	"stopped_at" bigint,
	"redis_ok" integer DEFAULT 1 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "held" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "held" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "held_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "memberships" ADD COLUMN "held" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "holds_instance_idx" ON "holds" USING btree ("instance_id");--> statement-breakpoint
CREATE INDEX "holds_account_idx" ON "holds" USING btree ("account_id");--> statement-breakpoint
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_held_within_balance" CHECK ("accounts"."held" >= 0 AND "accounts"."held_tokens" >= 0 AND "accounts"."credits" - "accounts"."held" >= 0);