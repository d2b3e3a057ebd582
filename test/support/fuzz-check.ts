/** One HTTP answer as the fuzz test sees it, from fetch or parsed off a raw socket. */
export type Answer = {
  status: number;
  header: (name: string) => string | null;
  /** The body as text (empty for HEAD). */
  body: string;
};

/**
 * What the relay's own answers must look like: never a 5xx, always an `x-request-id` of ours, and either
 * a 2xx where the case allows one or a 4xx with the OpenAI error envelope
 * `{"error":{"message":string,"type":string,"code":string,"param":string|null}}`.
 * Returns a description of what is wrong, or null.
 */
export function checkAnswer(a: Answer, method: string, mayPass: boolean): string | null {
  if (a.status >= 500) return `server error ${a.status}: ${a.body.slice(0, 300)}`;
  const id = a.header("x-request-id");
  if (!id || !/^req_[A-Za-z0-9_-]+$/.test(id) || id === "req_evil") return `missing or foreign x-request-id (${JSON.stringify(id)})`;
  if (a.status >= 200 && a.status < 300) return mayPass ? null : `unexpected success ${a.status}: ${a.body.slice(0, 200)}`;
  if (a.status < 400) return `unexpected status ${a.status}`;
  if (!/^application\/json\b/i.test(a.header("content-type") ?? "")) return `error without a JSON content-type (${a.header("content-type")})`;
  if (method === "HEAD") return a.body === "" ? null : "HEAD answer with a body";
  let v: unknown;
  try {
    v = JSON.parse(a.body);
  } catch {
    return `error body is not JSON: ${JSON.stringify(a.body.slice(0, 200))}`;
  }
  const e = (v as { error?: Record<string, unknown> } | null)?.error;
  if (!e || typeof e !== "object") return `error body without an "error" object: ${a.body.slice(0, 200)}`;
  if (typeof e.message !== "string" || typeof e.type !== "string" || typeof e.code !== "string") return `error envelope fields have wrong types: ${a.body.slice(0, 200)}`;
  if (!("param" in e) || (e.param !== null && typeof e.param !== "string")) return `error envelope "param" missing or not string|null: ${a.body.slice(0, 200)}`;
  return null;
}
