import { afterAll, beforeAll, expect, test } from "bun:test";
import OpenAI from "openai";
import { RedisClient } from "bun";
import { modeEnv, startRelay, userWithKey, type Harness } from "../support/harness";
import { startObjectsMock, type ObjectsMock } from "../support/mock-objects";
import { redisUrl } from "../support/services";
import { ObjectPoller } from "../../server/objects/poller";
import { redisPollClaim } from "../../server/cluster/poll-lease";

/** In cluster mode one instance at a time polls a background response: three pollers, one upstream call per pass. */
let h: Harness;
let mock: ObjectsMock;
let drop: () => Promise<void>;
const redis = new RedisClient(redisUrl());
const T = 30_000;

beforeAll(async () => {
  const mode = await modeEnv("cluster");
  drop = mode.drop;
  h = await startRelay({ ...mode.env, RELAY_POLL_INTERVAL_MS: "3600000" }); // the test drives the pollers itself
  mock = startObjectsMock("lease");
  await h.admin.channels.create({ name: "lease", baseUrl: `${mock.url}/v1`, apiKey: "sk-l", models: ["m"] });
  await h.admin.prices.set("m", { inputPerMTok: 1_000_000, outputPerMTok: 1_000_000 }); // priced: it prepays, so it is followed
}, T);
afterAll(async () => {
  await h.close();
  await drop();
  await mock.stop();
  redis.close();
});

test("pollers of three instances share a lease per object: one upstream call per pass", async () => {
  const key = (await userWithKey(h, "lee", { credits: 10_000 })).key;
  const r = await new OpenAI({ apiKey: key, baseURL: `${h.url}/v1`, maxRetries: 0 }).responses.create({ model: "m", input: "x", background: true, max_output_tokens: 20 });
  const pollers = ["i1", "i2", "i3"].map((id) => new ObjectPoller(h.ctx, { responses: 1000, batches: 1000 }, redisPollClaim(redis, h.ctx.config.RELAY_REDIS_PREFIX, id)));
  const gets = () => mock.hits.filter((x) => x.method === "GET" && x.path === `/v1/responses/${r.id}`).length;
  await Promise.all(pollers.map((p) => p.tick()));
  expect(gets()).toBe(1);
  await Bun.sleep(1100); // the lease ran out: the next pass polls it again, once
  await Promise.all(pollers.map((p) => p.tick()));
  expect(gets()).toBe(2);
  mock.finish(r.id, "completed", { input_tokens: 2, output_tokens: 2 });
  await Bun.sleep(1100);
  expect((await Promise.all(pollers.map((p) => p.tick()))).reduce((a, b) => a + b, 0)).toBe(1);
}, T);
