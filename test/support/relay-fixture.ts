import { startMockUpstream, type MockUpstream } from "./mock-upstream";
import { startRelay, userWithKey, type Harness } from "./harness";

/** Posts JSON to the relay with a key, as a raw HTTP client would. */
export function post(h: Harness, key: string, path: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) {
  return fetch(`${h.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal,
  });
}

export const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: "user", content: "hi" }], ...extra });

/** Polls until `fn` is true (generous deadline; correctness is asserted elsewhere, not timing). */
export async function eventually(fn: () => boolean | Promise<boolean>, what: string, deadlineMs = 10_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await Bun.sleep(20);
  }
  throw new Error(`timed out waiting for: ${what}`);
}

/** A relay plus `n` mock upstreams; helper to add channels pointing at them. */
export async function relayWithMocks(n: number, env: Record<string, string> = {}) {
  const mocks: MockUpstream[] = [];
  for (let i = 0; i < n; i++) mocks.push(await startMockUpstream(`up${i + 1}`));
  const h = await startRelay(env);
  const channel = (mock: MockUpstream, opts: Record<string, unknown> = {}) =>
    h.admin.channels.create({ name: mock.name + "-" + Math.random().toString(36).slice(2, 6), group: "official", baseUrl: `${mock.url}/v1`, apiKey: `sk-upstream-${mock.name}`, models: ["gpt-test"], ...opts });
  const close = async () => {
    await h.close();
    for (const m of mocks) await m.stop();
  };
  return { h, mocks, channel, close, userWithKey: (name: string, user = {}, key = {}) => userWithKey(h, name, user, key) };
}
