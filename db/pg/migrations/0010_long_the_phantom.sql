ALTER TABLE "objects" ADD COLUMN "plan" jsonb;--> statement-breakpoint
CREATE INDEX "objects_request_idx" ON "objects" USING btree ("request_id");