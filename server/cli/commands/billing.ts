import type { Command } from "../command";
import type { FlagSpec } from "../args";
import { fields, table } from "../table";
import { UsageError } from "../args";

const ORG_FLAG: FlagSpec = { name: "org", type: "bool", help: "NAME is an organization" };

export const billingCommands: Command[] = [
  {
    group: "price", verb: "set", summary: "Set a model's price in credits per million tokens", args: [{ name: "MODEL", help: "model name as clients ask for it" }],
    flags: [
      { name: "input", type: "int", help: "credits per million input tokens", required: true },
      { name: "output", type: "int", help: "credits per million output tokens", required: true },
      { name: "cached-input", type: "int", help: "credits per million prompt tokens read from the cache (OpenAI cached tokens, Anthropic cache reads); default: the input rate" },
      { name: "cache-write", type: "int", help: "credits per million prompt tokens written to the cache (Anthropic cache creation); default: the input rate" },
      { name: "per-request", type: "int", help: "credits per successful call, on top of the token rates (image, audio, video models); default 0" },
      { name: "batch-discount", type: "int", help: "percent off every rate for work sent through POST /v1/batches, 0 to 100; default 50" },
    ],
    run: (c, { positionals: [model], flags: f }) => c.prices.set(model!, {
      inputPerMTok: f.input as number, outputPerMTok: f.output as number,
      ...(f["cached-input"] !== undefined ? { cachedInputPerMTok: f["cached-input"] as number } : {}),
      ...(f["cache-write"] !== undefined ? { cacheWritePerMTok: f["cache-write"] as number } : {}),
      ...(f["per-request"] !== undefined ? { perRequest: f["per-request"] as number } : {}),
      ...(f["batch-discount"] !== undefined ? { batchDiscount: f["batch-discount"] as number } : {}),
    }),
    format: (p) => [
      `${p.model}: ${p.inputPerMTok} in / ${p.outputPerMTok} out per million tokens`,
      p.cachedInputPerMTok !== null ? `, ${p.cachedInputPerMTok} cached input` : "",
      p.cacheWritePerMTok !== null ? `, ${p.cacheWritePerMTok} cache write` : "",
      p.perRequest ? `, ${p.perRequest} per request` : "",
      `, ${p.batchDiscount}% off in batches`,
    ].join(""),
  },
  {
    group: "price", verb: "list", summary: "List model prices (models without a price cost 0)",
    run: (c) => c.prices.list().then((r) => r.data),
    format: (rows) => table(rows, ["model", "inputPerMTok", "outputPerMTok", "cachedInputPerMTok", "cacheWritePerMTok", "perRequest", "batchDiscount", "updatedAt"]),
  },
  {
    group: "price", verb: "delete", summary: "Remove a model's price", args: [{ name: "MODEL", help: "model name" }],
    run: (c, { positionals: [model] }) => c.prices.delete(model!),
    format: (r) => `price for ${r.model} removed`,
  },
  {
    group: "credits", verb: "grant", summary: "Add credits to a user's account, or with --org an organization's (a negative amount adjusts down)",
    args: [{ name: "NAME", help: "user name (organization name with --org)" }, { name: "AMOUNT", help: "integer credits" }],
    flags: [
      { name: "note", type: "string", help: "free text kept in the ledger" },
      { name: "ref", type: "string", help: "idempotency key: a grant with a ref already used is not applied again" },
      ORG_FLAG,
    ],
    run: (c, { positionals: [name, amount], flags: f }) => {
      if (!/^-?\d+$/.test(amount!)) throw new UsageError(`AMOUNT must be an integer, not '${amount}'`);
      const body = { amount: Number(amount), note: f.note as string | undefined, ...(f.ref ? { ref: f.ref as string } : {}) };
      return f.org ? c.orgs.grant(name!, body) : c.credits.grant(name!, body);
    },
    format: (r) => (r.applied ? `granted ${r.amount}; balance now ${r.balanceAfter}` : `already applied (ref ${r.ref}); balance after it was ${r.balanceAfter}`),
  },
  {
    group: "credits", verb: "show", summary: "Show an account's balance, held credits and tokens (a user's, or with --org an organization's)",
    args: [{ name: "NAME", help: "user name (organization name with --org)" }], flags: [ORG_FLAG],
    run: (c, { positionals: [name], flags: f }) => (f.org ? c.orgs.get(name!) : c.users.get(name!)).then((u) => ({
      name: u.name, balance: u.balance, heldCredits: u.heldCredits, available: u.balance - u.heldCredits,
      inFlight: u.inFlight, monthlyTokens: u.monthlyTokens, tokensThisMonth: u.tokensThisMonth,
    })),
    format: (r) => fields(r),
  },
  {
    group: "credits", verb: "ledger", summary: "Show an account's ledger, newest first (a user's, or with --org an organization's)",
    args: [{ name: "NAME", help: "user name (organization name with --org)" }],
    flags: [{ name: "limit", type: "int", help: "rows (default 50)" }, ORG_FLAG],
    run: (c, { positionals: [name], flags: f }) => (f.org ? c.orgs.ledger(name!, (f.limit as number) ?? 50) : c.credits.ledger(name!, (f.limit as number) ?? 50)).then((r) => r.data),
    format: (rows) => table(rows, ["id", "at", "kind", "amount", "balanceAfter", "ref", "object", "keyId", "note"]),
  },
  {
    group: "usage", verb: "", summary: "Show the usage log, newest first",
    flags: [
      { name: "user", type: "string", help: "only requests this user made (their own keys, member keys, sessions)" },
      { name: "org", type: "string", help: "only requests charged to this organization" },
      { name: "key", type: "int", help: "only this key id" },
      { name: "limit", type: "int", help: "rows (default 50)" },
    ],
    run: (c, { flags: f }) => c.usage({ user: f.user as string | undefined, org: f.org as string | undefined, key: f.key as number | undefined, limit: (f.limit as number) ?? 50 }).then((r) => r.data),
    // Short headings: the cached and cache-write counts are parts of the input count.
    format: (rows) => table(rows.map((r: Record<string, unknown>) => ({ ...r, in: r.promptTokens, cached: r.cachedTokens, cacheWrite: r.cacheWriteTokens, out: r.completionTokens })),
      ["at", "requestId", "keyPrefix", "model", "channelId", "status", "errorCode", "stream", "in", "cached", "cacheWrite", "out", "cost", "object", "ttfbMs", "totalMs"]),
  },
];
