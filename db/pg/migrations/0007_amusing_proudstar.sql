ALTER TABLE "objects" ADD COLUMN "prepaid" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "objects" ADD COLUMN "model" text;--> statement-breakpoint
ALTER TABLE "objects" ADD COLUMN "settled_at" bigint;