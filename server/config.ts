import { join, resolve } from "node:path";
import { z } from "zod";
import { parseCidr } from "./net/cidr";
import { parseScopeAliases } from "./auth/scopes";
import { parseKeyFormat, type KeyFormat } from "./keys/key-format";

const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max).default(def);
const bool = (def: boolean) =>
  z.enum(["1", "0", "true", "false", "yes", "no", "on", "off"]).default(def ? "true" : "false")
    .transform((v) => ["1", "true", "yes", "on"].includes(v));

/** Every environment variable relay reads. Each has a default that works on a laptop; see README "Configuration". */
export const envSchema = z.object({
  RELAY_HOST: z.string().min(1).default("127.0.0.1"),
  RELAY_PORT: int(8080, 0, 65535),
  RELAY_DATA_DIR: z.string().min(1).default("./data"),
  /** @default <data dir>/admin.sock */
  RELAY_ADMIN_SOCKET: z.string().min(1).optional(),
  /** base64 of 32 bytes; default: generated once into <data dir>/master.key (mode 0600). */
  RELAY_MASTER_KEY: z.string().optional().refine(
    (v) => v === undefined || v === "" || Buffer.from(v, "base64").length === 32,
    "must be the base64 encoding of exactly 32 bytes",
  ),
  RELAY_TRUSTED_PROXIES: z.string().default("").transform((v, ctx) => {
    const out: string[] = [];
    for (const part of v.split(",").map((s) => s.trim()).filter(Boolean)) {
      if (!parseCidr(part)) ctx.addIssue({ code: "custom", message: `not a CIDR or IP address: ${part}` });
      else out.push(part);
    }
    return out;
  }),
  RELAY_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9-]{1,32}$/, "letters, digits and '-' only").default("sk-app-"),
  /** Template of issued keys. @default `<RELAY_KEY_PREFIX>{id:8}_{base62:48}` */
  RELAY_KEY_FORMAT: z.string().max(200).optional(),
  /** `always`: keys can be revealed again (kept encrypted); `never`: write-once, no ciphertext stored. Orgs may say never on their own. */
  RELAY_KEY_REVEAL: z.enum(["always", "never"]).default("always"),
  /** Extra path prefixes the OpenAI API is also served under, comma-separated (e.g. /v1/inference). */
  RELAY_API_PREFIXES: z.string().default("").transform((v, ctx) => {
    const out: string[] = [];
    for (const p of v.split(",").map((s) => s.trim().replace(/\/+$/, "")).filter(Boolean)) {
      if (!/^\/[A-Za-z0-9_./-]+$/.test(p) || p === "/v1") ctx.addIssue({ code: "custom", message: `not a path prefix other than /v1: ${p}` });
      else out.push(p);
    }
    return out;
  }),
  /** Other names for scopes, `ALIAS=scope,…` (e.g. FULL_ACCESS=full,SUBMIT_JOBS=inference); keys take and show them. */
  RELAY_SCOPE_ALIASES: z.string().default("").transform((v, ctx) => {
    const parsed = parseScopeAliases(v);
    if (typeof parsed === "string") ctx.addIssue({ code: "custom", message: parsed });
    return typeof parsed === "string" ? [] : parsed;
  }),
  RELAY_LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  /** Largest accepted request body. @default 10 MiB */
  RELAY_MAX_BODY_BYTES: int(10 * 1024 * 1024, 1024),
  /** Channels tried per request, counting the first. @default 3 */
  RELAY_MAX_ATTEMPTS: int(3, 1, 20),
  /** Time to wait for the upstream's response headers. @default 60000 */
  RELAY_FIRST_BYTE_TIMEOUT_MS: int(60_000, 1),
  /** Longest silence allowed inside a stream (or a non-stream body) before it is cut. @default 60000 */
  RELAY_STREAM_IDLE_TIMEOUT_MS: int(60_000, 1),
  /**
   * Silence after which relay sends `event: ping` to an Anthropic client whose stream it translates (Claude
   * Code gives up after 5 minutes without a byte; an Anthropic upstream pings by itself). @default 15000
   */
  RELAY_STREAM_PING_MS: int(15_000, 10, 3_600_000),
  /** Consecutive failures that put a channel into cool-down. @default 3 */
  RELAY_BREAKER_THRESHOLD: int(3, 1),
  /** Cool-down before a half-open probe. @default 30000 */
  RELAY_BREAKER_COOLDOWN_MS: int(30_000, 1),
  /** How long in-flight requests may take to finish on SIGTERM. @default 10000 */
  RELAY_SHUTDOWN_TIMEOUT_MS: int(10_000, 0),
  /** Also serve GET /metrics on the HTTP port (it is always on the admin socket). */
  RELAY_METRICS_PUBLIC: bool(false),
  /** Lifetime of session JWTs from POST /v1/auth/login. @default 900 */
  RELAY_SESSION_TTL_SECONDS: int(900, 10, 86_400),
  /** Usage/ledger batch interval. @default 5 */
  RELAY_FLUSH_INTERVAL_MS: int(5, 1, 10_000),
  /** postgres://…: PostgreSQL holds everything durable (with RELAY_REDIS_URL: cluster mode). @default SQLite in the data dir */
  RELAY_DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL").optional(),
  /** redis://…: concurrency leases and rate windows shared by every instance; needs RELAY_DATABASE_URL. */
  RELAY_REDIS_URL: z.string().regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL").optional(),
  /** Prefix of every Redis key relay writes, so several clusters can share one Redis. @default relay: */
  RELAY_REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:_.-]{1,64}$/, "letters, digits and : _ . - only").default("relay:"),
  /** How often the poller asks an upstream about a background response it follows. @default 5000 */
  RELAY_POLL_INTERVAL_MS: int(5_000, 50, 3_600_000),
  /** How often the poller asks an upstream about a batch it follows (batches run for hours). @default 60000 */
  RELAY_BATCH_POLL_INTERVAL_MS: int(60_000, 50, 3_600_000),
  /** First retry delay of a failed webhook delivery; each later one doubles, up to an hour. @default 5000 */
  RELAY_WEBHOOK_RETRY_BASE_MS: int(5_000, 1, 3_600_000),
  /** How long a webhook delivery is retried before it is given up (and its failing endpoint disabled). @default 72 h */
  RELAY_WEBHOOK_RETRY_FOR_MS: int(72 * 3_600_000, 1, 30 * 24 * 3_600_000),
  /** Lets webhook URLs resolve to loopback, private and other non-public addresses (tests, private deployments). */
  RELAY_WEBHOOK_ALLOW_PRIVATE: bool(false),
  /** PostgreSQL connections per instance. @default 10 */
  RELAY_DATABASE_POOL: int(10, 1, 1000),
  /** How long a dead instance's slots and holds outlive it. @default 30000 */
  RELAY_LEASE_TTL_MS: int(30_000, 200, 3_600_000),
  /** With Redis unreachable: `open` admits on per-instance shares of each limit, `closed` answers 503. @default open */
  RELAY_REDIS_FAILURE: z.enum(["open", "closed"]).default("open"),
});

