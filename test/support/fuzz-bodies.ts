import { Rng, ALNUM, PRINTABLE } from "./fuzz-rng";

/** Which schema a route's body follows; the generators break that schema. */
export type BodyShape = "chat" | "completion" | "embedding" | "key" | "login" | "other";

export type FuzzBody = {
  tag: string;
  bytes: Uint8Array;
  /** Content-Type to send; null sends none. */
  contentType: string | null;
  /** Send without Content-Length, as a chunked stream. */
  chunked: boolean;
  extraHeaders?: [string, string][];
};

const utf8 = (s: string) => new TextEncoder().encode(s);
const concat = (...parts: (string | Uint8Array)[]) => Buffer.concat(parts.map((p) => (typeof p === "string" ? utf8(p) : p)));

const MODELS = ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "claude-3-5-sonnet", "x"];

/** Bodies a lenient relay could accept: with no channels configured they must still end in a 4xx. */
function validBody(r: Rng, shape: BodyShape): Record<string, unknown> {
  const model = r.pick(MODELS);
  switch (shape) {
    case "completion": return { model, prompt: "Say hi", max_tokens: r.int(1, 64) };
    case "embedding": return { model, input: r.chance(0.5) ? "hello" : ["a", "b"] };
    default: {
      const b: Record<string, unknown> = { model, messages: [{ role: "user", content: "hi" }] };
      if (r.chance(0.4)) b.stream = true;
      if (r.chance(0.3)) b.stream_options = { include_usage: true };
      if (r.chance(0.4)) b.max_tokens = r.int(1, 4096);
      return b;
    }
  }
}

const big = (n: number) => "a".repeat(n);
const deepArray = (d: number): unknown => JSON.parse("[".repeat(d) + "]".repeat(d));

/** Wrong values per field; any of them must be refused (or, where a relay forwards as is, end in a 4xx). */
const WRONG_VALUES: Record<string, () => unknown[]> = {
  model: () => [123, 1.5, -1, ["gpt-4o"], { id: "gpt-4o" }, null, true, "", " ", big(300), big(100_000), "gpt-4o\u0000", "../../etc/passwd", "\u202egpt-4o", "🙂".repeat(200), "%s%s%n", "${jndi:ldap://x}"],
  messages: () => ["hello", 5, {}, [], [null], [1, 2], [{}], [{ role: "user" }], [{ role: "bogus", content: "x" }], [{ role: "user", content: 5 }], [{ role: "user", content: {} }], [{ role: "user", content: [{ type: "image_url", image_url: 5 }] }], [{ role: "user", content: [{ type: "text" }] }], [{ role: ["user"], content: "x" }], Array.from({ length: 5000 }, () => ({ role: "user", content: "x" })), [{ role: "user", content: deepArray(2000) }]],
  stream: () => ["yes", "true", 1, 0, {}, [], "", -1],
  stream_options: () => ["x", 5, [], { include_usage: "yes" }, true],
  max_tokens: () => [-1, 0, 1.5, 1e308, -1e308, 2 ** 53 + 2, "10", [], {}, true, -0.0001, Number.MAX_SAFE_INTEGER],
  max_completion_tokens: () => [-5, 0.5, "x", 1e300],
  temperature: () => ["hot", -5, 1e9, [], {}],
  n: () => [0, -1, 1e9, 1.5, "2"],
  stop: () => [5, {}, [1, 2], Array(1000).fill("x")],
  tools: () => ["x", [{}], [{ type: "function" }], [{ type: "function", function: { name: 5 } }], Array(2000).fill({ type: "function" })],
  logit_bias: () => ["x", { a: "b" }, [1], { "999999999999": 1e9 }],
  user: () => [{}, 5, big(50_000)],
  response_format: () => ["json", { type: 5 }, []],
  prompt: () => [5, {}, [null], [[1e10]], [[-1]], [{}], true, big(200_000)],
  input: () => [5, {}, [], [null], [[]], [["a"]], [[1.5]], [[-1, 1e12]], big(500_000), Array(10_000).fill("x")],
  encoding_format: () => ["hex", 5, null, []],
  dimensions: () => [-1, 0, 1e9, "3", 1.5],
  // self-service keys (strict schema)
  label: () => [5, {}, [], big(1000)],
  scopes: () => ["full", [], ["admin"], [5], [null], Array(100).fill("bogus")],
  allowIps: () => ["10.0.0.0/8", ["999.1.1.1/99"], ["::1/129"], [5], Array(200).fill("10.0.0.0/8")],
  expiresAt: () => ["yesterday", 5, "2020-13-45T99:99:99Z", [], "9999999-01-01"],
  spendLimit: () => [-1, 1.5, "100", 1e308],
  group: () => ["admin", 5, []],
  user_id: () => [1, "1"],
  hash: () => ["00"],
  enabled: () => ["yes", 1],
  // login
  name: () => [5, "", big(300), [], {}, null],
  password: () => [5, "", big(2000), [], {}, null],
};

