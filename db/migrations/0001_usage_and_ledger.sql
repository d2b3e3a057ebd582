CREATE TABLE `usage_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`request_id` text NOT NULL,
	`at` integer NOT NULL,
	`user_id` integer NOT NULL,
	`key_id` integer,
	`key_prefix` text DEFAULT '' NOT NULL,
	`source_ip` text DEFAULT '' NOT NULL,
	`endpoint` text DEFAULT '' NOT NULL,
	`model` text DEFAULT '' NOT NULL,
	`upstream_model` text DEFAULT '' NOT NULL,
	`channel_id` integer,
	`status` integer NOT NULL,
	`error_code` text,
	`stream` integer DEFAULT false NOT NULL,
	`prompt_tokens` integer DEFAULT 0 NOT NULL,
	`completion_tokens` integer DEFAULT 0 NOT NULL,
	`tokens_estimated` integer DEFAULT false NOT NULL,
	`cost` integer DEFAULT 0 NOT NULL,
	`ttfb_ms` integer,
	`total_ms` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `usage_log_request_id_unique` ON `usage_log` (`request_id`);--> statement-breakpoint
CREATE INDEX `usage_user_at_idx` ON `usage_log` (`user_id`,`at`);--> statement-breakpoint
CREATE INDEX `usage_key_at_idx` ON `usage_log` (`key_id`,`at`);--> statement-breakpoint
CREATE INDEX `usage_at_idx` ON `usage_log` (`at`);--> statement-breakpoint
CREATE TABLE `ledger` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`user_id` integer NOT NULL,
	`kind` text NOT NULL,
	`amount` integer NOT NULL,
	`balance_after` integer NOT NULL,
	`ref` text NOT NULL,
	`key_id` integer,
	`actor` text DEFAULT '' NOT NULL,
	`note` text DEFAULT '' NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ledger_ref_unique` ON `ledger` (`ref`);--> statement-breakpoint
CREATE INDEX `ledger_user_idx` ON `ledger` (`user_id`,`id`);--> statement-breakpoint
CREATE TABLE `prices` (
	`model` text PRIMARY KEY NOT NULL,
	`input_per_mtok` integer NOT NULL,
	`output_per_mtok` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `token_usage` (
	`user_id` integer NOT NULL,
	`month` text NOT NULL,
	`tokens` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`user_id`, `month`)
);
