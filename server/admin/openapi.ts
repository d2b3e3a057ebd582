import { Elysia } from "elysia";
import pkg from "../../package.json";
import { errorCodes } from "../errors";

/**
 * The OpenAPI 3.1 description of the admin API on the Unix socket (`GET /openapi.json` there).
 * Routes are listed as data, next to each other, so adding a route means adding a line here.
 */
type Route = [method: string, path: string, summary: string, body?: string, query?: string[]];

const routes: Route[] = [
  ["get", "/health", "Server health: version, uptime, listen address, master key id, pending writes"],
  ["get", "/metrics", "Prometheus text: requests by status/model/channel, in-flight per user, upstream latency, credits charged"],
  ["get", "/audit", "Audit log, newest first", undefined, ["limit", "before"]],
  ["post", "/master-key/rotate", "Add a new master key and re-encrypt every secret with it"],
  ["get", "/users", "Users with live balance, held credits, in-flight requests and tokens this month"],
  ["post", "/users", "Create a user", "CreateUser"],
  ["get", "/users/{name}", "One user"],
  ["patch", "/users/{name}", "Change a user's role, limits, state or password", "UpdateUser"],
  ["post", "/users/{name}/credits", "Grant credits (negative: adjust); idempotent by `ref`", "Grant"],
  ["get", "/users/{name}/ledger", "A user's ledger, newest first", undefined, ["limit"]],
  ["get", "/keys", "API keys (public prefixes only)", undefined, ["user"]],
  ["post", "/keys", "Create a key; the plaintext is returned once under `key`", "CreateKey"],
  ["get", "/keys/{id}", "One key"],
  ["patch", "/keys/{id}", "Change a key's label, state or limits", "UpdateKey"],
  ["delete", "/keys/{id}", "Delete a key (effective on the next request; its running requests are cut)"],
  ["delete", "/users/{name}/keys", "Delete every key of a user (effective on the next request; running requests are cut)"],
  ["post", "/keys/{id}/reveal", "Decrypt a key (audited)"],
  ["get", "/keys/{id}/timeline", "Requests and tokens per hour", undefined, ["hours"]],
  ["get", "/channels", "Channels with their health (breaker state, failures, last error)"],
  ["post", "/channels", "Create a channel", "CreateChannel"],
  ["get", "/channels/{id}", "One channel"],
  ["patch", "/channels/{id}", "Change a channel", "UpdateChannel"],
  ["delete", "/channels/{id}", "Delete a channel"],
  ["post", "/channels/{id}/test", "Send a one-token request to the channel; latency or error"],
  ["post", "/channels/{id}/reveal", "Decrypt the channel's upstream key (audited)"],
  ["get", "/prices", "Model prices (credits per million tokens)"],
  ["put", "/prices/{model}", "Set a model's price", "Price"],
  ["delete", "/prices/{model}", "Remove a model's price"],
  ["get", "/usage", "Usage log, newest first", undefined, ["user", "key", "limit", "before"]],
  ["get", "/openapi.json", "This document"],
];

const str = { type: "string" };
const int = { type: "integer" };
const strs = { type: "array", items: str };
const obj = (properties: Record<string, object>, required: string[] = []) => ({ type: "object", additionalProperties: false, properties, required });
const keyFields = {
  label: str, group: { enum: ["official", "special", "either"] }, allowIps: strs, expiresAt: { type: ["string", "null"] },
  models: { type: ["array", "null"], items: str }, spendLimit: { type: ["integer", "null"] },
  scopes: { type: "array", items: { enum: ["inference", "keys:read", "keys:write", "usage:read", "full"] } },
};
const channelFields = {
  name: str, type: { enum: ["openai", "anthropic", "azure"] }, apiVersion: { type: ["string", "null"] }, group: str, baseUrl: str, apiKey: str, models: strs, modelMap: { type: "object", additionalProperties: str },
  priority: int, weight: int, enabled: { type: "boolean" }, headers: { type: "object", additionalProperties: str },
  firstByteTimeoutMs: { type: ["integer", "null"] }, idleTimeoutMs: { type: ["integer", "null"] },
};
const userLimits = { role: { enum: ["admin", "user"] }, concurrency: int, monthlyTokens: int, enabled: { type: "boolean" } };

const schemas = {
  Error: obj({ error: obj({ message: str, type: str, code: { enum: Object.keys(errorCodes) }, param: { type: ["string", "null"] } }) }),
  CreateUser: obj({ name: str, credits: int, ...userLimits }, ["name"]),
  UpdateUser: obj({ ...userLimits, password: { type: "string", minLength: 8 } }),
  Grant: obj({ amount: int, note: str, ref: str }, ["amount"]),
  CreateKey: obj({ user: str, ...keyFields }, ["user"]),
  UpdateKey: obj({ ...keyFields, enabled: { type: "boolean" } }),
  CreateChannel: obj(channelFields, ["name", "baseUrl", "apiKey"]),
  UpdateChannel: obj(channelFields),
  Price: obj({ inputPerMTok: int, outputPerMTok: int, cachedInputPerMTok: { type: ["integer", "null"] }, cacheWritePerMTok: { type: ["integer", "null"] }, perRequest: int }, ["inputPerMTok", "outputPerMTok"]),
};

function operation([method, path, summary, body, query]: Route) {
  const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: m[1] === "id" ? int : str }));
  for (const q of query ?? []) params.push({ name: q, in: "query", required: false, schema: ["user"].includes(q) ? str : int });
  return {
    [method]: {
      summary,
      ...(params.length ? { parameters: params } : {}),
      ...(body ? { requestBody: { required: true, content: { "application/json": { schema: { $ref: `#/components/schemas/${body}` } } } } } : {}),
      responses: {
        200: { description: "OK", content: { [path === "/metrics" ? "text/plain" : "application/json"]: {} } },
        default: { description: "Error", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
      },
    },
  };
}

export const adminOpenApi = {
  openapi: "3.1.0",
  info: { title: "relay admin API", version: pkg.version, description: "Served only on the admin Unix socket (mode 0600). Clients: `relay admin` and `relay tui`." },
  paths: routes.reduce<Record<string, object>>((acc, r) => ({ ...acc, [r[1]]: { ...(acc[r[1]] ?? {}), ...operation(r) } }), {}),
  components: { schemas },
};

export const adminOpenApiRoutes = () => new Elysia({ name: "admin-openapi" }).get("/openapi.json", () => adminOpenApi);