export type Mode = "embedded" | "postgres" | "cluster";

export type Env = z.infer<typeof envSchema>;
export type Config = Readonly<
  Omit<Env, "RELAY_ADMIN_SOCKET"> & { RELAY_ADMIN_SOCKET: string; dbPath: string; masterKeyPath: string; keyFormat: KeyFormat; mode: Mode }
>;

export class ConfigError extends Error {}

/** Parses the environment once. Throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = Bun.env): Config {
  const relayEnv = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith("RELAY_") && v !== ""));
  const parsed = envSchema.safeParse(relayEnv);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join("\n  ")}`);
  }
  const dataDir = resolve(parsed.data.RELAY_DATA_DIR);
  const keyFormat = parseKeyFormat(parsed.data.RELAY_KEY_FORMAT ?? `${parsed.data.RELAY_KEY_PREFIX}{id:8}_{base62:48}`);
  if (typeof keyFormat === "string") throw new ConfigError(`invalid configuration:\n  RELAY_KEY_FORMAT: ${keyFormat}`);
  const { RELAY_DATABASE_URL: pg, RELAY_REDIS_URL: redis, RELAY_MASTER_KEY: masterKey } = parsed.data;
  if (redis && !pg) throw new ConfigError("invalid configuration:\n  RELAY_REDIS_URL: cluster mode needs RELAY_DATABASE_URL (postgres://…) as well; Redis holds only what can be lost");
  const mode: Mode = pg ? (redis ? "cluster" : "postgres") : "embedded";
  if (mode === "cluster" && !masterKey) {
    throw new ConfigError("invalid configuration:\n  RELAY_MASTER_KEY: cluster mode needs it, the same on every instance (base64 of 32 bytes, e.g. `openssl rand -base64 32`)");
  }
  return Object.freeze({
    mode,
    keyFormat,
    ...parsed.data,
    RELAY_DATA_DIR: dataDir,
    RELAY_ADMIN_SOCKET: resolve(parsed.data.RELAY_ADMIN_SOCKET ?? join(dataDir, "admin.sock")),
    dbPath: join(dataDir, "relay.db"),
    masterKeyPath: join(dataDir, "master.key"),
  });
}
