ALTER TABLE `objects` ADD `prepaid` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `objects` ADD `model` text;--> statement-breakpoint
ALTER TABLE `objects` ADD `settled_at` integer;