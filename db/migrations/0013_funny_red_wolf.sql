ALTER TABLE `objects` ADD `plan` text;--> statement-breakpoint
CREATE INDEX `objects_request_idx` ON `objects` (`request_id`);