/**
 * Bad input (issue 7 §2): thousands of malformed requests against a real relay on a loopback port.
 * Every answer must be a 4xx in the OpenAI error envelope with an x-request-id, never a 5xx; a 2xx only
 * for a read of a read route with a working key. Valid requests keep working during and after, nothing is
 * logged as an unhandled error, and memory stays bounded. No channels are configured, so a request that
 * passes validation still has to end in a 4xx (404 model_not_found), never a 5xx.
 *
 * Knobs: FUZZ_SEED replays a run (printed on failure; a fresh random seed otherwise), FUZZ_COUNT scales
 * it (default 5000 generated cases plus the raw-TCP table, a few seconds), FUZZ_VERBOSE=1 prints a
 * histogram of the answers and the RSS growth.
 *
 * The raw-TCP test is the only place where answers without the envelope are allowed, and only the
 * refusals of Bun's own HTTP parser that test/support/fuzz-raw-cases.ts lists case by case.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { setLogLevel, setLogSink } from "../server/log";
import { bearer, startRelay, userWithKey, type Harness } from "./support/harness";
import { caseRng, fuzzSeed } from "./support/fuzz-rng";
import { genCase, type FuzzCase, type FuzzEnv } from "./support/fuzz-cases";
import { checkAnswer, type Answer } from "./support/fuzz-check";
import { judgeRaw, latin1, parseResponses, rawExchange, RawBuilder, serializeCase, type RawTarget } from "./support/fuzz-raw";
import { RAW_CASES } from "./support/fuzz-raw-cases";

const SEED = fuzzSeed(process.env.FUZZ_SEED);
const COUNT = Math.max(1, Number(process.env.FUZZ_COUNT ?? 5000) | 0);
const CONCURRENCY = 16;
/** Liveness: one valid request per this many fuzz cases, sent alongside them. */
const PROBE_EVERY = 25;
/** Sanity bound on the test process's RSS growth (the relay runs in-process), after a full GC. */
const RSS_GROWTH_LIMIT = 300 * 1024 * 1024;
const replay = `replay with: FUZZ_SEED=${SEED} FUZZ_COUNT=${COUNT} bun test test/fuzz.test.ts`;

/**
 * 500s found in code other people are still building, reported to them instead of fixed here, each told
 * apart by its "unhandled error" log line (matched to the answer by request id, so a different 500 on
 * the same route still fails). The random run tolerates exactly these and prints how often it hit them;
 * the `test.failing` pins at the end reproduce each one, so the day it is fixed its pin fails and asks
 * for the entry and the pin to be deleted.
 */
const KNOWN_ISSUES: { name: string; log: (line: string) => boolean }[] = [
];
const knownHits = new Map<string, number>();

/** Whether this unhandled-error log line is a known issue (and counts the hit). */
function knownLog(line: string): boolean {
  const hit = KNOWN_ISSUES.find((k) => k.log(line));
  if (hit) knownHits.set(hit.name, (knownHits.get(hit.name) ?? 0) + 1);
  return hit !== undefined;
}

/** Whether the 500 answered with this request id is a known issue; its log line was written before the answer. */
function knownAnswer(requestId: string | null): boolean {
  const line = requestId ? unhandled.find((l) => l.includes(`"requestId":"${requestId}"`)) : undefined;
  return line !== undefined && KNOWN_ISSUES.some((k) => k.log(line));
}

let h: Harness;
let env: FuzzEnv;
let probeKey: string;
let rssBefore = 0;
const unhandled: string[] = [];

beforeAll(async () => {
  h = await startRelay();
  // The liveness user is created first and is never the fuzzing user, so nothing the fuzzer does to
  // its own key (or tries on this one's id) can take the liveness checks down.
  const probe = await userWithKey(h, "fuzz-probe");
  const fuzz = await userWithKey(h, "fuzzer");
  probeKey = probe.key;
  env = { key: fuzz.key, keyPrefix: h.ctx.config.RELAY_KEY_PREFIX, ownKeyId: fuzz.keyId, otherKeyId: probe.keyId, bodyLimit: h.ctx.config.RELAY_MAX_BODY_BYTES };
  // A 500 whose answer never reaches the client (it hung up) still logs "unhandled error": catch those too.
  setLogLevel((process.env.RELAY_TEST_LOG as never) ?? "error");
  setLogSink((line) => {
    if (line.includes("\"unhandled error\"")) unhandled.push(line);
    if (process.env.RELAY_TEST_LOG) process.stderr.write(line + "\n");
  });
  Bun.gc(true);
  rssBefore = process.memoryUsage().rss;
});

