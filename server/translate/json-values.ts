/** Guards for reading client and upstream JSON, which is untrusted: any field may be missing or of the wrong type. */

export type Json = Record<string, unknown>;

export function isRecord(v: unknown): v is Json {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** The array, or an empty one for anything else, so loops need no guard. */
export function arrayOf(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** The records of an array, skipping anything else. */
export function recordsOf(v: unknown): Json[] {
  return arrayOf(v).filter(isRecord);
}

/** Tool-call arguments as an object; a model that streamed broken or non-object JSON gets `{}` rather than a failed request. */
export function parseArguments(args: unknown): Json {
  if (typeof args !== "string") return isRecord(args) ? args : {};
  try {
    const v: unknown = JSON.parse(args);
    return isRecord(v) ? v : {};
  } catch {
    return {};
  }
}
