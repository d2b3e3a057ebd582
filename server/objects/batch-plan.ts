import { endpointKind, producesOutput } from "../relay/endpoint";
import { promptBound } from "../relay/tokens";

/** The endpoints a batch line may call (OpenAI's Batch API), and what their usage looks like. */
export const BATCH_ENDPOINTS = ["/v1/responses", "/v1/chat/completions", "/v1/embeddings", "/v1/completions"] as const;

/** What a model's lines in one batch file may use at most: their prompt bounds and output caps. */
export type ModelBounds = { lines: number; promptTokens: number; outputTokens: number; uncapped: number };

/**
 * A batch input file as relay read it at upload: per endpoint and model, the bounds of its lines, and the
 * first problems found (a batch from a file with problems is refused with them). Computed once, when the
 * bytes pass through relay, so creating the batch later needs no upstream call to hold it.
 */
export type BatchPlan = { lines: number; urls: string[]; models: Record<string, ModelBounds>; problems: string[] };

const MAX_PROBLEMS = 5;
const utf8 = new TextDecoder();

function outputCapOf(body: Record<string, unknown>, url: string): number | null {
  const fields = url === "/v1/chat/completions" ? ["max_completion_tokens", "max_tokens"] : ["max_output_tokens", "max_tokens"];
  for (const f of fields) {
    const v = body[f];
    if (typeof v === "number" && Number.isSafeInteger(v) && v > 0) return v;
  }
  return null;
}

/** How many answers a line generates (`n`, `best_of`): each may use the whole output cap. */
function choicesOf(body: Record<string, unknown>, url: string): number {
  const n = (v: unknown) => (typeof v === "number" && Number.isSafeInteger(v) && v > 0 ? v : 1);
  if (url === "/v1/chat/completions") return n(body.n);
  if (url === "/v1/completions") return Math.max(n(body.n), n(body.best_of));
  return 1;
}

/** Lines read between yields to the event loop: a 10 MB file takes about half a second to bound. */
const LINES_PER_TURN = 500;

/**
 * Reads a JSONL batch input file: one `{custom_id, method, url, body}` per line. Yields to the event loop
 * every few hundred lines, so bounding a large file does not stall the requests running beside it.
 */
export async function planOfBatchFile(bytes: Uint8Array): Promise<BatchPlan> {
  const plan: BatchPlan = { lines: 0, urls: [], models: {}, problems: [] };
  const problem = (line: number, what: string) => {
    if (plan.problems.length < MAX_PROBLEMS) plan.problems.push(`line ${line}: ${what}`);
  };
  const ids = new Set<string>();
  const text = utf8.decode(bytes);
  let at = 0;
  let lineNo = 0;
  while (at < text.length) {
    let end = text.indexOf("\n", at);
    if (end < 0) end = text.length;
    const raw = text.slice(at, end).trim();
    at = end + 1;
    lineNo++;
    if (lineNo % LINES_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
    if (raw === "") continue;
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(raw);
    } catch {
      problem(lineNo, "not valid JSON");
      continue;
    }
    if (!line || typeof line !== "object" || Array.isArray(line)) {
      problem(lineNo, "not a JSON object");
      continue;
    }
    plan.lines++;
    if (typeof line.custom_id !== "string" || line.custom_id === "") problem(lineNo, "'custom_id' must be a non-empty string");
    else if (ids.has(line.custom_id)) problem(lineNo, `'custom_id' ${JSON.stringify(line.custom_id.slice(0, 64))} is used twice`);
    else ids.add(line.custom_id);
    const url = line.url;
    if (typeof url !== "string" || !(BATCH_ENDPOINTS as readonly string[]).includes(url)) {
      problem(lineNo, `'url' must be one of ${BATCH_ENDPOINTS.join(", ")}`);
      continue;
    }
    if (!plan.urls.includes(url)) plan.urls.push(url);
    const body = line.body;
    if (!body || typeof body !== "object" || Array.isArray(body)) {
      problem(lineNo, "'body' must be a JSON object");
      continue;
    }
    const b = body as Record<string, unknown>;
    if (typeof b.model !== "string" || b.model === "" || b.model.length > 256) {
      problem(lineNo, "'body.model' must name a model");
      continue;
    }
    const m = (plan.models[b.model] ??= { lines: 0, promptTokens: 0, outputTokens: 0, uncapped: 0 });
    m.lines++;
    m.promptTokens += promptBound(b, Buffer.byteLength(raw));
    if (producesOutput(endpointKind(url))) {
      const cap = outputCapOf(b, url);
      if (cap === null) m.uncapped++;
      else m.outputTokens += cap * choicesOf(b, url);
    }
  }
  if (plan.lines === 0 && plan.problems.length === 0) plan.problems.push("the file has no requests");
  return plan;
}

/** A plan as stored (JSON), or null if it is not one. */
export function storedPlan(v: unknown): BatchPlan | null {
  const p = v as BatchPlan | null;
  return p && typeof p === "object" && typeof p.lines === "number" && p.models && Array.isArray(p.problems) ? p : null;
}
