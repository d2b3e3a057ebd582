import type { RedisClient } from "bun";

/**
 * Redis could not answer: down, unreachable, too slow, or refusing work for a while (loading its data,
 * out of memory). The failover limiter switches to this process's own limits on this error, and only on
 * it: any other error (a script bug, a bad argument) is a bug and propagates.
 */
export class RedisUnavailableError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "RedisUnavailableError";
  }
}

/** Bun's codes for "no answer from the server" (everything a server answers is ERR_REDIS_SERVER_ERROR). */
const CONNECTION_CODES = new Set([
  "ERR_REDIS_CONNECTION_CLOSED",
  "ERR_REDIS_CONNECTION_TIMEOUT",
  "ERR_REDIS_IDLE_TIMEOUT",
  "ERR_REDIS_AUTHENTICATION_FAILED",
  "ERR_REDIS_TLS_UPGRADE_FAILED",
  "ERR_REDIS_INVALID_RESPONSE",
]);

/** Server replies that mean "not now" rather than "wrong": a restart's load, a busy script, a full noeviction server, a demoted primary. */
const NOT_NOW = /^(LOADING|BUSY|MASTERDOWN|OOM|READONLY|TRYAGAIN|CLUSTERDOWN)\b/;

export function isUnavailable(e: unknown): boolean {
  if (e instanceof RedisUnavailableError) return true;
  const err = e as { code?: unknown; message?: unknown } | null;
  if (typeof err?.code !== "string") return false;
  if (CONNECTION_CODES.has(err.code)) return true;
  return err.code === "ERR_REDIS_SERVER_ERROR" && NOT_NOW.test(String(err.message));
}

/** `p`, or RedisUnavailableError once `ms` pass: Bun's client has no command timeout, and a hung server never answers. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: Timer | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisUnavailableError(`Redis did not answer ${what} within ${ms} ms`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A Lua script sent by its SHA1 (EVALSHA), falling back to its source (EVAL) when the server does not
 * know it: after a restart, a failover or SCRIPT FLUSH. Bun reports NOSCRIPT as a plain server error,
 * so the message is what tells it apart. EVAL caches the script again for the next EVALSHA.
 */
export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = new Bun.CryptoHasher("sha1").update(source).digest("hex");
  }

  async run(client: RedisClient, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await client.send("EVALSHA", [this.sha, ...tail]);
    } catch (e) {
      if (!String((e as Error | null)?.message).includes("NOSCRIPT")) throw e;
      return client.send("EVAL", [this.source, ...tail]);
    }
  }
}
