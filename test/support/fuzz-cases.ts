import { createHmac } from "node:crypto";
import { ALNUM, PRINTABLE, type Rng } from "./fuzz-rng";
import { genBody, junk, type BodyShape } from "./fuzz-bodies";

/** What the generators need to know about the running relay. */
export type FuzzEnv = {
  /** A working key of the fuzzing user (not the one the liveness checks use). */
  key: string;
  keyPrefix: string;
  /** The fuzzing key's own id: never used in /v1/keys/{id}, so the fuzzer cannot delete or change it. */
  ownKeyId: number;
  /** Another user's key id: every /v1/keys/{id} with it must be a 4xx. */
  otherKeyId: number;
  bodyLimit: number;
};

export type FuzzCase = {
  index: number;
  /** What was mutated, for the failure message. */
  tags: string[];
  method: string;
  /** Path and query, byte for byte as sent (a latin1 string). */
  target: string;
  /** Values are byte strings (chars <= 0xFF); fetch and the raw writer send them byte for byte. */
  headers: [string, string][];
  body: Uint8Array | null;
  /** Send the body chunked, without Content-Length. */
  chunked: boolean;
  /** A 2xx is acceptable: a GET/HEAD of a read route with a working key (or of the public catalog). */
  mayPass: boolean;
  /** Send over raw TCP because fetch would normalise the target or refuse the method. */
  raw: boolean;
};

type Route = { target: (r: Rng, e: FuzzEnv) => string; methods: string[]; body?: BodyShape; weight: number };

const MODEL_IDS = ["gpt-4o", "../../admin", "%2e%2e%2fadmin", "%E0%A4%A", "%zz", "%", "%00", "a".repeat(2000), "%F0%9F%99%82", "x%2Fy", "gpt-4o/../../../v1/me", ""];
const UNKNOWN_V1 = ["nope", "audio/transcriptions", "images/edits", "files", "batches", "files/file-x/content", "webhooks", "webhooks/1/rotate", "webhooks/wh_x", "assistants", "chat/completions/extra", "chat", "responses", "batches/1/cancel", "fine_tuning/jobs", "me/extra", "keys/1/2/3", "models/x/y", "..", "%2e%2e", ""];
const NON_V1 = ["/admin", "/v2/chat/completions", "/.env", "/api/v1/me", "/v1", "/wp-login.php", "/%2e%2e/%2e%2e/etc/passwd", "/V1/ME", "/v1.0/me", "/_admin/users", "/health/../v1/me", "/favicon.ico", "/v0/keys"];

function keyId(r: Rng, e: FuzzEnv): string {
  const ids = ["abc", "-1", "0", "00", "1e3", "99999999999999999999", "NaN", "%00", "1;DROP TABLE api_keys", "..%2f1", "%E0%A4%A", "%zz", "%20", "%F0%9F%99%82", "0x1", String(e.otherKeyId), String(e.otherKeyId)];
  return r.pick(ids.filter((id) => Number(id) !== e.ownKeyId && parseInt(id, 10) !== e.ownKeyId));
}

const ROUTES: Route[] = [
  { target: () => "/v1/chat/completions", methods: ["POST"], body: "chat", weight: 22 },
  { target: () => "/v1/completions", methods: ["POST"], body: "completion", weight: 8 },
  { target: () => "/v1/embeddings", methods: ["POST"], body: "embedding", weight: 8 },
  { target: () => "/v1/models", methods: ["GET"], weight: 5 },
  { target: (r) => "/v1/models/" + r.pick(MODEL_IDS), methods: ["GET"], weight: 5 },
  { target: () => "/v1/me", methods: ["GET"], weight: 6 },
  { target: () => "/v1/keys", methods: ["GET", "POST"], body: "key", weight: 8 },
  { target: (r, e) => "/v1/keys/" + keyId(r, e), methods: ["GET", "PATCH", "DELETE"], body: "key", weight: 6 },
  { target: (r, e) => `/v1/keys/${keyId(r, e)}/reveal`, methods: ["POST"], weight: 2 },
  { target: () => "/v1/usage", methods: ["GET"], weight: 4 },
  { target: () => "/v1/auth/login", methods: ["POST"], body: "login", weight: 5 },
  { target: (r) => "/v1/" + r.pick(UNKNOWN_V1), methods: ["GET", "POST", "DELETE"], body: "other", weight: 8 },
  { target: (r) => r.pick(NON_V1), methods: ["GET", "POST"], body: "other", weight: 5 },
];

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "PROPFIND", "TRACE", "SEARCH", "LOCK", "MKCOL", "PURGE", "QUERY", "M-SEARCH", "CONNECT"];

