import { UsageError } from "../args";
import type { Command } from "../command";
import { fields, table } from "../table";

const idArg = [{ name: "ID", help: "webhook id" }];
const when = (s: number | null) => (s === null ? null : new Date(s * 1000).toISOString().replace(".000Z", "Z"));

/** Whose endpoint: exactly one of --user NAME or --org NAME (`optional`: neither means everyone's). */
function owner(f: Record<string, unknown>, optional: boolean) {
  if (f.user !== undefined && f.org !== undefined) throw new UsageError("give --user or --org, not both");
  if (f.user === undefined && f.org === undefined && !optional) throw new UsageError("say whose endpoint: --user NAME or --org NAME");
  return f.user !== undefined ? { user: f.user as string } : f.org !== undefined ? { org: f.org as string } : {};
}

const ownerFlags = [
  { name: "user", type: "string", help: "a user's personal account: the user's name" },
  { name: "org", type: "string", help: "an organization: its name" },
] as const;

export const webhookCommands: Command[] = [
  {
    group: "webhook", verb: "create", summary: "Register a webhook endpoint for a user or an org; prints its signing secret once",
    flags: [
      ...ownerFlags,
      { name: "url", type: "string", required: true, help: "the receiver's public http(s) URL" },
      { name: "events", type: "list", required: true, help: "comma-separated: response.completed, response.failed, response.cancelled, response.incomplete, batch.completed, batch.failed, batch.cancelled, batch.expired, credits.low" },
      { name: "credits-below", type: "int", help: "with credits.low: send it when the available balance falls below this many credits" },
    ],
    run: (c, { flags: f }) => c.webhooks.create({ ...owner(f, false), url: f.url, events: f.events, credits_below: f["credits-below"] }),
    format: (w) => `${fields({ ...w, created_at: when(w.created_at) })}\n(store the secret now: it is shown once; \`relay admin webhook rotate ${w.id}\` makes a new one)`,
  },
  {
    group: "webhook", verb: "list", summary: "List webhook endpoints, of one user or org or of everyone",
    flags: [...ownerFlags],
    run: (c, { flags: f }) => c.webhooks.list(owner(f, true)).then((r) => r.data),
    format: (rows) => table(rows.map((w: any) => ({ ...w, failing_since: when(w.failing_since), created_at: when(w.created_at) })),
      ["id", "account_id", "url", "events", "credits_below", "enabled", "disabled_reason", "failing_since", "created_at"]),
  },
  {
    group: "webhook", verb: "delete", summary: "Delete a webhook endpoint with its deliveries", args: idArg,
    run: (c, { positionals: [id] }) => c.webhooks.delete(id!),
    format: (r) => `webhook ${r.id} deleted`,
  },
  {
    group: "webhook", verb: "rotate", summary: "Make a new signing secret; the old one also signs for 24 hours", args: idArg,
    run: (c, { positionals: [id] }) => c.webhooks.rotate(id!),
    format: (w) => `new secret for webhook ${w.id}: ${w.secret}\n(the previous secret also signs until ${when(w.previous_secret_expires_at)})`,
  },
  {
    group: "webhook", verb: "deliveries", summary: "Recent webhook deliveries, newest first, with their attempts and last result",
    flags: [
      { name: "webhook", type: "int", help: "only this endpoint's" },
      { name: "limit", type: "int", help: "how many (default 50, at most 1000)" },
    ],
    run: (c, { flags: f }) => c.webhooks.deliveries({ webhook: f.webhook as number | undefined, limit: f.limit as number | undefined }).then((r) => r.data),
    format: (rows) => table(rows.map((d: any) => ({ ...d, created_at: when(d.created_at), last: d.last_error ?? d.last_status })),
      ["created_at", "webhook_id", "url", "type", "object_id", "status", "attempts", "last"]),
  },
];