const wrongCache = new Map<string, unknown[]>();
/** Built once per field: some values are large. */
function wrongValues(field: string): unknown[] {
  let v = wrongCache.get(field);
  if (!v) wrongCache.set(field, (v = WRONG_VALUES[field]!()));
  return v;
}

const FIELDS: Record<BodyShape, string[]> = {
  chat: ["model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens", "temperature", "n", "stop", "tools", "logit_bias", "user", "response_format"],
  completion: ["model", "prompt", "max_tokens", "stream", "n", "stop", "temperature"],
  embedding: ["model", "input", "encoding_format", "dimensions", "user"],
  other: ["model", "stream", "max_tokens", "input", "prompt"],
  key: ["label", "scopes", "allowIps", "expiresAt", "spendLimit", "group", "user_id", "hash", "enabled", "model"],
  login: ["name", "password"],
};

/** A body whose fields have the wrong types or out-of-range values. Key and login bodies are never valid. */
function wrongTypes(r: Rng, shape: BodyShape): Record<string, unknown> {
  const base: Record<string, unknown> = shape === "key" ? {} : shape === "login" ? { name: "fuzz", password: "x" } : validBody(r, shape);
  const fields = FIELDS[shape];
  const n = r.int(1, 3);
  for (let i = 0; i < n; i++) {
    const f = r.pick(fields);
    base[f] = r.pick(wrongValues(f));
  }
  // A login body must never be well-formed: a wrong password would feed the failure limiter and its delays.
  if (shape === "login" && typeof base.name === "string" && base.name.length > 0 && base.name.length <= 200 && typeof base.password === "string" && base.password.length > 0) {
    base.password = 5;
  }
  // Strict schemas refuse unknown fields; make sure a key body has at least one wrong or unknown one.
  if (shape === "key" && Object.keys(base).length === 0) base.user_id = 1;
  return base;
}

const BROKEN = [
  "{", "}", "[", "\"str", "tru", "nul", "{\"model\":}", "{\"model\":\"gpt-4o\",}", "{'model':'gpt-4o'}", "{model: \"x\"}",
  "{\"model\":\"x\"\"messages\":[]}", "{\"a\":NaN}", "{\"a\":Infinity}", "{\"a\":-Infinity}", "{\"a\":undefined}", "{\"a\":1}/*c*/",
  "// c\n{}", "{\"a\":\"unterminated}", "{\"a\":\"\\x41\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\uZZZZ\"}", "{\"a\":\"line\nbreak\"}",
  "{\"a\":\"tab\there\"}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":+1}", "{\"a\":--1}", "{\"a\":0x10}", "{}}", "{}{}",
  "{\"a\":1}\u0000", "\u0000{}", "{\"\\ud800\":1", "{\"a\":[1,2,]}", "{,}", "{:}", "{\"a\"}", "{\"a\":}", "{\"a\" 1}", "{\"a\":1 \"b\":2}",
  "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]", "{\"a\":tRue}", "{\"a\":True}", "{\"a\":None}", "\u00ef\u00bb\u00bf",
];

