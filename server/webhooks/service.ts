import type { AppContext } from "../context";
import type { Actor } from "../audit/audit";
import type { WebhookRow } from "../../db/schema";
import { ApiError } from "../errors";
import { checkWebhookUrl } from "./url-guard";
import { newWebhookSecret } from "./signing";
import { ROTATION_OVERLAP_MS, sealSecret } from "./secrets";
import { createWebhookBody, MAX_WEBHOOKS_PER_ACCOUNT, publicWebhook } from "./model";

/** What an audit row may say about a URL: its origin only, since a path or query may carry a receiver's token. */
const originOf = (url: string) => new URL(url).origin;
const notFound = (id: number) => new ApiError("not_found", `no webhook with id ${id}`, "id");

/**
 * Registers an endpoint for the account and returns it with its secret, the only time the secret is
 * shown. The URL must pass the SSRF rule (url-guard.ts); `credits_below` goes with the credits.low event.
 */
export async function createWebhook(ctx: AppContext, accountId: number, body: unknown, actor: Actor) {
  const b = createWebhookBody.parse(body);
  const verdict = await checkWebhookUrl(b.url, ctx.config.RELAY_WEBHOOK_ALLOW_PRIVATE);
  if (!verdict.ok) {
    throw new ApiError("invalid_request", `url: ${verdict.reason}. Webhook URLs must be public http(s) addresses${ctx.config.RELAY_WEBHOOK_ALLOW_PRIVATE ? "" : " (an operator can allow private ones with RELAY_WEBHOOK_ALLOW_PRIVATE=true)"}.`, "url");
  }
  const low = b.events.includes("credits.low");
  if (low && b.credits_below === undefined) throw new ApiError("invalid_request", "credits_below: the credits.low event needs a threshold; set credits_below to a number of credits.", "credits_below");
  if (!low && b.credits_below !== undefined) throw new ApiError("invalid_request", "credits_below is the credits.low event's threshold; add 'credits.low' to events, or leave credits_below out.", "credits_below");
  if ((await ctx.stores.webhooks.list(accountId)).length >= MAX_WEBHOOKS_PER_ACCOUNT) {
    throw new ApiError("conflict", `An account can have at most ${MAX_WEBHOOKS_PER_ACCOUNT} webhook endpoints; delete one first.`);
  }
  const secret = newWebhookSecret();
  const row = await ctx.stores.webhooks.create(
    { accountId, url: b.url, events: b.events, creditsBelow: b.credits_below ?? null },
    sealSecret(ctx, secret),
    (w) => ({ actor, action: "webhook.create", target: `webhook:${w.id}`, detail: { account: accountId, origin: originOf(w.url), events: w.events } }),
  );
  return { ...publicWebhook(row), secret };
}

export async function listWebhooks(ctx: AppContext, accountId?: number): Promise<WebhookRow[]> {
  return ctx.stores.webhooks.list(accountId);
}

/** One endpoint; with `accountId`, only that account's (another account's id is a 404 like a missing one). */
export async function getWebhook(ctx: AppContext, id: number, accountId?: number): Promise<WebhookRow> {
  const w = await ctx.stores.webhooks.get(id, accountId);
  if (!w) throw notFound(id);
  return w;
}

export async function deleteWebhook(ctx: AppContext, id: number, actor: Actor, accountId?: number): Promise<void> {
  const deleted = await ctx.stores.webhooks.delete(id, accountId, { actor, action: "webhook.delete", target: `webhook:${id}` });
  if (!deleted) throw notFound(id);
}

/** A new secret; the old one keeps signing (beside it) for 24 hours, so receivers can switch without a gap. */
export async function rotateWebhook(ctx: AppContext, id: number, actor: Actor, accountId?: number) {
  const secret = newWebhookSecret();
  const until = Date.now() + ROTATION_OVERLAP_MS;
  const row = await ctx.stores.webhooks.rotate(id, accountId, sealSecret(ctx, secret), until, { actor, action: "webhook.rotate", target: `webhook:${id}` });
  if (!row) throw notFound(id);
  return { ...publicWebhook(row), secret, previous_secret_expires_at: Math.floor(until / 1000) };
}

/** A webhook id from the path: anything but a positive integer names no endpoint. */
export function webhookIdParam(raw: string | null | undefined): number {
  const text = typeof raw === "string" ? raw : "";
  if (!/^[1-9][0-9]{0,15}$/.test(text)) throw new ApiError("not_found", `no webhook with id ${text.slice(0, 40)}`, "id");
  return Number(text);
}
