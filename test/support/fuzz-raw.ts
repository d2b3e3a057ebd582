import type { Socket } from "bun";
import { checkAnswer, type Answer } from "./fuzz-check";
import { passAllowed, type FuzzCase } from "./fuzz-cases";

/** A byte string (chars <= 0xFF) as bytes. */
export const latin1 = (s: string) => Buffer.from(s, "latin1");

export type RawResult = { data: Buffer; timedOut: boolean };

/**
 * Writes `bytes` on a fresh TCP connection, honouring backpressure (Bun's socket.write takes what fits
 * and returns the count), and collects everything the server sends until it closes. With `hangUpAfterMs`
 * the client closes its side that long after writing, like a client that goes away mid-request.
 */
export function rawExchange(port: number, bytes: Uint8Array, opts: { hangUpAfterMs?: number; timeoutMs?: number } = {}): Promise<RawResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let offset = 0;
    let done = false;
    let hangUpScheduled = false;
    let socket: Socket | undefined;
    const timers: Timer[] = [];
    const finish = (timedOut: boolean) => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      socket?.end();
      resolve({ data: Buffer.concat(chunks), timedOut });
    };
    const pump = (s: Socket) => {
      while (offset < bytes.length) {
        const n = s.write(bytes, offset, Math.min(bytes.length - offset, 1 << 20));
        if (n <= 0) return; // wait for drain
        offset += n;
      }
      if (opts.hangUpAfterMs !== undefined && !hangUpScheduled) {
        hangUpScheduled = true;
        timers.push(setTimeout(() => s.end(), opts.hangUpAfterMs));
      }
    };
    timers.push(setTimeout(() => finish(true), opts.timeoutMs ?? 10_000));
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: pump,
        drain: pump,
        data: (_s, d) => void chunks.push(Buffer.from(d)),
        end: () => finish(false),
        close: () => finish(false),
        error: () => finish(false),
        connectError: () => finish(false),
      },
    }).then((s) => (socket = s), () => finish(false));
  });
}

export type RawResponse = Answer & { fromApp: boolean };

/** Splits what the server sent into responses (1xx interim answers skipped); a string says what is malformed. */
export function parseResponses(data: Buffer, firstIsHead: boolean): RawResponse[] | string {
  const out: RawResponse[] = [];
  let pos = 0;
  while (pos < data.length) {
    const end = data.indexOf("\r\n\r\n", pos);
    if (end < 0) return `incomplete response head: ${JSON.stringify(data.subarray(pos, pos + 200).toString("latin1"))}`;
    const lines = data.subarray(pos, end).toString("latin1").split("\r\n");
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!);
    if (!m) return `bad status line ${JSON.stringify(lines[0]!.slice(0, 100))}`;
    const status = Number(m[1]);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const i = line.indexOf(":");
      const k = line.slice(0, i).trim().toLowerCase();
      const v = line.slice(i + 1).trim();
      headers.set(k, headers.has(k) ? `${headers.get(k)}, ${v}` : v);
    }
    pos = end + 4;
    if (status < 200) continue;
    let body: Buffer;
    if (firstIsHead && out.length === 0) body = Buffer.alloc(0);
    else if (/chunked/i.test(headers.get("transfer-encoding") ?? "")) {
      const parts: Buffer[] = [];
      for (;;) {
        const eol = data.indexOf("\r\n", pos);
        if (eol < 0) return "truncated chunked response";
        const size = parseInt(data.subarray(pos, eol).toString("latin1"), 16);
        if (!Number.isFinite(size)) return "bad chunk size in response";
        pos = eol + 2;
        if (size === 0) {
          pos = data.indexOf("\r\n\r\n", pos - 2) + 4;
          break;
        }
        parts.push(data.subarray(pos, pos + size));
        pos += size + 2;
      }
      body = Buffer.concat(parts);
    } else if (headers.has("content-length")) {
      const n = Number(headers.get("content-length"));
      body = data.subarray(pos, pos + n);
      if (body.length < n) return `response body shorter than its Content-Length (${body.length} < ${n})`;
      pos += n;
    } else {
      body = data.subarray(pos);
      pos = data.length;
    }
    out.push({ status, header: (n) => headers.get(n.toLowerCase()) ?? null, body: body.toString("utf8"), fromApp: headers.has("x-request-id") });
  }
  return out;
}

