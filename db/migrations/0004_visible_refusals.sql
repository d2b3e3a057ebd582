ALTER TABLE `audit_log` ADD `ip` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_log` ADD `shortfall` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_log` ADD `error_detail` text;