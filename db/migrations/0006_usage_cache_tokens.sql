ALTER TABLE `usage_log` ADD `cached_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_log` ADD `cache_write_tokens` integer DEFAULT 0 NOT NULL;