/**
 * The cluster-mode test infrastructure itself: real PostgreSQL and Redis (test/support/services.ts,
 * .ci/services.sh), reached with Bun's built-in clients, and the fault drills the cluster code will
 * be tested with. Each test also pins down a fact about Bun 1.4.5's clients that the relay's cluster
 * code relies on; if one starts failing after a Bun upgrade, that fact changed.
 *
 * What Bun 1.4.5 does (seen here, against PostgreSQL 15 and Redis 7.0):
 * - RedisClient's subscriber goes deaf after a reconnect: `connected` is true and `onconnect` fires
 *   again, but the new connection never re-sent SUBSCRIBE (PUBSUB NUMSUB says 0, PUBLISH reaches no
 *   one). Re-subscribing in `onconnect` is not enough on its own either: the client still holds the
 *   old listener, so `subscribe(channel, sameListener)` adds a copy per reconnect and every message
 *   is delivered twice, then three times, and so on. What works:
 *   in `onconnect`, `unsubscribe(channel)` and then `subscribe(channel, listener)`.
 * - `onclose` does not fire when the connection drops and autoReconnect gets it back; it fires only
 *   when the client gives up (maxRetries, default 20: about 30 s of outage with the 2 s backoff cap).
 *   A client that gave up stays closed ("Connection has failed") even once Redis is back, until
 *   something calls `connect()`.
 * - A command in flight when the connection drops rejects with ERR_REDIS_CONNECTION_CLOSED and is
 *   not re-sent; a command issued while disconnected waits in the offline queue and runs after the
 *   reconnect. With `enableOfflineQueue: false`, even the first command of a new client rejects
 *   unless `connect()` was awaited first.
 * - Every error reply is code ERR_REDIS_SERVER_ERROR, NOSCRIPT included: match on the message
 *   ("NOSCRIPT No matching script. Please use EVAL."). A restarted Redis has an empty script cache.
 * - CONFIG GET (RESP3) returns a null-prototype object { "maxmemory-policy": "noeviction" }, not the
 *   [name, value] array of RESP2 clients.
 * - Bun.sql: a query in flight at `pg_ctl stop -m immediate` rejects with
 *   ERR_POSTGRES_CONNECTION_CLOSED, and a query while the server is down with
 *   ERR_POSTGRES_CONNECTION_REFUSED; neither has an `errno` (SQLSTATE). Server errors are
 *   ERR_POSTGRES_SERVER_ERROR with the SQLSTATE in `errno`. The same pool works again once the server
 *   is back, with no call needed (dead connections are replaced on the next query).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisClient, SQL } from "bun";
import {
  freshDatabase,
  keyPrefix,
  pgAdminUrl,
  pgUrl,
  redisUrl,
  restartRedis,
  services,
  startPostgres,
  startRedis,
  stopPostgres,
  stopRedis,
} from "../support/services";

const T = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** How a promise settled: "ok" or the rejection's code. */
async function settle(p: Promise<unknown>): Promise<{ ok: true; value: unknown } | { ok: false; code: string; errno: unknown; message: string }> {
  try {
    return { ok: true, value: await p };
  } catch (e) {
    const err = e as { code?: string; errno?: unknown; message?: string };
    return { ok: false, code: String(err.code), errno: err.errno, message: String(err.message) };
  }
}

const clients: { close(): unknown }[] = [];
function redis(options?: ConstructorParameters<typeof RedisClient>[1]): RedisClient {
  const c = new RedisClient(redisUrl(), options);
  clients.push(c);
  return c;
}
function sql(url = pgUrl(), options: Record<string, unknown> = {}): SQL {
  const c = new SQL(url, { connectionTimeout: 10, ...options });
  clients.push(c);
  return c;
}

beforeAll(() => {
  // Starts the servers unless .ci/run already did (the first time on a new machine this includes
  // apt-get install).
  services();
}, 600_000);

afterAll(async () => {
  for (const c of clients) {
    try {
      await c.close();
    } catch {}
  }
});

