CREATE TABLE `auth_epoch` (
	`id` integer PRIMARY KEY NOT NULL,
	`n` integer NOT NULL
);--> statement-breakpoint
INSERT INTO `auth_epoch` (`id`, `n`) VALUES (1, 0);--> statement-breakpoint
-- Hand-written: what authentication caches changed. Not spent, last_used_at or credits: the settlement
-- writer updates those on every batch, and they are not read from the key cache.
CREATE TRIGGER `api_keys_auth_insert` AFTER INSERT ON `api_keys` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `api_keys_auth_delete` AFTER DELETE ON `api_keys` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `api_keys_auth_update` AFTER UPDATE OF `user_id`, `public_id`, `hash`, `ciphertext`, `label`, `enabled`, `group`, `allow_ips`, `expires_at`, `models`, `spend_limit`, `scopes`, `created_at` ON `api_keys` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `users_auth_insert` AFTER INSERT ON `users` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `users_auth_delete` AFTER DELETE ON `users` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `users_auth_update` AFTER UPDATE OF `name`, `enabled`, `role`, `concurrency`, `monthly_tokens`, `password_hash`, `created_at` ON `users` BEGIN UPDATE `auth_epoch` SET `n` = `n` + 1 WHERE `id` = 1; END;
