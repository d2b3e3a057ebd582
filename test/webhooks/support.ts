import { Webhook } from "standardwebhooks";
import OpenAI from "openai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { until } from "../support/limits-helpers";
import { bearer, modeEnv, type Harness } from "../support/harness";
import { loadConfig } from "../../server/config";
import { startServer } from "../../server/serve";
import { setLogLevel } from "../../server/log";
import { AdminClient } from "../../tui/client";

export { until };

/** One request a receiver got: its headers and its body exactly as sent. */
export type Received = { headers: Record<string, string>; body: string; at: number };

/**
 * A real HTTP receiver on a loopback port (Bun.serve). It answers each request with the next status of
 * `script` (the last one repeats; default 200) and records every request.
 */
export function startReceiver(script: number[] = [200]) {
  const got: Received[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      got.push({ headers: Object.fromEntries(req.headers), body: await req.text(), at: Date.now() });
      const status = script[Math.min(got.length - 1, script.length - 1)]!;
      return status >= 300 && status < 400 ? new Response(null, { status, headers: { location: "http://127.0.0.1:1/elsewhere" } }) : new Response("ok", { status });
    },
  });
  return { url: `http://127.0.0.1:${server.port}/hook`, got, setScript: (s: number[]) => script.splice(0, script.length, ...s), stop: () => server.stop(true) };
}

/** Verifies a delivery as a receiver would, with the `standardwebhooks` package; throws if it does not verify. */
export function verifyStandard(secret: string, r: Received): Record<string, unknown> {
  return new Webhook(secret).verify(r.body, r.headers) as Record<string, unknown>;
}

/** Verifies a delivery with the openai client's `webhooks.unwrap`; rejects if it does not verify. */
export async function verifyOpenAI(secret: string, r: Received): Promise<Record<string, unknown>> {
  return (await new OpenAI({ apiKey: "x", webhookSecret: secret }).webhooks.unwrap(r.body, r.headers)) as unknown as Record<string, unknown>;
}

/** A call to the public API with a key, JSON in and out. */
export async function api(h: Harness, key: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${h.url}${path}`, {
    method,
    headers: { ...bearer(key), ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any, headers: res.headers };
}

/**
 * A relay on a data dir (and, in PostgreSQL and cluster modes, a database) that outlives it: what a
 * restart test needs. `start` may be called again after `stop`, with other settings.
 */
export async function restartableRelay() {
  const dataDir = mkdtempSync(join(tmpdir(), "relay-wh-"));
  const mode = await modeEnv();
  const start = async (env: Record<string, string> = {}) => {
    setLogLevel((process.env.RELAY_TEST_LOG as never) ?? "silent");
    const server = await startServer(loadConfig({ RELAY_DATA_DIR: dataDir, RELAY_PORT: "0", RELAY_LOG_LEVEL: "silent", ...mode.env, ...env }));
    return { ...server, admin: new AdminClient(server.socketPath), dataDir, close: () => server.stop(1000) } as Harness;
  };
  const drop = async () => {
    rmSync(dataDir, { recursive: true, force: true });
    await mode.drop().catch(() => {});
  };
  return { start, drop };
}
