import type { Usage } from "../../translate/usage";
import type { ModelRewriter } from "../model-name";
import type { ClientBody } from "./types";

const utf8 = new TextDecoder();

/**
 * A same-shape answer: the upstream's bytes, with the client's model name put back, and the usage read
 * from its JSON (a JSON content type with a broken body is passed on, metered as nothing).
 */
export function passAnswer(bytes: Uint8Array, contentType: string | null, usageOf: (json: unknown) => Usage | null, rewrite: ModelRewriter | null): ClientBody & { usage: Usage | null } {
  if (!(contentType ?? "").includes("json")) return { bytes, contentType, usage: null };
  let usage: Usage | null = null;
  try {
    usage = usageOf(JSON.parse(utf8.decode(bytes)));
  } catch {
    /* not JSON after all */
  }
  return { bytes: rewrite ? rewrite.bytes(bytes) : bytes, contentType, usage };
}