describe("PostgreSQL", () => {
  test("Bun.sql connects over TCP to 127.0.0.1 as the test role, to relay_test", async () => {
    const db = sql();
    const [row] = await db`select current_user as "user", current_database() as db,
      host(inet_server_addr()) as addr, inet_server_port() as port, current_setting('fsync') as fsync,
      current_setting('synchronous_commit') as sync, (select rolsuper from pg_roles where rolname = current_user) as super,
      (select rolcreatedb from pg_roles where rolname = current_user) as createdb`;
    expect(row).toEqual({
      user: "relay",
      db: "relay_test",
      addr: "127.0.0.1",
      port: services().pgPort,
      // fsync off for speed; synchronous_commit stays on, so a commit survives a process crash
      // (pg_ctl stop -m immediate, kill -9), which the drills check; only an OS crash could lose it.
      fsync: "off",
      sync: "on",
      super: false,
      createdb: true,
    });
    const [admin] = await sql(pgAdminUrl())`select current_user as "user", (select rolsuper from pg_roles where rolname = current_user) as super`;
    expect(admin).toEqual({ user: "postgres", super: true });
  }, T);

  test("a wrong password is refused: TCP logins really check it", async () => {
    const u = new URL(pgUrl());
    u.password = "wrong";
    const r = await settle(sql(u.toString(), { max: 1 })`select 1`);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errno).toBe("28P01"); // invalid_password
  }, T);

  test("freshDatabase(): a new empty database of its own, then dropped with a connection still open", async () => {
    const a = await freshDatabase();
    const b = await freshDatabase();
    expect(a.name).not.toBe(b.name);
    const da = sql(a.url, { max: 1 });
    const dbb = sql(b.url, { max: 1 });
    await da`create table t (x int primary key)`;
    await da`insert into t values (1), (2)`;
    expect(await da`select count(*)::int as n from t`).toEqual([{ n: 2 }]);
    // b has no table t: the databases are separate.
    expect(await dbb`select count(*)::int as n from pg_tables where tablename = 't'`).toEqual([{ n: 0 }]);

    await a.drop(); // WITH (FORCE): da's connection is ended by the server
    await a.drop(); // idempotent
    const names = await sql()`select datname from pg_database where datname in (${a.name}, ${b.name})`;
    expect(names.map((r: { datname: string }) => r.datname)).toEqual([b.name]);
    const after = await settle(da`select 1`);
    expect(after).toMatchObject({ ok: false, code: "ERR_POSTGRES_SERVER_ERROR", errno: "3D000" }); // invalid_catalog_name
    await dbb.close();
    await b.drop();
  }, T);

  test("stopPostgres({immediate:true}) and startPostgres(): queries fail while down, the same pool works after, committed rows survive", async () => {
    const fresh = await freshDatabase();
    const db = sql(fresh.url, { max: 4 });
    await db`create table ledger (id int primary key, amount int not null)`;
    await db`insert into ledger values (1, 100), (2, -40)`; // committed just before the crash

    const inFlight = settle(db`select pg_sleep(10)`);
    await sleep(200);
    const t0 = performance.now();
    await stopPostgres({ immediate: true });
    const stopMs = performance.now() - t0;

    const r1 = await inFlight;
    expect(r1).toMatchObject({ ok: false, code: "ERR_POSTGRES_CONNECTION_CLOSED" });
    const r2 = await settle(db`select 1`);
    expect(r2).toMatchObject({ ok: false, code: "ERR_POSTGRES_CONNECTION_REFUSED" });
    if (!r1.ok && !r2.ok) expect([r1.errno, r2.errno]).toEqual([undefined, undefined]);

    const t1 = performance.now();
    await startPostgres(); // crash recovery, then ready
    const startMs = performance.now() - t1;

    // The pool that saw both failures answers again, and a new client does too.
    expect(await db`select coalesce(sum(amount), 0)::int as total, count(*)::int as n from ledger`).toEqual([{ total: 60, n: 2 }]);
    expect(await sql(fresh.url, { max: 1 })`select 1 as one`).toEqual([{ one: 1 }]);
    const log = await Bun.file(process.env.RELAY_TEST_PG_LOG!).text();
    expect(log).toContain("database system was interrupted"); // it really was a crash, recovered
    expect(stopMs + startMs).toBeLessThan(20_000);
    await db.close();
    await fresh.drop();
  }, T);

  test("a stop and start with no query in between: the idle pool's first query just works", async () => {
    const db = sql(pgUrl(), { max: 2 });
    await db`select 1`;
    await stopPostgres({ immediate: true });
    await startPostgres();
    expect(await db`select 2 as two`).toEqual([{ two: 2 }]);
    // A fast stop (clients told to go away) as well.
    await stopPostgres();
    await startPostgres();
    expect(await db`select 3 as three`).toEqual([{ three: 3 }]);
  }, T);
});