/**
 * Path tricks; some produce targets fetch would rewrite, which then go over raw TCP. The target keeps its
 * leading slash and has no spaces or control bytes: Bun's parser refuses those itself (the raw table).
 */
function trickPath(r: Rng, p: string): [string, string] {
  switch (r.int(0, 13)) {
    case 0: return ["double-slashes", p.replace(/\//g, () => (r.chance(0.5) ? "//" : "/"))];
    case 1: return ["leading-double-slash", "/" + p];
    case 2: return ["trailing-slash", p + "/"];
    case 3: return ["dot-dot", r.pick(["/v1/../admin", "/v1/../v1/me", p + "/..", "/v1/./" + p.slice(4), "/v1/%2e%2e/admin", "/v1/.%2e/.%2e/etc/passwd"])];
    case 4: return ["nul", p + r.pick(["%00", "%00.json", "%0d%0aX-Injected:%201"])];
    case 5: return ["encoded-slash", "/" + p.slice(1).replace(/\//g, () => (r.chance(0.5) ? r.pick(["%2f", "%2F", "%252f", "%5c"]) : "/"))];
    case 6: return ["upper-case", p.toUpperCase()];
    case 7: return ["long-path", p + "/" + "a".repeat(r.int(1000, 9000))];
    case 8: return ["bad-escapes", p + r.pick(["%", "%z", "%zz", "%E0%A4%A", "%C0%AF", "%ED%A0%80", "%u0041"])];
    case 9: return ["raw-8bit", p + r.pick(["\u00e9", "\u00ff\u00fe", "\u00c3\u00a9", "\u0080"])];
    case 10: return ["backslash", "/" + p.slice(1).replace(/\//g, () => (r.chance(0.5) ? "\\" : "/"))];
    case 11: return ["matrix-param", p + ";jsessionid=" + r.chars(8, ALNUM)];
    case 12: return ["rtl-and-unicode", p + r.pick(["%E2%80%AE", "%EF%BB%BF", "%F0%9F%99%82", "%C2%A0"])];
    default: return ["many-segments", p + "/x".repeat(r.int(10, 2000))];
  }
}

function junkQuery(r: Rng): string {
  return "?" + r.pick([
    "", "a", "%%%=&&", "a=%zz", "a=%E0%A4%A", "__proto__[x]=1&constructor[prototype][y]=2", "model=x&model=y", "model=gpt-4o",
    "stream=true", "api-version=", "limit=-1&from=yesterday&to=1e99", "limit=99999999999999999999", "from=2020-13-45", "a[]=1&a[b]=2",
    "x=" + "a".repeat(r.int(100, 6000)), Array.from({ length: r.int(10, 800) }, (_, i) => `k${i}=v`).join("&"), junk(r, r.int(1, 200)).replace(/[#\s]/g, "_"),
  ]);
}

const b64url = (b: Uint8Array | string) => Buffer.from(b).toString("base64url");

function fakeJwt(r: Rng): string {
  const header = b64url(JSON.stringify(r.pick([{ alg: "none", typ: "JWT" }, { alg: "HS256", typ: "JWT" }, { alg: "RS256" }, { alg: "HS256", kid: "../../x" }])));
  const payload = b64url(JSON.stringify({ sub: r.pick(["1", "2", 1, "admin"]), exp: r.pick([9_999_999_999, 1, "x"]), typ: "session", ver: 0 }));
  switch (r.int(0, 4)) {
    case 0: return `${header}.${payload}.`;
    case 1: return `${header}.${payload}.${b64url(createHmac("sha256", r.bytes(32)).update(`${header}.${payload}`).digest())}`;
    case 2: return "eyJ" + r.chars(r.int(0, 300), ALNUM + "-_.");
    case 3: return `eyJ${"A".repeat(5000)}.${"B".repeat(3000)}.${"C".repeat(50)}`;
    default: return `${header}.${b64url(r.bytes(40))}.${b64url(r.bytes(32))}`;
  }
}

type Auth = { values: string[]; tag: string };

/** Authorization values: a working key about 40% of the time (so validation is reached), else bogus ones. */
function genAuth(r: Rng, e: FuzzEnv): Auth {
  const k = e.key;
  const publicId = k.slice(e.keyPrefix.length, e.keyPrefix.length + 8);
  const one = (tag: string, v: string): Auth => ({ values: [v], tag });
  if (r.chance(0.4)) return one("valid-key", `Bearer ${k}`);
  switch (r.int(0, 24)) {
    case 0: return { values: [], tag: "no-auth" };
    case 1: return one("empty", "");
    case 2: return one("basic", "Basic " + Buffer.from(`fuzz:${k}`).toString("base64"));
    case 3: return one("bearer-only", r.pick(["Bearer", "Bearer ", "bearer", "BEARER"]));
    case 4: return one("bearer-spaces", r.pick([`Bearer  ${k}`, `Bearer ${k.slice(0, 20)} ${k.slice(20)}`, `Bearer\t${k}`, `Bearer ${k} x`]));
    case 5: return one("bearer-lowercase", `bearer ${k}`);
    case 6: return one("unicode", "Bearer " + Buffer.from(r.pick(["ключ", "🔑🔑🔑", "\u202e" + k, "ｓｋ－ａｐｐ", k + "\u00a0"]), "utf8").toString("latin1"));
    case 7: return one("latin1", "Bearer " + r.pick(["\u00e9\u00ff\u00fe", "sk-app-\u00c0\u00c1", k.slice(0, -1) + "\u00e9"]));
    case 8: return one("very-long", "Bearer " + r.chars(r.int(4000, 11_000), ALNUM));
    case 9: return one("wrong-secret", `Bearer ${e.keyPrefix}${publicId}_${r.chars(48, ALNUM)}`);
    case 10: return one("unknown-id", `Bearer ${e.keyPrefix}${r.chars(8, ALNUM)}_${r.chars(48, ALNUM)}`);
    case 11: return one("jwt-garbage", "Bearer " + fakeJwt(r));
    case 12: return one("truncated-key", `Bearer ${k.slice(0, r.int(1, k.length - 1))}`);
    case 13: return one("key-plus-junk", `Bearer ${k}${r.pick(["x", "!", "%00", ",", ";", "\u00e9", "==", "." + fakeJwt(r)])}`);
    case 14: return one("two-keys-one-header", `Bearer ${k}, Bearer ${k}`);
    case 15: return { values: [`Bearer ${k}`, `Bearer ${k}`], tag: "repeated-valid" };
    case 16: return { values: [`Bearer ${k}`, "Bearer bogus"], tag: "repeated-mixed" };
    case 17: return { values: Array.from({ length: r.int(3, 40) }, () => `Bearer ${r.chars(20, ALNUM)}`), tag: "repeated-many" };
    case 18: return one("other-scheme", r.pick([`Token ${k}`, `Digest ${k}`, k, `Bearer=${k}`, `Bearer:${k}`]));
    case 19: return one("other-prefix", `Bearer ${r.pick(["sk-proj-", "sk-", "sk-ant-", "sk-app", "SK-APP-"])}${r.chars(56, ALNUM)}`);
    case 20: return one("injection", "Bearer " + r.pick(["' OR 1=1 --", "${jndi:ldap://x/a}", "../../etc/passwd", "null", "undefined", "[object Object]", "%s%s%s"]));
    case 21: return one("case-changed-key", `Bearer ${r.chance(0.5) ? k.toUpperCase() : k.toLowerCase()}`);
    case 22: return one("printable-junk", "Bearer " + r.chars(r.int(1, 200), PRINTABLE));
    case 23: return one("prefix-only", `Bearer ${e.keyPrefix}${publicId}_`);
    default: return one("huge-jwt", "Bearer eyJ" + r.chars(r.int(5000, 10_000), ALNUM));
  }
}

const sameAsValid = (v: string, key: string) => /^bearer[ \t]+(\S+)$/i.exec(v.trim())?.[1] === key;

/** Extra headers: many, large, repeated, and odd values of well-known ones. Values are byte strings. */
function genHeaders(r: Rng, tags: string[]): [string, string][] {
  const h: [string, string][] = [];
  if (r.chance(0.12)) {
    tags.push("many-headers");
    const n = r.int(20, 90);
    for (let i = 0; i < n; i++) h.push([`x-fuzz-${i}`, r.chars(r.int(0, 40), PRINTABLE).trim()]);
  }
  if (r.chance(0.1)) {
    tags.push("big-header");
    h.push([r.pick(["x-fuzz-big", "user-agent", "cookie", "x-forwarded-for", "accept", "referer"]), r.chars(r.int(2000, 8000), ALNUM + "=,; .")]);
  }
  if (r.chance(0.08)) h.push(["x-forwarded-for", r.pick(["999.999.1.1", "::ffff:zzz, , ,", "unknown", "127.0.0.1, 10.0.0.1", Array(500).fill("1.2.3.4").join(", "), "[::1]:80", "\u00e9"])]);
  if (r.chance(0.05)) h.push(["cookie", r.pick(["a=%E0%A4%A; =; ;;b", "session=" + "x".repeat(3000), "__proto__=1; constructor=2", "a=\"unterminated"])]);
  if (r.chance(0.05)) h.push(["x-request-id", r.pick(["req_evil", "'; DROP TABLE x; --", "\u00e9\u00e9", "x".repeat(2000)])]);
  if (r.chance(0.04)) h.push(["content-encoding", r.pick(["gzip", "br", "deflate", "zstd", "identity, gzip", "junk"])]);
  if (r.chance(0.05)) h.push([r.pick(["accept", "accept-encoding", "accept-language", "origin", "referer", "user-agent"]), junk(r, r.int(1, 300)).trim()]);
  if (r.chance(0.03)) h.push([r.pick(["openai-organization", "openai-project", "x-stainless-retry-count", "x-api-key", "api-key"]), junk(r, 60).trim()]);
  if (r.chance(0.03)) h.push(["upgrade", r.pick(["websocket", "h2c", "TLS/1.0"])]);
  return h;
}

// files and batches: relay lists the caller's own from its records (server/objects/).
const READ_AUTHED = /^\/v1\/(me|keys|usage|files|batches|webhooks)$/;
const READ_PUBLIC = /^\/v1\/(models(\/[^/]*)?|openapi\.json)$/;

/**
 * Where a lenient router could land for this target, under each reading: dot segments resolved the
 * WHATWG way (before decoding, %2e is a dot, empty segments count), or after decoding and collapsing
 * slashes; then case folded, matrix parameters and a trailing slash dropped.
 */
export function routesOf(target: string): string[] {
  const path = target.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, "").split(/[?#]/)[0]!.replace(/\\/g, "/");
  const decode = (p: string) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  };
  const whatwg = (p: string) => {
    try {
      return new URL(p.startsWith("/") ? p : "/" + p, "http://x").pathname;
    } catch {
      return p;
    }
  };
  const collapsed = (p: string) => {
    const out: string[] = [];
    for (const seg of p.split("/")) {
      if (seg === "..") out.pop();
      else if (seg !== "." && seg !== "") out.push(seg);
    }
    return "/" + out.join("/");
  };
  const tidy = (p: string) => "/" + p.toLowerCase().split("/").map((seg) => seg.split(";")[0]).filter(Boolean).join("/");
  return [tidy(decode(whatwg(path))), tidy(collapsed(decode(path))), tidy(collapsed(decode(whatwg(path))))];
}

/** Whether a 2xx is an acceptable answer: a read of a read-only route, with a working key unless public. */
export function passAllowed(method: string, target: string, validAuth: boolean): boolean {
  if (method !== "GET" && method !== "HEAD") return false;
  return routesOf(target).some((route) => READ_PUBLIC.test(route) || (validAuth && READ_AUTHED.test(route)));
}

/** Can fetch send this target unchanged? (It resolves dot segments and rewrites backslashes.) */
function fetchKeeps(target: string): boolean {
  try {
    const u = new URL(target, "http://127.0.0.1");
    return u.pathname + u.search === target;
  } catch {
    return false;
  }
}

/** Case `index`: a pure function of the generator state and the relay's facts. */
export function genCase(r: Rng, index: number, e: FuzzEnv): FuzzCase {
  const route = r.weighted(ROUTES.map((x) => [x.weight, x] as const));
  const tags: string[] = [];
  let target = route.target(r, e);
  if (r.chance(0.3)) {
    const [tag, t] = trickPath(r, target);
    tags.push(tag);
    target = t;
  }
  if (r.chance(0.25)) {
    tags.push("junk-query");
    target += junkQuery(r);
  }
  const method = r.chance(0.78) ? r.pick(route.methods) : r.pick(METHODS);
  if (method !== route.methods[0]) tags.push(`method-${method}`);
  const auth = genAuth(r, e);
  tags.push(auth.tag);
  const headers: [string, string][] = auth.values.map((v) => ["authorization", v]);
  headers.push(...genHeaders(r, tags));

  let body: Uint8Array | null = null;
  let chunked = false;
  const bodyAllowed = method !== "GET" && method !== "HEAD";
  if (bodyAllowed && (route.body || r.chance(0.3))) {
    const b = genBody(r, route.body ?? "other", e.bodyLimit);
    tags.push(`body-${b.tag}${b.chunked ? "-chunked" : ""}${b.contentType === null ? "-no-ct" : ""}`);
    body = b.bytes;
    chunked = b.chunked;
    if (b.contentType !== null) headers.push(["content-type", b.contentType]);
    headers.push(...(b.extraHeaders ?? []));
  }

  // Keep the header section under Bun's 16 KiB cap: over it Bun answers 431 before the app runs, which
  // the raw-TCP table covers on purpose. Drop the biggest extra header until the request fits.
  const size = () => target.length + headers.reduce((n, [k, v]) => n + k.length + v.length + 4, 0) + 200;
  while (size() > 15_000) {
    let at = 0;
    headers.forEach(([, v], i) => v.length > headers[at]![1].length && (at = i));
    tags.push(`dropped-${headers[at]![0]}`);
    headers.splice(at, 1);
  }

  target = target.replace(/[\x00-\x20\x7f]/g, (ch) => "%" + ch.charCodeAt(0).toString(16).padStart(2, "0").toUpperCase());
  const validAuth = auth.values.length === 1 && sameAsValid(auth.values[0]!, e.key) && headers.filter(([k]) => k === "authorization").length === 1;
  // fetch refuses CONNECT, refuses a TRACE with a body and drops the body of a TRACE answer.
  const raw = !fetchKeeps(target) || method === "CONNECT" || method === "TRACE" || r.chance(0.1);
  if (raw) tags.push("raw-tcp");
  return { index, tags, method, target, headers, body, chunked, mayPass: passAllowed(method, target, validAuth), raw };
}
