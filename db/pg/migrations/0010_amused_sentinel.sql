ALTER TABLE "objects" ADD COLUMN "plan" jsonb;--> statement-breakpoint
ALTER TABLE "objects" ADD COLUMN "used_credits" bigint;--> statement-breakpoint
ALTER TABLE "objects" ADD COLUMN "used_tokens" bigint;--> statement-breakpoint
CREATE INDEX "objects_request_idx" ON "objects" USING btree ("request_id");