afterAll(async () => {
  setLogSink((line) => process.stderr.write(line + "\n"));
  setLogLevel((process.env.RELAY_TEST_LOG as never) ?? "silent");
  await h?.close();
});

function report(what: string, failures: string[]): string {
  const shown = failures.slice(0, 25).map((f) => "  - " + f).join("\n");
  return `${failures.length} ${what} (seed ${SEED}, count ${COUNT}):\n${shown}${failures.length > 25 ? `\n  … and ${failures.length - 25} more` : ""}\n${replay}`;
}

async function pool(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) await task(next++);
  }));
}

/** A valid request with the liveness key: must be a 200 with that user. */
async function validRequestProblem(): Promise<string | null> {
  try {
    const res = await fetch(`${h.url}/v1/me`, { headers: bearer(probeKey), signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    if (res.status !== 200) return `valid GET /v1/me got ${res.status}: ${text.slice(0, 200)}`;
    if ((JSON.parse(text) as { user?: { name?: string } }).user?.name !== "fuzz-probe") return `valid GET /v1/me answered for the wrong user: ${text.slice(0, 200)}`;
    return null;
  } catch (e) {
    return `valid GET /v1/me failed: ${String(e)}`;
  }
}

function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.subarray(at, (at += 65536)));
    },
  });
}

/** Answers seen, by "status code" (e.g. "404 model_not_found"): shows how deep the cases got. */
const seen = new Map<string, number>();
function count(status: number, body: string): void {
  const code = /"code":"([^"]+)"/.exec(body)?.[1] ?? "";
  const k = `${status} ${code}`.trim();
  seen.set(k, (seen.get(k) ?? 0) + 1);
}

/** Checks one answer to a generated case; a known issue's 500 is let through (see KNOWN_ISSUES). */
function judge(c: FuzzCase, a: Answer): string | null {
  count(a.status, a.body);
  const problem = checkAnswer(a, c.method, c.mayPass);
  return problem && a.status === 500 && knownAnswer(a.header("x-request-id")) ? null : problem;
}

/** Sends a generated case (fetch, or raw TCP for what fetch would rewrite) and checks the one answer. */
async function sendCase(c: FuzzCase): Promise<string | null> {
  if (c.raw) {
    const res = await rawExchange(h.port, serializeCase(c, `127.0.0.1:${h.port}`));
    const answers = parseResponses(res.data, c.method === "HEAD");
    if (typeof answers === "string") return answers;
    if (answers.length !== 1) return answers.length === 0 ? (res.timedOut ? "no answer within 10 s" : "connection closed without an answer") : `${answers.length} answers to one request`;
    return judge(c, answers[0]!);
  }
  const headers = new Headers();
  for (const [k, v] of c.headers) headers.append(k, v);
  let res: Response;
  try {
    res = await fetch(h.url + c.target, {
      method: c.method,
      headers,
      body: c.body ? (c.chunked ? streamOf(c.body) : (c.body as Uint8Array<ArrayBuffer>)) : undefined,
      redirect: "manual",
      signal: AbortSignal.timeout(15_000),
    });
  } catch (e) {
    return `no answer: ${String(e)}`;
  }
  const body = c.method === "HEAD" ? "" : await res.text();
  return judge(c, { status: res.status, header: (n) => res.headers.get(n), body });
}

const describeCase = (c: FuzzCase) => `#${c.index} ${c.method} ${JSON.stringify(c.target.length > 120 ? c.target.slice(0, 120) + "…" : c.target)} [${c.tags.join(", ")}]${c.body ? ` body ${c.body.length} B` : ""}`;

