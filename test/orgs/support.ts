import { expect } from "bun:test";
import type { Harness } from "../support/harness";

/** Logs a user in (setting a password first) and returns the session token. */
export async function sessionOf(h: Harness, name: string): Promise<string> {
  await h.admin.users.update(name, { password: `pw-${name}-secret` });
  const res = await fetch(`${h.url}/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name, password: `pw-${name}-secret` }) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

/** A request to the org API with a token (session or key); JSON in and out. */
export async function api(h: Harness, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${h.url}${path}`, {
    method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
