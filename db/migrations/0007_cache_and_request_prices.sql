ALTER TABLE `prices` ADD `cached_input_per_mtok` integer;--> statement-breakpoint
ALTER TABLE `prices` ADD `cache_write_per_mtok` integer;--> statement-breakpoint
ALTER TABLE `prices` ADD `per_request` integer DEFAULT 0 NOT NULL;