/** Special but well-formed JSON texts that JSON.stringify cannot produce. */
function specialJson(r: Rng, shape: BodyShape): string {
  const model = shape === "key" || shape === "login" ? "\"label\":\"x\",\"user_id\":1" : `"model":"${r.pick(MODELS)}"`;
  const msgs = shape === "chat" || shape === "other" ? ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]" : shape === "embedding" ? ",\"input\":\"x\"" : shape === "completion" ? ",\"prompt\":\"x\"" : "";
  return r.pick([
    `{${model}${msgs},"max_tokens":1e400}`,
    `{${model}${msgs},"max_tokens":-0}`,
    `{${model}${msgs},"max_tokens":1E+999,"n":-1e-999}`,
    `{"model":"\\ud800"${msgs}}`,
    `{"model":"\\udfff\\ud800"${msgs}}`,
    `{"model":"\\u0000"${msgs}}`,
    `{${model},"model":5${msgs}}`,
    `{"model":5,${model}${msgs}}`,
    `{${model}${msgs},"__proto__":{"isAdmin":true,"scopes":["full"]}}`,
    `{${model}${msgs},"constructor":{"prototype":{"polluted":1}}}`,
    `{"__proto__":null${msgs}}`,
    `{${model}${msgs},"${"k".repeat(100_000)}":1}`,
    `{${model}${msgs}${",\"x\":1".repeat(20_000)}}`,
    `{${model}${msgs},"x":${"[".repeat(50_000)}${"]".repeat(50_000)}}`,
    `{${model}${msgs},"x":${"{\"a\":".repeat(20_000)}1${"}".repeat(20_000)}}`,
    `{${model}${msgs},"x":${"[".repeat(100_000)}}`,
    `\ufeff{${model}${msgs}}`,
    `  \r\n\t{${model}${msgs}}\r\n  `,
  ]);
}

/** Invalid UTF-8 sequences: lone continuation, overlong, surrogate halves, truncated, out of range. */
const BAD_UTF8 = [[0x80], [0xff], [0xfe, 0xff], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf0, 0x9f, 0x98], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc3, 0x28], [0xe9]];

function invalidUtf8(r: Rng, shape: BodyShape): Uint8Array {
  const bad = Uint8Array.from(r.pick(BAD_UTF8));
  const text = JSON.stringify(shape === "key" || shape === "login" ? wrongTypes(r, shape) : validBody(r, shape));
  const where = r.int(0, 3);
  if (where === 0) return concat(bad, text); // before the object
  if (where === 1) return concat(text.slice(0, -1), ",\"", bad, "\":1}"); // in a key
  if (where === 2) {
    const i = text.indexOf("\"", text.indexOf(":") + 1) + 1; // inside the first string value
    return concat(text.slice(0, i), bad, text.slice(i));
  }
  return Buffer.from(text, "utf16le"); // the right JSON in the wrong encoding
}

const CONTENT_TYPES = [
  "application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "application/json; charset=latin1",
  "application/json;charset=\"utf-16\"", "application/vnd.api+json", "application/jsonx", "application/json-seq", "text/json",
  "text/plain", "text/xml", "application/xml", "multipart/form-data; boundary=----x", "multipart/form-data",
  "application/x-www-form-urlencoded", "application/octet-stream", "", "*/*", ";;;", "application/json\u00e9",
  "application/json; " + "a=b; ".repeat(300), "image/png", "text/html; charset=utf-7",
];

