ALTER TABLE `channels` ADD `type` text DEFAULT 'openai' NOT NULL;--> statement-breakpoint
ALTER TABLE `channels` ADD `api_version` text;