describe("Redis", () => {
  test("RedisClient: SET/GET, an EVAL script, and the server runs noeviction with no persistence", async () => {
    const r = redis();
    const p = keyPrefix("basic");
    expect(await r.set(`${p}k`, "v")).toBe("OK");
    expect(await r.get(`${p}k`)).toBe("v");
    const script = "local n = redis.call('INCRBY', KEYS[1], ARGV[1]); redis.call('PEXPIRE', KEYS[1], ARGV[2]); return n";
    expect(await r.eval(script, 1, `${p}n`, 5, 60_000)).toBe(5);
    expect(await r.eval(script, 1, `${p}n`, 2, 60_000)).toBe(7);
    expect(await r.pttl(`${p}n`)).toBeGreaterThan(0);
    // RESP3: a map, which Bun gives as a null-prototype object.
    const policy = await r.send("CONFIG", ["GET", "maxmemory-policy"]);
    expect({ ...policy }).toEqual({ "maxmemory-policy": "noeviction" });
    expect({ ...(await r.send("CONFIG", ["GET", "save"])) }).toEqual({ save: "" });
    expect({ ...(await r.send("CONFIG", ["GET", "appendonly"])) }).toEqual({ appendonly: "no" });
    expect({ ...(await r.send("CONFIG", ["GET", "bind"])) }).toEqual({ bind: "127.0.0.1" });
  }, T);

  test("NOSCRIPT is a generic ERR_REDIS_SERVER_ERROR: EVALSHA falls back to EVAL on the message", async () => {
    const r = redis();
    const p = keyPrefix("sha");
    const body = "return redis.call('INCR', KEYS[1])";
    const sha = new Bun.CryptoHasher("sha1").update(body).digest("hex");
    await r.script("FLUSH");
    const miss = await settle(r.evalsha(sha, 1, `${p}c`));
    expect(miss).toEqual({ ok: false, code: "ERR_REDIS_SERVER_ERROR", errno: undefined, message: "NOSCRIPT No matching script. Please use EVAL." });
    // Any other script error has the same code; only the message tells them apart.
    const other = await settle(r.eval("return redis.call('NOPE')", 0));
    expect(other).toMatchObject({ ok: false, code: "ERR_REDIS_SERVER_ERROR" });
    if (!other.ok) expect(other.message.startsWith("NOSCRIPT")).toBe(false);

    const run = async () => {
      try {
        return await r.evalsha(sha, 1, `${p}c`);
      } catch (e) {
        if (!String((e as Error).message).startsWith("NOSCRIPT")) throw e;
        return await r.eval(body, 1, `${p}c`); // loads it into the cache as well
      }
    };
    expect(await run()).toBe(1);
    expect(await r.script("EXISTS", sha)).toEqual([1]);
    expect(await run()).toBe(2); // EVALSHA hit
  }, T);

  test("restartRedis(): a command client reconnects on its own (onconnect again, onclose never); keys and scripts are gone", async () => {
    const r = redis();
    let connects = 0;
    const closes: string[] = [];
    r.onconnect = () => void connects++;
    r.onclose = (e) => void closes.push(String((e as { code?: string }).code));
    const p = keyPrefix("restart");
    await r.set(`${p}k`, "before");
    const sha = await r.script("LOAD", "return 'hi'");
    expect(connects).toBe(1);

    const t0 = performance.now();
    await restartRedis();
    const restartMs = performance.now() - t0;

    expect(await r.get(`${p}k`)).toBeNull(); // no persistence: a new, empty server
    expect(await r.set(`${p}k`, "after")).toBe("OK");
    expect(await r.get(`${p}k`)).toBe("after");
    expect(connects).toBe(2);
    expect(closes).toEqual([]);
    expect(await settle(r.evalsha(sha, 0))).toMatchObject({ ok: false, code: "ERR_REDIS_SERVER_ERROR", message: expect.stringMatching(/^NOSCRIPT/) });
    expect(restartMs).toBeLessThan(10_000);
    // A client made after the restart connects as usual.
    expect(await redis().get(`${p}k`)).toBe("after");
  }, T);

  test("a command in flight when Redis goes away rejects (not re-sent); one sent while it is down waits for it", async () => {
    const r = redis();
    const p = keyPrefix("queue");
    await r.ping();
    const blocked = settle(r.send("BLPOP", [`${p}list`, "20"]));
    await sleep(100);
    await stopRedis();
    expect(await blocked).toMatchObject({ ok: false, code: "ERR_REDIS_CONNECTION_CLOSED" });

    const queued = settle(r.set(`${p}k`, "queued"));
    await sleep(1000); // down for a second, the client retrying with backoff
    await startRedis();
    expect(await queued).toEqual({ ok: true, value: "OK" });
    expect(await r.get(`${p}k`)).toBe("queued");

    // Without the offline queue it rejects at once while down, and reconnects by itself after.
    const noQueue = redis({ enableOfflineQueue: false });
    await noQueue.connect(); // without this even the first command rejects
    await stopRedis();
    expect(await settle(noQueue.get(`${p}k`))).toMatchObject({ ok: false, code: "ERR_REDIS_CONNECTION_CLOSED" });
    await startRedis();
    await until("the no-queue client to reconnect", () => noQueue.connected);
    expect(await noQueue.set(`${p}k`, "x")).toBe("OK");
  }, T);

  test("a client that ran out of reconnect attempts stays closed until connect() is called", async () => {
    const r = redis({ maxRetries: 2 });
    const closes: string[] = [];
    r.onclose = (e) => void closes.push(String((e as { code?: string }).code));
    const p = keyPrefix("giveup");
    await r.set(`${p}k`, "1");
    await stopRedis();
    const down = await settle(r.get(`${p}k`));
    expect(down).toMatchObject({ ok: false, code: "ERR_REDIS_CONNECTION_CLOSED" });
    expect(closes).toEqual(["ERR_REDIS_CONNECTION_CLOSED"]);
    await startRedis();
    await sleep(500);
    expect(r.connected).toBe(false);
    expect(await settle(r.get(`${p}k`))).toMatchObject({ ok: false, code: "ERR_REDIS_CONNECTION_CLOSED" });
    await r.connect();
    expect(await r.set(`${p}k`, "2")).toBe("OK");
  }, T);

  test("a subscriber is deaf after a reconnect unless onconnect unsubscribes and subscribes again", async () => {
    const pub = redis();
    const numsub = async (channel: string) => Number((await pub.send("PUBSUB", ["NUMSUB", channel]))[1]);
    const ch = (name: string) => `${keyPrefix("pubsub")}${name}`;

    // 1. Naive: subscribe once.
    const naiveCh = ch("naive");
    const naive = redis();
    const naiveGot: string[] = [];
    let naiveConnects = 0;
    naive.onconnect = () => void naiveConnects++;
    await naive.subscribe(naiveCh, (m) => void naiveGot.push(m));
    expect(await pub.publish(naiveCh, "m1")).toBe(1);
    await until("m1", () => naiveGot.length === 1);

    // 2. Re-subscribing with the same listener on reconnect: the client keeps the old entry, so
    //    each reconnect adds one more copy of the listener (twice after the first, three times after
    //    the second).
    const twiceCh = ch("twice");
    const twice = redis();
    const twiceGot: string[] = [];
    const twiceListener = (m: string) => void twiceGot.push(m);
    let twiceConnects = 0;
    twice.onconnect = () => {
      if (++twiceConnects > 1) void twice.subscribe(twiceCh, twiceListener);
    };
    await twice.subscribe(twiceCh, twiceListener);

    // 3. The pattern that works: unsubscribe, then subscribe, on every reconnect.
    const goodCh = ch("good");
    const good = redis();
    const goodGot: string[] = [];
    const goodListener = (m: string) => void goodGot.push(m);
    let goodConnects = 0;
    good.onconnect = () => {
      if (++goodConnects > 1) void good.unsubscribe(goodCh).then(() => good.subscribe(goodCh, goodListener));
    };
    await good.subscribe(goodCh, goodListener);

    for (const round of [1, 2]) {
      await restartRedis();
      await until("the naive subscriber to reconnect", () => naiveConnects === round + 1 && naive.connected);
      await until("the re-subscriptions", async () => (await numsub(twiceCh)) === 1 && (await numsub(goodCh)) === 1);

      // Connected, onconnect fired, and yet the server has no subscriber on its channel.
      expect(await numsub(naiveCh)).toBe(0);
      expect(await pub.publish(naiveCh, `after-${round}`)).toBe(0);

      expect(await pub.publish(twiceCh, `t${round}`)).toBe(1);
      expect(await pub.publish(goodCh, `g${round}`)).toBe(1);
      await until("the messages", () => twiceGot.length >= (round === 1 ? 2 : 5) && goodGot.length >= round);
      await sleep(200); // room for a duplicate to show up
    }
    expect(naiveGot).toEqual(["m1"]);
    expect(twiceGot).toEqual(["t1", "t1", "t2", "t2", "t2"]);
    expect(goodGot).toEqual(["g1", "g2"]);
  }, T);
});
