/**
 * The kinds of object an upstream keeps for a client, and where their routes live. Adding a kind (vector
 * stores, videos) is one entry here: its family's follow-ups then go to the channel that created the object,
 * behind the owner check, and its creations are recorded.
 */
export type ObjectKind = {
  kind: string;
  /** The path segment under /v1. */
  family: string;
  /** Whether relay answers GET /v1/{family} itself, from its records (the upstream's list mixes every relay user's). */
  listed: boolean;
  /** Whether creating one names a model (and so is relayed, metered, as any model call). */
  createdWithModel: boolean;
  /** The statuses it ends in (OpenAI's); an object in one is settled, and announced as `{kind}.{status}`. */
  terminal: readonly string[];
  /** Which poll interval follows it while it runs: responses every RELAY_POLL_INTERVAL_MS, batches less often. */
  poll: "responses" | "batches" | null;
};

export const OBJECT_KINDS: readonly ObjectKind[] = [
  { kind: "response", family: "responses", listed: false, createdWithModel: true, terminal: ["completed", "incomplete", "failed", "cancelled"], poll: "responses" },
  { kind: "file", family: "files", listed: true, createdWithModel: false, terminal: [], poll: null },
  { kind: "batch", family: "batches", listed: true, createdWithModel: false, terminal: ["completed", "failed", "expired", "cancelled"], poll: "batches" },
];

/**
 * The statuses of work still running upstream (a background response, a batch): the poller follows an
 * object in one of these until it ends, prepaid or not (its end is announced either way).
 */
export const RUNNING_STATUSES = ["queued", "in_progress", "validating", "finalizing", "cancelling"] as const;

export function kindOf(kind: string): ObjectKind | undefined {
  return OBJECT_KINDS.find((k) => k.kind === kind);
}

export type ObjectOperation =
  /** POST /v1/{family} of a kind created without a model (a file upload, a batch). */
  | { type: "create"; k: ObjectKind }
  /** GET /v1/{family} of a listed kind. */
  | { type: "list"; k: ObjectKind }
  /** Anything on /v1/{family}/{id}[/…]: retrieve, delete, content, input_items, cancel. */
  | { type: "follow-up"; k: ObjectKind; id: string; rest: string };

/** The object operation a request is, or null (POST /v1/responses is a model call, handled by the relay). */
export function objectOperation(method: string, path: string): ObjectOperation | null {
  for (const k of OBJECT_KINDS) {
    const base = `/v1/${k.family}`;
    if (path === base) {
      if (method === "POST" && !k.createdWithModel) return { type: "create", k };
      if (method === "GET" && k.listed) return { type: "list", k };
      return null;
    }
    if (path.startsWith(`${base}/`)) {
      const [id, ...rest] = path.slice(base.length + 1).split("/");
      if (!id) return null;
      return { type: "follow-up", k, id: decodeURIComponent(id), rest: rest.join("/") };
    }
  }
  return null;
}
