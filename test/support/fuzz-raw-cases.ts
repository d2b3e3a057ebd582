import { latin1, type BunRefusal, type RawBuilder, type RawTarget } from "./fuzz-raw";

/**
 * Hand-written raw-TCP cases: what fetch cannot send. Each says in `bun` which of Bun's own parser
 * refusals it may get instead of an answer from the app; an empty list means Bun passes the request on
 * and the relay must answer it with its JSON envelope.
 *
 * Bun 1.4.5's HTTP parser (uWebSockets) refuses these before any app code runs, so the relay cannot put
 * its envelope or an x-request-id on them. They are the only answers the fuzz test lets through without
 * the envelope, and only for the cases below that name them:
 *   400, empty body, Connection: close — a control byte other than HTAB/DEL in a header value (NUL, ESC,
 *       bare CR or LF), a header name with a space, an 8-bit byte or nothing before the colon, a line
 *       without a colon, obs-fold continuation lines, no Host on HTTP/1.1, a Content-Length that is signed,
 *       non-numeric, overflowing, a list or given twice with different values, Content-Length together with
 *       Transfer-Encoding, a Transfer-Encoding other than chunked, broken chunked framing, chunked
 *       trailers, a target of `*` or without a leading slash, two spaces in the request line, TLS or
 *       HTTP/2 preface bytes, and bytes left over after a request whose Content-Length was too short.
 *   413, empty body — a declared Content-Length above the server's maxRequestBodySize (serve.ts sets it
 *       to max(4 × RELAY_MAX_BODY_BYTES, 64 MB), so the relay's own 413 covers everything up to there).
 *   431, empty body — a header section over 16 KiB (one long value, a long URL) or about 200 headers.
 *   505 HTTP Version Not Supported, empty body — a request line Bun cannot split into method, target and
 *       version: a version other than HTTP/1.0 or HTTP/1.1 (also lower-case or missing), tabs as
 *       separators, a space or NUL inside the target, bare LF or bare CR line endings. This is the one
 *       5xx the test allows, and only on these cases.
 *   connection closed with no answer ("close") — a method token Bun does not know (FOOBAR, BREW,
 *       lower-case get, VERSION-CONTROL); a method with an 8-bit byte gets the 505 instead.
 * Where the app already answered the first request on the connection (it did not need the body), Bun's
 * 400 for the broken remainder follows that answer; both are checked.
 */
export type RawCase = {
  name: string;
  bun: BunRefusal[];
  /** "body": aim at a route that reads a body. */
  aim: "any" | "body";
  /** The client goes away before the request is complete: no answer at all is then fine. */
  hangUp?: boolean;
  build: (b: RawBuilder, t: RawTarget, pick: <T>(xs: readonly T[]) => T) => Buffer;
};

const U = (s: string) => Buffer.from(s, "utf8").toString("latin1"); // UTF-8 bytes as a byte string
const CHUNKED = "Transfer-Encoding: chunked\r\n";
const JSON_CT = "Content-Type: application/json\r\n";
/** 12 bytes of JSON no route accepts (strict schemas refuse the field; relay routes refuse the model), so no case creates anything. */
const WRONG = "{\"model\":[]}";

/** A JSON-looking body 64 KB over the limit, never closed. */
function overLimit(limit: number): Buffer {
  const body = Buffer.alloc(limit + 65536, 0x61);
  body.write("{\"model\":\"gpt-4o\",\"input\":\"", 0, "latin1");
  return body;
}

/** Chunked framing in 1 MB chunks, with the closing zero chunk. */
function chunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < body.length; i += 1 << 20) {
    const piece = body.subarray(i, i + (1 << 20));
    parts.push(latin1(`${piece.length.toString(16)}\r\n`), piece, latin1("\r\n"));
  }
  return Buffer.concat([...parts, latin1("0\r\n\r\n")]);
}

