import { afterAll, expect, test } from "bun:test";
import { RedisClient, SQL } from "bun";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { removeDir, startRelayProcess, tempDir } from "../bench/processes";
import { freshDatabase, keyPrefix, redisUrl } from "../support/services";

/**
 * kill -9 can land between a request's reservation (its hold in PostgreSQL, its slot in Redis) and its
 * journal line. The next process on the same data dir knows its predecessor (instance-id in the data dir)
 * and frees what it left at once: the holds as interrupted requests, the slots by the request ids' stem,
 * instead of a lease TTL later. Set up here as the kill would leave it, against a real relay process.
 */
const T = 60_000;
const db = await freshDatabase();
const dir = tempDir("relay-restart-");
const prefix = keyPrefix("restart");
const redis = new RedisClient(redisUrl());
afterAll(async () => {
  redis.close();
  await db.drop();
  removeDir(dir);
});

test("a restart on the same data dir frees the holds and slots its killed predecessor had not journaled", async () => {
  const env = { RELAY_DATABASE_URL: db.url, RELAY_REDIS_URL: redisUrl(), RELAY_REDIS_PREFIX: prefix, RELAY_MASTER_KEY: randomBytes(32).toString("base64") };
  const first = await startRelayProcess({ dataDir: dir, env });
  await first.admin.users.create({ name: "kim", credits: 1000 });
  const [instanceId, idStem] = readFileSync(join(dir, "instance-id"), "utf8").trim().split("\n");
  const sql = new SQL(db.url, { max: 1 });
  try {
    const [{ id: accountId }] = await sql`SELECT account_id AS id FROM users WHERE name = 'kim'`;
    const requestId = `${idStem}zz1`;
    const admitted = JSON.stringify({ requestId, accountId, orgId: null, userId: 1, keyId: null, keyLabel: "", keyPrefix: "x", sourceIp: "127.0.0.1", endpoint: "/v1/chat/completions", model: "m", stream: false });
    const [r] = await sql`SELECT outcome FROM relay_reserve_balance(${JSON.stringify([{ r: requestId, a: accountId, c: 400, i: instanceId, d: JSON.parse(admitted), t: Date.now() }])}::text::jsonb)`;
    expect(r.outcome).toBe("ok");
    await redis.send("ZADD", [`${prefix}slot:account:${accountId}`, String(Date.now() + 60_000), requestId]);
    await redis.send("ZADD", [`${prefix}slot:account:${accountId}`, String(Date.now() + 60_000), `req_someoneelse1`]);

    await first.kill9();
    const second = await startRelayProcess({ dataDir: dir, env });
    try {
      const [a] = await sql`SELECT credits, held FROM accounts WHERE id = ${accountId}`;
      expect({ credits: Number(a.credits), held: Number(a.held) }).toEqual({ credits: 1000, held: 0 });
      const [u] = await sql`SELECT error_code, cost FROM usage_log WHERE request_id = ${requestId}`;
      expect({ code: u.error_code, cost: Number(u.cost) }).toEqual({ code: "interrupted", cost: 0 });
      const members = await redis.send("ZRANGE", [`${prefix}slot:account:${accountId}`, "0", "-1"]);
      expect(members).toEqual(["req_someoneelse1"]); // another process's lease is not touched
      const [old] = await sql`SELECT stopped_at FROM instances WHERE id = ${instanceId}`;
      expect(old.stopped_at).not.toBeNull();
    } finally {
      await second.stop();
    }
  } finally {
    await sql.close();
  }
}, T);