describe(`fuzz (seed ${SEED}, count ${COUNT})`, () => {
  test("generated malformed requests get a JSON 4xx, never a 5xx; valid requests keep working", async () => {
    const failures: string[] = [];
    await pool(COUNT, CONCURRENCY, async (i) => {
      const c = genCase(caseRng(SEED, i), i, env);
      const [problem, live] = await Promise.all([sendCase(c), i % PROBE_EVERY === 0 ? validRequestProblem() : null]);
      if (problem) failures.push(`${describeCase(c)}: ${problem}`);
      if (live) failures.push(`during case #${i}: ${live}`);
    });
    if (process.env.FUZZ_VERBOSE) console.log([...seen].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n}\t${k}`).join("\n"));
    if (failures.length) throw new Error(report("bad answers to generated cases", failures));
    // The cases must get past authentication into body and model validation, or they test little.
    if (COUNT >= 1000) {
      for (const k of ["401 invalid_api_key", "400 invalid_request", "404 model_not_found", "404 not_found", "200"]) {
        if (!seen.has(k)) throw new Error(`no generated case got "${k}": the fuzzer no longer reaches that layer; ${replay}`);
      }
    }
  }, Math.max(60_000, COUNT * 40));

  test("raw TCP: malformed HTTP gets the JSON envelope, or exactly one of Bun's documented parser refusals", async () => {
    const rounds = Math.max(2, Math.ceil(COUNT / 1000));
    const routes: [string, string][] = [
      ["GET", "/v1/me"], ["GET", "/v1/models"], ["GET", "/v1/models/gpt-4o"], ["GET", "/v1/usage"], ["GET", "/v1/keys"], ["GET", "/v1/nope"], ["GET", "/admin"],
      ["POST", "/v1/chat/completions"], ["POST", "/v1/completions"], ["POST", "/v1/embeddings"], ["POST", "/v1/keys"], ["PATCH", "/v1/keys/abc"],
      ["POST", "/v1/auth/login"], ["POST", "/v1/audio/transcriptions"],
    ];
    const bodyRoutes = routes.filter(([m]) => m !== "GET");
    const jobs = RAW_CASES.flatMap((c, ci) => Array.from({ length: rounds }, (_, round) => ({ c, ci, round })));
    const failures: string[] = [];
    await pool(jobs.length, 8, async (j) => {
      const { c, ci, round } = jobs[j]!;
      const r = caseRng(SEED ^ 0x5bd1e995, ci * 1000 + round);
      const [method, path] = r.pick(c.aim === "body" ? bodyRoutes : routes);
      const validAuth = r.chance(0.6);
      const auth = validAuth ? `Authorization: Bearer ${env.key}\r\n` : r.pick(["", "Authorization: Bearer sk-app-bogus\r\n", "Authorization: Basic eA==\r\n"]);
      const t: RawTarget = { method, path, host: `127.0.0.1:${h.port}`, auth, validAuth, key: env.key, bodyLimit: env.bodyLimit };
      const b = new RawBuilder(t);
      const bytes = c.build(b, t, (xs) => r.pick(xs));
      const res = await rawExchange(h.port, bytes, c.hangUp ? { hangUpAfterMs: 50, timeoutMs: 3000 } : {});
      const problem = judgeRaw(res, b, c.bun, c.hangUp === true);
      if (problem) failures.push(`raw "${c.name}" (round ${round}, ${method} ${path}, ${validAuth ? "working key" : JSON.stringify(auth.trim())}): ${problem}`);
    });
    if (failures.length) throw new Error(report("bad answers to raw-TCP cases", failures));
  }, 60_000);

  test("afterwards: valid requests are served, nothing was logged as an unhandled error, memory is bounded", async () => {
    for (let i = 0; i < 20; i++) expect(await validRequestProblem()).toBeNull();
    const unknown = unhandled.filter((l) => !knownLog(l));
    for (const [name, n] of knownHits) console.warn(`fuzz: known issue hit ${n}× (not failed): ${name}`);
    if (unknown.length) throw new Error(report("unhandled errors logged while fuzzing", unknown.map((l) => l.slice(0, 400))));
    Bun.gc(true);
    const growth = process.memoryUsage().rss - rssBefore;
    if (process.env.FUZZ_VERBOSE) console.log(`RSS ${(rssBefore / 1048576).toFixed(0)} MB before, grew ${(growth / 1048576).toFixed(0)} MB`);
    if (growth > RSS_GROWTH_LIMIT) throw new Error(`RSS grew by ${(growth / 1048576).toFixed(0)} MB during fuzzing (limit ${RSS_GROWTH_LIMIT / 1048576} MB); ${replay}`);
  });
});

describe("regressions found by fuzzing", () => {
  test("GET /v1/keys/%zz/ with a working key is a JSON 4xx", async () => {
    const res = await rawExchange(h.port, latin1(`GET /v1/keys/%zz/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${env.key}\r\nConnection: close\r\n\r\n`));
    const answers = parseResponses(res.data, false);
    expect(typeof answers === "string" ? answers : checkAnswer(answers[0]!, "GET", false)).toBeNull();
  });
});