function foreignFormat(r: Rng): FuzzBody {
  switch (r.int(0, 4)) {
    case 0:
      return { tag: "xml", bytes: utf8(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><chat><model>&e;</model></chat>`), contentType: r.pick(["text/xml", "application/xml", "application/json"]), chunked: false };
    case 1: {
      const b = "----fuzz" + r.chars(8, ALNUM);
      const parts = r.int(1, 3) === 1 ? `--${b}\r\nContent-Disposition: form-data; name="model"\r\n\r\ngpt-4o\r\n--${b}--\r\n` : `--${b}\r\nContent-Disposition: form-data; name="file"; filename="../../x.json"\r\nContent-Type: application/json\r\n\r\n{"model":"gpt-4o"}\r\n--${b}`;
      return { tag: "multipart", bytes: utf8(parts), contentType: r.pick([`multipart/form-data; boundary=${b}`, "multipart/form-data", `multipart/form-data; boundary=wrong`, "multipart/mixed; boundary=" + b]), chunked: false };
    }
    case 2: {
      const b = "b" + r.chars(6, ALNUM);
      const many = `--${b}\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n`.repeat(r.int(100, 5000)) + `--${b}--\r\n`;
      return { tag: "multipart-many-parts", bytes: utf8(many), contentType: `multipart/form-data; boundary=${b}`, chunked: false };
    }
    case 3:
      return { tag: "form-urlencoded", bytes: utf8(r.pick(["model=gpt-4o&messages=hi", "model[]=1&model[$gt]=", "%%%=%%%", "a".repeat(5000)])), contentType: r.pick(["application/x-www-form-urlencoded", "application/json"]), chunked: false };
    default:
      return { tag: "json-wrong-content-type", bytes: utf8(JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] })), contentType: r.pick(CONTENT_TYPES), chunked: false };
  }
}

let hugeTemplate: Uint8Array | null = null;

/** `size` bytes of a JSON-looking body that never closes; one shared buffer, so huge cases cost no memory each. */
function hugeBytes(size: number): Uint8Array {
  const max = 12 * 1024 * 1024;
  if (!hugeTemplate) {
    hugeTemplate = new Uint8Array(max).fill(0x61);
    hugeTemplate.set(utf8("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\""));
  }
  return hugeTemplate.subarray(0, Math.min(size, max));
}

let gzipBomb: Uint8Array | null = null;

/**
 * A body for `shape`, chosen by weight among the ways a body can be wrong. `limit` is the relay's body
 * limit: huge bodies go just past it, with Content-Length or chunked without one.
 */
export function genBody(r: Rng, shape: BodyShape, limit: number): FuzzBody {
  const json = (v: unknown, tag: string): FuzzBody => ({ tag, bytes: utf8(JSON.stringify(v)), contentType: "application/json", chunked: false });
  const kind = r.weighted<string>([
    [10, "valid"], [30, "wrong-types"], [18, "broken-json"], [8, "truncated"], [10, "invalid-utf8"], [8, "foreign"],
    [6, "special-json"], [4, "garbage"], [4, "not-an-object"], [1.2, "huge"], [0.5, "gzip-bomb"],
  ]);
  let body: FuzzBody;
  switch (kind) {
    case "valid":
      body = shape === "key" || shape === "login" ? json(wrongTypes(r, shape), "wrong-types") : json(validBody(r, shape), "valid");
      break;
    case "wrong-types":
      body = json(wrongTypes(r, shape), "wrong-types");
      break;
    case "broken-json":
      body = { tag: "broken-json", bytes: utf8(r.pick(BROKEN)), contentType: "application/json", chunked: false };
      break;
    case "truncated": {
      const text = JSON.stringify(shape === "key" || shape === "login" ? wrongTypes(r, shape) : validBody(r, shape));
      body = { tag: "truncated", bytes: utf8(text.slice(0, r.int(1, text.length - 1))), contentType: "application/json", chunked: false };
      break;
    }
    case "invalid-utf8":
      body = { tag: "invalid-utf8", bytes: invalidUtf8(r, shape), contentType: "application/json", chunked: false };
      break;
    case "foreign":
      body = foreignFormat(r);
      break;
    case "special-json":
      body = { tag: "special-json", bytes: utf8(specialJson(r, shape)), contentType: "application/json", chunked: false };
      break;
    case "garbage":
      body = { tag: "garbage", bytes: r.bytes(r.int(1, 4096)), contentType: r.pick(CONTENT_TYPES), chunked: false };
      break;
    case "not-an-object":
      body = { tag: "not-an-object", bytes: utf8(r.pick(["", " ", "\r\n", "null", "true", "0", "-1", "\"{}\"", "[]", "[{}]", "[{\"model\":\"gpt-4o\"}]", "1e999"])), contentType: "application/json", chunked: false };
      break;
    case "huge": {
      const size = limit + r.int(1, 1024 * 1024);
      body = { tag: `huge-${size}`, bytes: hugeBytes(size), contentType: "application/json", chunked: r.chance(0.5) };
      break;
    }
    default: {
      gzipBomb ??= Bun.gzipSync(new Uint8Array(16 * 1024 * 1024)); // ~16 KB that inflates to 16 MB
      body = { tag: "gzip-bomb", bytes: gzipBomb, contentType: "application/json", chunked: false, extraHeaders: [["content-encoding", "gzip"]] };
    }
  }
  if (kind !== "garbage" && kind !== "foreign" && r.chance(0.15)) body.contentType = r.pick([null, ...CONTENT_TYPES]);
  if (!body.tag.startsWith("huge") && r.chance(0.1)) body.chunked = true;
  return body;
}

/** A short printable value for junk headers and query strings. */
export function junk(r: Rng, n: number): string {
  return r.chars(n, PRINTABLE);
}
