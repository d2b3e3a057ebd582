import type { ErrorCode } from "../errors";
import type { Hold } from "../limits/admission";

/** A relayed request between admission and accounting, as revocation sees it. */
export type RunningRequest = {
  requestId: string;
  /** The account charged. */
  accountId: number;
  /** The user behind it (null for a service key). */
  userId: number | null;
  /** Null for a session's request. */
  keyId: number | null;
  /** The key's digest, to look it up again (null for a session). */
  digest: string | null;
  ip: string;
  model: string;
  startedAt: number;
  hold: Hold;
  /**
   * Ends the request now: a stream gets an error event with `code` and is charged for what it delivered;
   * a request still waiting for its upstream answers with that error. Idempotent.
   */
  cut: (code: ErrorCode, message: string) => void;
};

/**
 * Every request in flight, so a revocation (a key disabled or deleted, a user disabled, a limit lowered)
 * can reach the requests already running, not only the next ones. One Map insert and delete per request.
 */
export class RunningRequests {
  private readonly byId = new Map<string, RunningRequest>();

  add(r: RunningRequest): void {
    this.byId.set(r.requestId, r);
  }

  delete(requestId: string): void {
    this.byId.delete(requestId);
  }

  get size(): number {
    return this.byId.size;
  }

  /** A snapshot, oldest first (Map keeps insertion order), safe to iterate while requests end. */
  all(): RunningRequest[] {
    return [...this.byId.values()];
  }
}
