CREATE TABLE `objects` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`upstream_id` text NOT NULL,
	`channel_id` integer NOT NULL,
	`account_id` integer NOT NULL,
	`key_id` integer,
	`status` text,
	`meta` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `objects_kind_upstream_unique` ON `objects` (`kind`,`upstream_id`,`channel_id`);--> statement-breakpoint
CREATE INDEX `objects_account_kind_idx` ON `objects` (`account_id`,`kind`,`id`);