import type { Command } from "../command";
import { fields, table } from "../table";

export const systemCommands: Command[] = [
  {
    group: "health", verb: "", summary: "Show the server's health",
    run: (c) => c.health(),
    // A cluster's instances as a table under the fields.
    format: (h) => {
      const { instances, ...rest } = h as Record<string, unknown> & { instances?: Record<string, unknown>[] };
      return instances ? `${fields(rest)}\n\ninstances\n${table(instances, ["id", "self", "state", "heartbeat", "listen", "host", "pid", "version", "redis"])}` : fields(rest);
    },
  },
  {
    group: "audit", verb: "", summary: "Show the audit log, newest first",
    flags: [{ name: "limit", type: "int", help: "rows (default 50)" }],
    run: (c, { flags: f }) => c.audit((f.limit as number) ?? 50).then((r) => r.data),
    format: (rows) => table(rows, ["id", "at", "actor", "action", "target", "detail"]),
  },
  {
    group: "metrics", verb: "", summary: "Print the Prometheus metrics (requests, in flight per account, refusals, upstream latency, credits charged)",
    run: (c) => c.metrics(),
    format: (text) => String(text).trimEnd(),
  },
  {
    group: "openapi", verb: "", summary: "Print the admin API's OpenAPI document",
    run: (c) => c.openApi(),
    format: (doc) => JSON.stringify(doc, null, 2),
  },
  {
    group: "master-key", verb: "rotate", summary: "Add a new master key and re-encrypt every secret with it",
    run: (c) => c.rotateMasterKey(),
    format: (r) => `master key rotated: ${r.previous} -> ${r.current} (${r.reencrypted} secrets re-encrypted)`,
  },
];
