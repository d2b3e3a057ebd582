-- Hand-written from drizzle-kit's draft: data-preserving. Every user gets a personal account with the same
-- id (so each id in the ledger, token counters, keys and usage rows carries over as it is), and the balance
-- and limits move from users to accounts. Runs in one transaction, where PRAGMA foreign_keys cannot be
-- turned off: so users is altered in place (never rebuilt: dropping it would cascade to api_keys), and the
-- auth_epoch triggers that name dropped columns are dropped first and made again at the end.
CREATE TABLE `accounts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`credits` integer DEFAULT 0 NOT NULL,
	`concurrency` integer DEFAULT 3 NOT NULL,
	`monthly_tokens` integer DEFAULT 0 NOT NULL,
	`rpm` integer,
	`tpm` integer,
	`suspended` integer DEFAULT false NOT NULL,
	`models` text,
	`key_reveal` text,
	`created_at` integer NOT NULL,
	CONSTRAINT "accounts_credits_non_negative" CHECK("accounts"."credits" >= 0)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `accounts_kind_name_unique` ON `accounts` (`kind`,`name`);--> statement-breakpoint
INSERT INTO `accounts` (`id`, `kind`, `name`, `credits`, `concurrency`, `monthly_tokens`, `created_at`)
  SELECT `id`, 'user', `name`, `credits`, max(`concurrency`, 1), `monthly_tokens`, `created_at` FROM `users`;--> statement-breakpoint
CREATE TABLE `member_spend` (
	`account_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`month` text NOT NULL,
	`credits` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`account_id`, `user_id`, `month`)
);
--> statement-breakpoint
CREATE TABLE `memberships` (
	`account_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`role` text NOT NULL,
	`monthly_spend` integer,
	`concurrency` integer,
	`rpm` integer,
	`tpm` integer,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`account_id`, `user_id`),
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
DROP TRIGGER `users_auth_update`;--> statement-breakpoint
ALTER TABLE `users` ADD `account_id` integer REFERENCES accounts(id);--> statement-breakpoint
UPDATE `users` SET `account_id` = `id`;--> statement-breakpoint
ALTER TABLE `users` DROP COLUMN `concurrency`;--> statement-breakpoint
ALTER TABLE `users` DROP COLUMN `monthly_tokens`;--> statement-breakpoint
ALTER TABLE `users` DROP COLUMN `credits`;--> statement-breakpoint
CREATE TABLE `__new_ledger` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`account_id` integer NOT NULL,
	`user_id` integer,
	`kind` text NOT NULL,
	`amount` integer NOT NULL,
	`balance_after` integer NOT NULL,
	`ref` text NOT NULL,
	`key_id` integer,
	`actor` text DEFAULT '' NOT NULL,
	`note` text DEFAULT '' NOT NULL
);
--> statement-breakpoint
INSERT INTO `__new_ledger`("id", "at", "account_id", "user_id", "kind", "amount", "balance_after", "ref", "key_id", "actor", "note")
  SELECT "id", "at", "user_id", "user_id", "kind", "amount", "balance_after", "ref", "key_id", "actor", "note" FROM `ledger`;--> statement-breakpoint
DROP TABLE `ledger`;--> statement-breakpoint
ALTER TABLE `__new_ledger` RENAME TO `ledger`;--> statement-breakpoint
CREATE UNIQUE INDEX `ledger_ref_unique` ON `ledger` (`ref`);--> statement-breakpoint
CREATE INDEX `ledger_account_idx` ON `ledger` (`account_id`,`id`);--> statement-breakpoint
CREATE TABLE `__new_token_usage` (
	`account_id` integer NOT NULL,
	`month` text NOT NULL,
	`tokens` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`account_id`, `month`)
);
--> statement-breakpoint
INSERT INTO `__new_token_usage`("account_id", "month", "tokens") SELECT "user_id", "month", "tokens" FROM `token_usage`;--> statement-breakpoint
DROP TABLE `token_usage`;--> statement-breakpoint
ALTER TABLE `__new_token_usage` RENAME TO `token_usage`;--> statement-breakpoint
CREATE TABLE `__new_api_keys` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`account_id` integer NOT NULL,
	`kind` text DEFAULT 'personal' NOT NULL,
	`user_id` integer,
	`public_id` text,
	`prefix` text,
	`hash` text NOT NULL,
	`ciphertext` text,
	`label` text DEFAULT '' NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`group` text DEFAULT 'either' NOT NULL,
	`allow_ips` text DEFAULT '[]' NOT NULL,
	`expires_at` integer,
	`models` text,
	`spend_limit` integer,
	`rpm` integer,
	`tpm` integer,
	`spent` integer DEFAULT 0 NOT NULL,
	`scopes` text DEFAULT '["full"]' NOT NULL,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
INSERT INTO `__new_api_keys`("id", "account_id", "kind", "user_id", "public_id", "prefix", "hash", "ciphertext", "label", "enabled", "group", "allow_ips", "expires_at", "models", "spend_limit", "spent", "scopes", "created_at", "last_used_at")
  SELECT "id", "user_id", 'personal', "user_id", "public_id", NULL, "hash", "ciphertext", "label", "enabled", "group", "allow_ips", "expires_at", "models", "spend_limit", "spent", "scopes", "created_at", "last_used_at" FROM `api_keys`;--> statement-breakpoint
CREATE TABLE `__new_usage_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`request_id` text NOT NULL,
	`at` integer NOT NULL,
	`account_id` integer NOT NULL,
	`org_id` integer,
	`user_id` integer,
	`key_id` integer,
	`key_label` text DEFAULT '' NOT NULL,
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
	`cached_tokens` integer DEFAULT 0 NOT NULL,
	`cache_write_tokens` integer DEFAULT 0 NOT NULL,
	`tokens_estimated` integer DEFAULT false NOT NULL,
	`cost` integer DEFAULT 0 NOT NULL,
	`shortfall` integer DEFAULT 0 NOT NULL,
	`error_detail` text,
	`ttfb_ms` integer,
	`total_ms` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
INSERT INTO `__new_usage_log`("id", "request_id", "at", "account_id", "org_id", "user_id", "key_id", "key_label", "key_prefix", "source_ip", "endpoint", "model", "upstream_model", "channel_id", "status", "error_code", "stream", "prompt_tokens", "completion_tokens", "cached_tokens", "cache_write_tokens", "tokens_estimated", "cost", "shortfall", "error_detail", "ttfb_ms", "total_ms")
  SELECT u."id", u."request_id", u."at", u."user_id", NULL, u."user_id", u."key_id", coalesce((SELECT k."label" FROM `__new_api_keys` k WHERE k."id" = u."key_id"), ''), u."key_prefix", u."source_ip", u."endpoint", u."model", u."upstream_model", u."channel_id", u."status", u."error_code", u."stream", u."prompt_tokens", u."completion_tokens", u."cached_tokens", u."cache_write_tokens", u."tokens_estimated", u."cost", u."shortfall", u."error_detail", u."ttfb_ms", u."total_ms" FROM `usage_log` u;--> statement-breakpoint
DROP TABLE `usage_log`;--> statement-breakpoint
ALTER TABLE `__new_usage_log` RENAME TO `usage_log`;--> statement-breakpoint
CREATE UNIQUE INDEX `usage_log_request_id_unique` ON `usage_log` (`request_id`);--> statement-breakpoint
CREATE INDEX `usage_user_at_idx` ON `usage_log` (`user_id`,`at`);--> statement-breakpoint
CREATE INDEX `usage_key_at_idx` ON `usage_log` (`key_id`,`at`);--> statement-breakpoint
CREATE INDEX `usage_account_at_idx` ON `usage_log` (`account_id`,`at`);--> statement-breakpoint
DROP TABLE `api_keys`;--> statement-breakpoint
ALTER TABLE `__new_api_keys` RENAME TO `api_keys`;--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_public_id_unique` ON `api_keys` (`public_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hash_unique` ON `api_keys` (`hash`);--> statement-breakpoint
CREATE INDEX `api_keys_user_idx` ON `api_keys` (`user_id`);--> statement-breakpoint
CREATE INDEX `api_keys_account_idx` ON `api_keys` (`account_id`);--> statement-breakpoint
-- What authentication caches, for the key cache's auth_epoch (see migration 0003): never the balance, spend or
-- last-used time, which the settlement writer changes with every batch.
CREATE TRIGGER `api_keys_auth_insert` AFTER INSERT ON `api_keys` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `api_keys_auth_delete` AFTER DELETE ON `api_keys` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `api_keys_auth_update` AFTER UPDATE OF `account_id`, `kind`, `user_id`, `public_id`, `prefix`, `hash`, `ciphertext`, `label`, `enabled`, `group`, `allow_ips`, `expires_at`, `models`, `spend_limit`, `rpm`, `tpm`, `scopes`, `created_at` ON `api_keys` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `users_auth_update` AFTER UPDATE OF `name`, `enabled`, `role`, `password_hash`, `account_id`, `created_at` ON `users` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `accounts_auth_insert` AFTER INSERT ON `accounts` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `accounts_auth_delete` AFTER DELETE ON `accounts` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `accounts_auth_update` AFTER UPDATE OF `kind`, `name`, `concurrency`, `monthly_tokens`, `rpm`, `tpm`, `suspended`, `models`, `key_reveal` ON `accounts` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `memberships_auth_insert` AFTER INSERT ON `memberships` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `memberships_auth_delete` AFTER DELETE ON `memberships` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `memberships_auth_update` AFTER UPDATE ON `memberships` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