export const RAW_CASES: RawCase[] = [
  // ---- Bun passes these on: the relay must answer with its envelope. ----
  { name: "obs-text and DEL bytes in a header value", bun: [], aim: "any", build: (b) => b.req({ headers: "X-Fuzz: \x80\xff\xfe\xc3\x28\x7f\r\n" }) },
  { name: "UTF-8 Bearer token", bun: [], aim: "any", build: (b, _, p) => b.req({ auth: `Authorization: Bearer ${U(p(["ключ", "🔑", "sk-app-ｘｙｚ", "\u202e"]))}\r\n` }) },
  { name: "invalid UTF-8 Bearer token", bun: [], aim: "any", build: (b) => b.req({ auth: "Authorization: Bearer \xff\xfe\xc3\x28\xed\xa0\x80\xc0\xaf\r\n" }) },
  { name: "working key with tabs around it", bun: [], aim: "any", build: (b, t) => b.req({ auth: `Authorization:\t Bearer ${t.key}\t \r\n`, validAuth: true }) },
  { name: "Authorization header name in odd case", bun: [], aim: "any", build: (b, t) => b.req({ auth: `aUtHoRiZaTiOn: Bearer ${t.key}\r\n`, validAuth: true }) },
  { name: "working key sent twice", bun: [], aim: "any", build: (b, t) => b.req({ auth: `Authorization: Bearer ${t.key}\r\n`.repeat(2) }) },
  { name: "50 Authorization lines", bun: [], aim: "any", build: (b, t, p) => b.req({ auth: Array.from({ length: 50 }, (_, i) => `Authorization: Bearer ${p([t.key, "x" + i])}\r\n`).join("") }) },
  { name: "working key then an empty Authorization line", bun: [], aim: "any", build: (b, t) => b.req({ auth: `Authorization: Bearer ${t.key}\r\nAuthorization:\r\n` }) },
  { name: "HTTP/1.0 without Host", bun: [], aim: "any", build: (b) => b.req({ version: "HTTP/1.0", host: null }) },
  { name: "absolute-form target", bun: [], aim: "any", build: (b, t, p) => b.req({ target: `${p(["http://evil.example", "https://127.0.0.1:1", "http://[::1]"])}${t.path}` }) },
  { name: "raw 8-bit bytes in the path and query", bun: [], aim: "any", build: (b, t) => b.req({ target: `${t.path}\xe9\xff?q=\xc3\x28` }) },
  { name: "dot segments and backslashes in the path", bun: [], aim: "any", build: (b, _, p) => b.req({ target: p(["/v1/../admin", "/v1/./me/../../etc/passwd", "/v1\\..\\admin", "/v1/%2e%2e/%2e%2e/", "/./v1/me", "/v1/me/.", "/.."]) }) },
  { name: "fragment in the target", bun: [], aim: "any", build: (b, t) => b.req({ target: `${t.path}#frag?x=1` }) },
  { name: "GET with a JSON body", bun: [], aim: "any", build: (b) => b.req({ method: "GET", headers: JSON_CT, body: "{\"model\":5}" }) },
  { name: "GET with a chunked body", bun: [], aim: "any", build: (b) => b.req({ method: "GET", headers: CHUNKED, body: "3\r\n{{{\r\n0\r\n\r\n", framed: true }) },
  { name: "HEAD with a body", bun: [], aim: "any", build: (b) => b.req({ method: "HEAD", body: WRONG }) },
  { name: "pipelined: a request, then a malformed one", bun: [], aim: "any", build: (b) => Buffer.concat([b.req({ close: false }), b.req({ method: "POST", target: "/v1/chat/completions", headers: JSON_CT, body: "{\"model\":" })]) },
  { name: "Expect: 100-continue", bun: [], aim: "body", build: (b) => b.req({ headers: "Expect: 100-continue\r\n" + JSON_CT, body: "{\"model\":[]}" }) },
  { name: "unknown Expect value", bun: [], aim: "body", build: (b) => b.req({ headers: "Expect: 999-bogus\r\n", body: WRONG }) },
  { name: "chunked with extensions and upper-case CHUNKED", bun: [], aim: "body", build: (b) => b.req({ headers: "Transfer-Encoding: CHUNKED\r\n" + JSON_CT, body: `c;ext=1;x\r\n${WRONG}\r\n0\r\n\r\n`, framed: true }) },
  { name: "Content-Length: 0", bun: [], aim: "body", build: (b) => b.req({ headers: "Content-Length: 0\r\n" + JSON_CT }) },
  { name: "the same Content-Length twice", bun: [], aim: "body", build: (b) => b.req({ headers: "Content-Length: 12\r\nContent-Length: 12\r\n", body: WRONG, framed: true }) },
  { name: "odd Host headers", bun: [], aim: "any", build: (b, _, p) => b.req({ host: p(["", "\xc3\xa9x\xff", "[::1:::]:99999", "a/b?c#d@e", "x".repeat(9000), "h", "127.0.0.1:0\r\nHost: evil"]) }) },
  { name: "WebSocket and h2c upgrade requests", bun: [], aim: "any", build: (b, _, p) => b.req({ headers: p(["Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n", "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"]) }) },
  { name: "malformed cookies", bun: [], aim: "any", build: (b) => b.req({ headers: "Cookie: a=%E0%A4%A; =; ;;b; __proto__=1\r\nCookie: \xff\xfe\r\n" }) },
  { name: "invalid UTF-8 inside a JSON string", bun: [], aim: "body", build: (b) => b.req({ headers: JSON_CT, body: "{\"model\":\"gpt-4o\xff\xfe\",\"messages\":[{\"role\":\"user\",\"content\":\"\xed\xa0\x80\"}]}" }) },
  { name: "UTF-16 JSON body with a BOM", bun: [], aim: "body", build: (b) => b.req({ headers: JSON_CT, body: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("{\"model\":\"gpt-4o\"}", "utf16le")]) }) },
  { name: "8-bit bytes in Content-Type", bun: [], aim: "body", build: (b) => b.req({ headers: "Content-Type: application/json; charset=\xe9\xff\r\n", body: "{\"model\":\"x\"}" }) },
  { name: "methods Bun knows that no route serves", bun: [], aim: "any", build: (b, _, p) => b.req({ method: p(["PROPFIND", "MKCOL", "CONNECT", "TRACE", "M-SEARCH", "PURGE", "LOCK", "SOURCE", "SUBSCRIBE", "QUERY"]) }) },

  { name: "body over the limit with Content-Length", bun: [], aim: "body", build: (b, t) => b.req({ headers: JSON_CT, body: overLimit(t.bodyLimit) }) },
  { name: "body over the limit, chunked without Content-Length", bun: [], aim: "body", build: (b, t) => b.req({ headers: CHUNKED + JSON_CT, body: chunk(overLimit(t.bodyLimit)), framed: true }) },

  // ---- Bun's parser refuses these itself (see the list above). ----
  { name: "NUL byte in a header value", bun: [400], aim: "any", build: (b) => b.req({ headers: "X-Fuzz: a\x00b\r\n" }) },
  { name: "NUL byte in the Authorization value", bun: [400], aim: "any", build: (b, t) => b.req({ auth: `Authorization: Bearer ${t.key}\x00\r\n` }) },
  { name: "control bytes (ESC, bare CR, bare LF) in a header value", bun: [400], aim: "any", build: (b, _, p) => b.req({ headers: `X-Fuzz: a${p(["\x1b", "\x01", "\r", "\n"])}b\r\n` }) },
  { name: "header name with a space, an 8-bit byte or nothing", bun: [400], aim: "any", build: (b, _, p) => b.req({ headers: p(["X Fuzz: a\r\n", "X-\xe9: a\r\n", ": a\r\n", "Host : x\r\n", "X-(a): b\r\n"]) }) },
  { name: "header line without a colon", bun: [400], aim: "any", build: (b) => b.req({ headers: "XFuzzNoColon\r\n" }) },
  { name: "obs-fold continuation line", bun: [400], aim: "any", build: (b) => b.req({ headers: "X-Fuzz: a\r\n  folded\r\n" }) },
  { name: "bare LF or bare CR line endings", bun: [505, 400], aim: "any", build: (b, t, p) => latin1(p(["\n", "\r"]) === "\n" ? `GET ${t.path} HTTP/1.1\nHost: x\nConnection: close\n\n` : `GET ${t.path} HTTP/1.1\rHost: x\rConnection: close\r\r`) },
  { name: "HTTP/1.1 without Host", bun: [400], aim: "any", build: (b) => b.req({ host: null }) },
  { name: "unsupported, lower-case or missing HTTP version", bun: [505], aim: "any", build: (b, _, p) => b.req({ version: p(["HTTP/2.0", "HTTP/9.9", "http/1.1", "HTTP/1.1.1", "HTTP/01.1"]) }) },
  { name: "request line without a version", bun: [505], aim: "any", build: (_, t) => latin1(`GET ${t.path}\r\nHost: x\r\nConnection: close\r\n\r\n`) },
  { name: "TLS ClientHello bytes", bun: [400], aim: "any", build: () => Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03, 0x0d, 0x0a, 0x0d, 0x0a]) },
  { name: "HTTP/2 connection preface", bun: [400], aim: "any", build: () => latin1("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") },
  { name: "a method token Bun does not know", bun: ["close", 505], aim: "any", build: (b, _, p) => b.req({ method: p(["FOOBAR", "FOO-BAR", "BREW", "get", "VERSION-CONTROL", "G\xc9T"]) }) },
  { name: "target * or without a leading slash", bun: [400], aim: "any", build: (b, t, p) => b.req({ target: p(["*", t.path.slice(1), "v1/me", "?x=1"]) }) },
  { name: "two spaces in the request line", bun: [400], aim: "any", build: (_, t) => latin1(`GET  ${t.path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`) },
  { name: "tabs as request-line separators", bun: [505], aim: "any", build: (_, t) => latin1(`GET\t${t.path}\tHTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`) },
  { name: "space or NUL inside the target", bun: [505], aim: "any", build: (b, t, p) => b.req({ target: t.path + p([" x", "\x00x", "/a b"]) }) },
  { name: "Content-Length with Transfer-Encoding", bun: [400], aim: "body", build: (b) => b.req({ headers: "Content-Length: 5\r\n" + CHUNKED, body: "0\r\n\r\n", framed: true }) },
  { name: "two different Content-Length values", bun: [400], aim: "body", build: (b) => b.req({ headers: "Content-Length: 2\r\nContent-Length: 3\r\n", body: "{}x", framed: true }) },
  { name: "Content-Length as a list", bun: [400], aim: "body", build: (b) => b.req({ headers: "Content-Length: 12, 12\r\n", body: WRONG, framed: true }) },
  { name: "Content-Length signed, non-numeric or overflowing", bun: [400], aim: "body", build: (b, _, p) => b.req({ headers: `Content-Length: ${p(["-5", "+2", "abc", "2.0", "0x2", "99999999999999999999", "1e3"])}\r\n`, body: WRONG, framed: true }) },
  { name: "Transfer-Encoding other than chunked", bun: [400], aim: "body", build: (b, _, p) => b.req({ headers: `Transfer-Encoding: ${p(["gzip", "identity", "chunked, chunked", "gzip, chunked", "xchunked"])}\r\n`, body: "0\r\n\r\n", framed: true }) },
  { name: "declared Content-Length above maxRequestBodySize", bun: [413], aim: "body", build: (b) => b.req({ headers: "Content-Length: 100000000\r\n", framed: true }) },
  { name: "chunk size that is not hex", bun: [400], aim: "body", build: (b) => b.req({ headers: CHUNKED, body: "zz\r\nabc\r\n0\r\n\r\n", framed: true }) },
  { name: "chunk longer than its size", bun: [400], aim: "body", build: (b) => b.req({ headers: CHUNKED, body: "2\r\n{\"model\":1}\r\n0\r\n\r\n", framed: true }) },
  { name: "chunk size overflowing 64 bits", bun: [400], aim: "body", build: (b) => b.req({ headers: CHUNKED, body: "ffffffffffffffffff\r\nabc\r\n0\r\n\r\n", framed: true }) },
  { name: "chunked body with trailers", bun: [400], aim: "body", build: (b) => b.req({ headers: CHUNKED, body: `c\r\n${WRONG}\r\n0\r\nX-Trailer: 1\r\n\r\n`, framed: true }) },
  { name: "Content-Length shorter than the body", bun: [400], aim: "body", build: (b) => b.req({ headers: "Content-Length: 12\r\n", body: `${WRONG}garbage\r\n\r\n`, framed: true, close: false }) },
  { name: "a 17 KB header value", bun: [431], aim: "any", build: (b) => b.req({ headers: `X-Fuzz: ${"a".repeat(17_000)}\r\n` }) },
  { name: "a 20 KB Authorization value", bun: [431], aim: "any", build: (b) => b.req({ auth: `Authorization: Bearer ${"A".repeat(20_000)}\r\n` }) },
  { name: "a 20 KB target", bun: [431], aim: "any", build: (b, t) => b.req({ target: `${t.path}/${"a".repeat(20_000)}` }) },
  { name: "300 headers", bun: [431], aim: "any", build: (b) => b.req({ headers: Array.from({ length: 300 }, (_, i) => `X-F${i}: v\r\n`).join("") }) },

  // ---- The client goes away mid-request. ----
  { name: "Content-Length larger than the body, then hang up", bun: [], aim: "body", hangUp: true, build: (b) => b.req({ headers: "Content-Length: 1000\r\n" + JSON_CT, body: "{\"model\":\"gpt-4o\"", framed: true }) },
  { name: "chunked body cut mid-chunk, then hang up", bun: [], aim: "body", hangUp: true, build: (b) => b.req({ headers: CHUNKED + JSON_CT, body: "100\r\n{\"model\"", framed: true }) },
  { name: "header section never finished, then hang up", bun: [], aim: "any", hangUp: true, build: (_, t) => latin1(`${t.method} ${t.path} HTTP/1.1\r\nHost: ${t.host}\r\n${t.auth}X-Fuzz: a\r\nContent-Le`) },
];
