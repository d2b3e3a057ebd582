/**
 * A stateful OpenAI-shaped upstream for relay's object routes: it keeps its own stored responses and files,
 * as an upstream account does, and answers 404 for any id it did not create. Every request it receives is
 * recorded (method and path), so a test can tell which upstream a follow-up reached.
 */
export type ObjectsMock = {
  name: string; url: string; hits: { method: string; path: string }[]; has(id: string): boolean; stop(): Promise<void>;
  /** Ends a background response upstream: its status and usage from now on. */
  finish(id: string, status: string, usage: { input_tokens: number; output_tokens: number } | null): void;
  /**
   * Ends a batch: its first `answered` lines (default all) get an answer with `usage` each in the output
   * file (the model named with `modelSuffix` appended, as upstreams date their model names), the next
   * `failed` lines an error in the error file; the rest never ran.
   */
  finishBatch(id: string, status: string, o?: { answered?: number; failed?: number; usage?: { prompt_tokens: number; completion_tokens: number }; modelSuffix?: string }): void;
  batch(id: string): Record<string, unknown> | undefined;
  /** Every response and batch this upstream has accepted (also those whose answer never reached a client). */
  responseIds(): string[];
  batchIds(): string[];
};

export function startObjectsMock(name: string): ObjectsMock {
  const responses = new Map<string, Record<string, unknown>>();
  const files = new Map<string, { meta: Record<string, unknown>; content: Uint8Array }>();
  const batches = new Map<string, Record<string, unknown>>();
  const addFile = (id: string, purpose: string, text: string) => {
    const content = new TextEncoder().encode(text);
    files.set(id, { meta: { id, object: "file", bytes: content.byteLength, created_at: Math.floor(Date.now() / 1000), filename: `${id}.jsonl`, purpose, status: "processed" }, content });
  };
  const hits: { method: string; path: string }[] = [];
  let n = 0;
  const json = (v: unknown, status = 200) => Response.json(v, { status });
  const missing = (id: string) => json({ error: { message: `No such object: ${id}`, type: "invalid_request_error", code: null } }, 404);
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      const path = url.pathname;
      hits.push({ method: req.method, path });
      const id = `${name}${++n}${Math.random().toString(36).slice(2, 8)}`;
      if (path === "/v1/responses" && req.method === "POST") {
        const body = await req.json() as Record<string, unknown>;
        if (typeof body.previous_response_id === "string" && !responses.has(body.previous_response_id)) return missing(body.previous_response_id);
        const r = {
          id: `resp_${id}`, object: "response", created_at: Math.floor(Date.now() / 1000), status: "completed", model: body.model,
          output: [{ type: "message", id: `msg_${id}`, status: "completed", role: "assistant", content: [{ type: "output_text", text: `hello from ${name}`, annotations: [] }] }],
          previous_response_id: body.previous_response_id ?? null, usage: { input_tokens: 5, output_tokens: 3, total_tokens: 8 },
        };
        if (body.background === true) Object.assign(r, { status: "queued", output: [], usage: null });
        if (body.store !== false) responses.set(r.id, r);
        if (body.stream === true) {
          const ev = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
          const events = [
            ev("response.created", { response: { ...r, status: "in_progress", output: [], usage: null }, sequence_number: 0 }),
            ev("response.output_text.delta", { item_id: `msg_${id}`, output_index: 0, content_index: 0, delta: `hello from ${name}`, sequence_number: 1 }),
            ev("response.completed", { response: r, sequence_number: 2 }),
          ];
          return new Response(events.join(""), { headers: { "content-type": "text/event-stream" } });
        }
        return json(r);
      }
      const resp = /^\/v1\/responses\/([^/]+)(?:\/(input_items|cancel))?$/.exec(path);
      if (resp) {
        const r = responses.get(resp[1]!);
        if (!r) return missing(resp[1]!);
        if (resp[2] === "input_items") return json({ object: "list", data: [], first_id: null, last_id: null, has_more: false });
        if (resp[2] === "cancel") return json({ ...r, status: "cancelled" });
        if (req.method === "DELETE") {
          responses.delete(r.id as string);
          return json({ id: r.id, object: "response", deleted: true });
        }
        return json(r);
      }
      if (path === "/v1/files" && req.method === "POST") {
        const form = await req.formData();
        const file = form.get("file") as File;
        const meta = { id: `file-${id}`, object: "file", bytes: file.size, created_at: Math.floor(Date.now() / 1000), filename: file.name, purpose: form.get("purpose"), status: "processed" };
        files.set(meta.id, { meta, content: new Uint8Array(await file.arrayBuffer()) });
        return json(meta);
      }
      const f = /^\/v1\/files\/([^/]+)(\/content)?$/.exec(path);
      if (f) {
        const file = files.get(f[1]!);
        if (!file) return missing(f[1]!);
        if (f[2]) return new Response(file.content as Uint8Array<ArrayBuffer>, { headers: { "content-type": "application/octet-stream" } });
        if (req.method === "DELETE") {
          files.delete(f[1]!);
          return json({ id: f[1], object: "file", deleted: true });
        }
        return json(file.meta);
      }
      if (path === "/v1/batches" && req.method === "POST") {
        const body = await req.json() as Record<string, unknown>;
        if (!files.has(body.input_file_id as string)) return json({ error: { message: `No file ${body.input_file_id}`, type: "invalid_request_error", code: null } }, 400);
        const total = new TextDecoder().decode(files.get(body.input_file_id as string)!.content).split("\n").filter((l) => l.trim()).length;
        const b = {
          id: `batch_${id}`, object: "batch", endpoint: body.endpoint, input_file_id: body.input_file_id, completion_window: body.completion_window,
          status: "in_progress", output_file_id: null, error_file_id: null, created_at: Math.floor(Date.now() / 1000), metadata: body.metadata ?? null,
          request_counts: { total, completed: 0, failed: 0 },
        };
        batches.set(b.id, b);
        return json(b);
      }
      const bt = /^\/v1\/batches\/([^/]+)(\/cancel)?$/.exec(path);
      if (bt) {
        const b = batches.get(bt[1]!);
        if (!b) return missing(bt[1]!);
        if (bt[2] && req.method === "POST") b.status = "cancelling";
        return json(b);
      }
      return json({ error: { message: `mock ${name}: no route ${req.method} ${path}` } }, 404);
    },
  });
  return {
    name, url: `http://127.0.0.1:${server.port}`, hits,
    has: (id) => responses.has(id) || files.has(id) || batches.has(id),
    finish: (id, status, usage) => void Object.assign(responses.get(id)!, { status, usage: usage && { ...usage, total_tokens: usage.input_tokens + usage.output_tokens } }),
    batch: (id) => batches.get(id),
    responseIds: () => [...responses.keys()],
    batchIds: () => [...batches.keys()],
    finishBatch: (id, status, o = {}) => {
      const b = batches.get(id)!;
      const lines = new TextDecoder().decode(files.get(b.input_file_id as string)!.content).split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
      const answered = o.answered ?? lines.length;
      const failed = o.failed ?? 0;
      const usage = o.usage ?? { prompt_tokens: 10, completion_tokens: 5 };
      const out = lines.slice(0, answered).map((l, i) => JSON.stringify({
        id: `batch_req_${i}`, custom_id: l.custom_id,
        response: { status_code: 200, request_id: `req_${i}`, body: { id: `chatcmpl-${i}`, object: "chat.completion", model: `${l.body.model}${o.modelSuffix ?? ""}`, usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } } },
        error: null,
      }));
      const errs = lines.slice(answered, answered + failed).map((l, i) => JSON.stringify({
        id: `batch_req_e${i}`, custom_id: l.custom_id, response: { status_code: 400, request_id: `req_e${i}`, body: { error: { message: "bad line", type: "invalid_request_error" } } }, error: null,
      }));
      if (out.length) addFile(`file-out-${id}`, "batch_output", out.join("\n") + "\n");
      if (errs.length) addFile(`file-err-${id}`, "batch_error", errs.join("\n") + "\n");
      Object.assign(b, { status, output_file_id: out.length ? `file-out-${id}` : null, error_file_id: errs.length ? `file-err-${id}` : null, request_counts: { total: lines.length, completed: out.length, failed: errs.length } });
    },
    stop: () => server.stop(true),
  };
}