/** A generated case as raw bytes (for what fetch would rewrite or refuse). */
export function serializeCase(c: FuzzCase, host: string): Buffer {
  let head = `${c.method} ${c.target} HTTP/1.1\r\nHost: ${host}\r\n`;
  for (const [k, v] of c.headers) head += `${k}: ${v}\r\n`;
  if (c.body) head += c.chunked ? "Transfer-Encoding: chunked\r\n" : `Content-Length: ${c.body.length}\r\n`;
  head += "Connection: close\r\n\r\n";
  const parts: Uint8Array[] = [latin1(head)];
  if (c.body && c.chunked) {
    for (let i = 0; i < c.body.length; i += 65536) {
      const piece = c.body.subarray(i, i + 65536);
      parts.push(latin1(`${piece.length.toString(16)}\r\n`), piece, latin1("\r\n"));
    }
    parts.push(latin1("0\r\n\r\n"));
  } else if (c.body) parts.push(c.body);
  return Buffer.concat(parts);
}

/** What a raw case aims at: the route, and the Authorization line(s) to send. */
export type RawTarget = { method: string; path: string; host: string; auth: string; validAuth: boolean; key: string; bodyLimit: number };

export type ReqOptions = {
  method?: string;
  target?: string;
  version?: string;
  /** null sends no Host header. */
  host?: string | null;
  /** Replaces the target's Authorization line(s); the key then counts as not working unless `validAuth`. */
  auth?: string;
  validAuth?: boolean;
  /** Extra header lines, each ending in \r\n. */
  headers?: string;
  /** Sent after the head; framed with Content-Length unless `framed` says the headers already frame it. */
  body?: string | Uint8Array;
  framed?: boolean;
  /** Send Connection: close (default true). */
  close?: boolean;
};

/** Builds the request(s) of one raw case and remembers whether any of them may be answered with a 2xx. */
export class RawBuilder {
  mayPass = false;
  firstMethod: string | null = null;
  constructor(readonly t: RawTarget) {}

  req(o: ReqOptions = {}): Buffer {
    const method = o.method ?? this.t.method;
    const target = o.target ?? this.t.path;
    const validAuth = o.auth === undefined ? this.t.validAuth : o.validAuth === true;
    this.firstMethod ??= method;
    if (passAllowed(method, target, validAuth)) this.mayPass = true;
    let head = `${method} ${target} ${o.version ?? "HTTP/1.1"}\r\n`;
    if (o.host !== null) head += `Host: ${o.host ?? this.t.host}\r\n`;
    head += (o.auth ?? this.t.auth) + (o.headers ?? "");
    const body = o.body === undefined ? null : typeof o.body === "string" ? latin1(o.body) : o.body;
    if (body && !o.framed) head += `Content-Length: ${body.length}\r\n`;
    if (o.close !== false) head += "Connection: close\r\n";
    return Buffer.concat([latin1(head + "\r\n"), body ?? Buffer.alloc(0)]);
  }
}

/**
 * Outcomes Bun's HTTP parser produces on its own, before the app sees the request: a bare status with no
 * body, no x-request-id and no JSON (so no OpenAI envelope), or a closed connection. See RAW_CASES.
 */
export type BunRefusal = 400 | 413 | 431 | 505 | "close";

/**
 * Judges one raw exchange. Answers carrying an x-request-id come from the app and must pass `checkAnswer`;
 * answers without one are Bun's own and are allowed only when the case lists that status in `bun`. No
 * answer at all is allowed when the case lists "close" or when the client hung up on purpose.
 */
export function judgeRaw(res: RawResult, b: RawBuilder, bun: readonly BunRefusal[], hungUp: boolean): string | null {
  const parsed = parseResponses(res.data, b.firstMethod === "HEAD");
  if (typeof parsed === "string") return parsed;
  if (parsed.length === 0) {
    if (res.timedOut && !hungUp) return "no answer, and the connection was still open after 10 s";
    return bun.includes("close") || hungUp ? null : "connection closed without any answer";
  }
  for (const r of parsed) {
    if (r.fromApp) {
      const problem = checkAnswer(r, b.firstMethod ?? "GET", b.mayPass);
      if (problem) return problem;
    } else if (!bun.includes(r.status as BunRefusal)) {
      return `answer ${r.status} without x-request-id (${JSON.stringify(r.body.slice(0, 100))}): Bun's parser refused a request this case expects the app to answer`;
    }
  }
  return null;
}
