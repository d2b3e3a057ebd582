ALTER TABLE `objects` ADD `plan` text;--> statement-breakpoint
ALTER TABLE `objects` ADD `used_credits` integer;--> statement-breakpoint
ALTER TABLE `objects` ADD `used_tokens` integer;--> statement-breakpoint
CREATE INDEX `objects_request_idx` ON `objects` (`request_id`);