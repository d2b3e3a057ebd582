import type {
  AccountRow, ApiKeyRow, AuditRow, ChannelRow, LedgerRow, MembershipRow, ObjectRow, PriceRow, UsageRow, UserRow,
  WebhookAttemptRow, WebhookDeliveryRow, WebhookRow,
} from "../../db/schema";
import type { Actor } from "../audit/audit";

/*
 * The repositories: every durable read and write of the services goes through one of these, by area. Each
 * write is one atomic operation (its own transaction), and takes the audit entry that describes it, written
 * in the same transaction. The methods are async: the embedded implementation (sqlite/) answers at once,
 * a PostgreSQL one waits for the server. The hot path never calls them: it reads the in-memory caches
 * (key cache, channel registry, price book, live accounts), which these writes invalidate.
 *
 * Validation, permissions and messages stay in the services; the stores enforce only what must hold
 * under concurrency (unique names, the last owner, an org's balance before it is deleted).
 */

export type AuditEntry = { actor: Actor; action: string; target: string; detail?: Record<string, unknown> };
/** An audit entry, or one made from the row written (a new row's id is known only once inserted). */
export type AuditOf<T> = AuditEntry | ((row: T) => AuditEntry);

export interface AuditStore {
  record(e: AuditEntry): Promise<void>;
  list(opts: { limit?: number; before?: number }): Promise<AuditRow[]>;
}

export type NewAccount = Omit<typeof import("../../db/schema").accounts.$inferInsert, "id" | "credits" | "createdAt">;
export type AccountFields = Partial<Omit<AccountRow, "id" | "credits" | "kind" | "createdAt">>;
export type MemberFields = Partial<Pick<MembershipRow, "role" | "monthlySpend" | "concurrency" | "rpm" | "tpm">>;
export type Member = MembershipRow & { name: string };

export interface AccountStore {
  get(id: number): Promise<AccountRow | undefined>;
  find(kind: AccountRow["kind"], name: string): Promise<AccountRow | undefined>;
  list(kind: AccountRow["kind"]): Promise<AccountRow[]>;
  /** Limits and settings; never the balance, which only the ledger moves. */
  update(id: number, fields: AccountFields, audit: AuditEntry): Promise<AccountRow>;
  /** An org with a zero balance, and its first owner. Refuses a taken name with `NameTaken`. */
  createOrg(fields: NewAccount, ownerId: number | null, audit: AuditEntry): Promise<AccountRow>;
  /** Deletes an org with its memberships and keys, unless it holds credits (`HoldsCredits`). */
  deleteOrg(id: number, audit: AuditEntry): Promise<void>;
  membership(orgId: number, userId: number): Promise<MembershipRow | undefined>;
  /** With the members' user names, in the order they joined. */
  members(orgId: number): Promise<Member[]>;
  membershipsOf(userId: number): Promise<{ org: AccountRow; membership: MembershipRow }[]>;
  /** Refuses an existing member with `AlreadyMember`. */
  addMember(row: Omit<MembershipRow, "createdAt">, audit: AuditEntry): Promise<MembershipRow>;
  /** Refuses to demote the last owner (`LastOwner`); undefined when there is no such member. */
  updateMember(orgId: number, userId: number, fields: MemberFields, audit: AuditEntry): Promise<MembershipRow | undefined>;
  /** Refuses to remove the last owner (`LastOwner`); false when there is no such member. */
  removeMember(orgId: number, userId: number, audit: AuditEntry): Promise<boolean>;
  keyCount(orgId: number): Promise<number>;
}

export type UserFields = Partial<Pick<UserRow, "role" | "enabled" | "passwordHash">>;

export interface UserStore {
  byName(name: string): Promise<UserRow | undefined>;
  byId(id: number): Promise<UserRow | undefined>;
  list(): Promise<UserRow[]>;
  /** The user and their personal account. Refuses a taken name with `NameTaken`. */
  create(user: Pick<UserRow, "name" | "role" | "enabled">, account: Omit<NewAccount, "kind" | "name">, audit: AuditEntry): Promise<UserRow>;
  update(id: number, user: UserFields, account: AccountFields, audit: AuditEntry): Promise<UserRow>;
}

export type NewKey = Omit<typeof import("../../db/schema").apiKeys.$inferInsert, "id" | "ciphertext" | "createdAt" | "spent" | "lastUsedAt">;
export type KeyFields = Partial<Pick<ApiKeyRow, "label" | "enabled" | "group" | "allowIps" | "expiresAt" | "models" | "spendLimit" | "rpm" | "tpm" | "scopes">>;
/** Everything authentication needs about a key, read together. */
export type Credential = { key: ApiKeyRow; account: AccountRow; user: UserRow | null; membership: MembershipRow | null };
/** A rotation's result: the successor as inserted, and the old key with its new expiry. */
export type Rotation = { key: ApiKeyRow; old: ApiKeyRow };

export interface KeyStore {
  /**
   * Inserts a key; `seal(id)` gives its ciphertext (the AAD names the row id, known only once inserted), or
   * null for a write-once key. A digest already in use is refused with `DuplicateKey`.
   */
  create(values: NewKey, seal: (id: number) => string | null, audit: AuditOf<ApiKeyRow>): Promise<ApiKeyRow>;
  get(id: number, accountId?: number): Promise<ApiKeyRow | undefined>;
  /** An account's keys, or only one user's there; every key when both are absent. */
  list(filter: { accountId?: number; userId?: number }): Promise<ApiKeyRow[]>;
  update(id: number, fields: KeyFields, audit: AuditEntry): Promise<void>;
  delete(ids: number[], audit: AuditEntry): Promise<void>;
  /**
   * A rotation, in one transaction with its audit row: inserts the successor (as `create`) and moves the
   * old key's expiry to `until`, or keeps its own where that is sooner. Undefined, with nothing written,
   * when the old key is gone. A digest in use is `DuplicateKey`.
   */
  rotate(oldId: number, values: NewKey, seal: (id: number) => string | null, until: number, audit: AuditOf<Rotation>): Promise<Rotation | undefined>;
  credential(digest: string): Promise<Credential | undefined>;
}

export type NewChannel = Omit<typeof import("../../db/schema").channels.$inferInsert, "id" | "apiKeyCiphertext" | "createdAt">;
export type ChannelFields = Partial<Omit<ChannelRow, "id" | "createdAt">>;

export interface ChannelStore {
  list(): Promise<ChannelRow[]>;
  get(id: number): Promise<ChannelRow | undefined>;
  /** Refuses a taken name with `NameTaken`; `seal(id)` encrypts the upstream key for the new row. */
  create(values: NewChannel, seal: (id: number) => string, audit: AuditOf<ChannelRow>): Promise<ChannelRow>;
  update(id: number, fields: ChannelFields, audit: AuditEntry): Promise<void>;
  delete(id: number, audit: AuditEntry): Promise<void>;
}

export type PriceFields = Omit<PriceRow, "model" | "updatedAt">;

export interface PriceStore {
  list(): Promise<PriceRow[]>;
  set(model: string, price: PriceFields, audit: AuditEntry): Promise<PriceRow>;
  /** False when the model had no price. */
  delete(model: string, audit: AuditEntry): Promise<boolean>;
}

export type LedgerEntry = {
  accountId: number; userId?: number | null; kind: LedgerRow["kind"]; amount: number; ref: string; keyId?: number | null; actor?: string; note?: string;
};

export interface LedgerStore {
  /**
   * Appends one row and moves the balance, idempotent by `ref` (a repeated ref returns the first row,
   * `applied: false`). Refuses to take a balance below zero with `Overdraft`; an unknown account with `NoAccount`.
   * The audit entry, when given, is written only if the row is.
   */
  apply(e: LedgerEntry, audit?: AuditEntry): Promise<{ row: LedgerRow; applied: boolean }>;
  list(accountId: number, limit: number): Promise<LedgerRow[]>;
}

/** Which usage rows: any combination; `before` pages by row id (newest first). */
export type UsageFilter = { userId?: number; accountId?: number; keyId?: number; from?: number; to?: number; before?: number };
export type DayTotal = { day: string; requests: number; promptTokens: number; completionTokens: number; cachedTokens: number; cacheWriteTokens: number; cost: number };

/** Reads of the usage log (the settlement writer is what writes it). Readers flush the writer first to see their latest. */
export interface UsageStore {
  /** Newest first (by `at`, then id). */
  list(f: UsageFilter, limit: number): Promise<UsageRow[]>;
  /** Per UTC day (`YYYY-MM-DD`), oldest first. */
  daily(f: UsageFilter): Promise<DayTotal[]>;
  /** Requests and tokens per hour (`h` = hours since the epoch) of one key in [from, to). */
  hourly(keyId: number, from: number, to: number): Promise<{ h: number; requests: number; tokens: number }[]>;
}

export interface SettingsStore {
  get(key: string): Promise<string | undefined>;
  /** Writes the value unless the key exists; returns the value stored either way. */
  putIfAbsent(key: string, value: string): Promise<string>;
}

/** Re-encrypts every stored secret (keys, channels, settings) in one transaction: master-key rotation. */
export interface SecretStore {
  reencryptAll(reseal: (ciphertext: string, aad: string) => string, settingAads: Record<string, string>, keyringId: string, audit: (count: number) => AuditEntry): Promise<number>;
}

/** An object an upstream created for a client, as it is recorded. */
export type NewObject = {
  kind: string; upstreamId: string; channelId: number; accountId: number; keyId: number | null; status: string | null; meta: Record<string, unknown> | null;
  /** Credits charged at submit, settled when the object ends (background responses). @default 0 */
  prepaid?: number;
  model?: string | null;
  /** The request that prepaid it. */
  requestId?: string | null;
  /** Relay's own notes (a batch input file's bounds, a batch's prices), never shown to clients. */
  plan?: Record<string, unknown> | null;
};

/**
 * How an ended object is settled: what it used (credits, and tokens for the month's quota); the rest of what
 * it prepaid is refunded under `ref`, to the account and to the spend of the key and member that paid it.
 */
export type Settling = { status: string; used: number; tokens: number; ref: string; note: string };

/** What settling an object did: whether this call settled it, the refund, and whose spend it gave back. */
export type ObjectSettled = { settled: boolean; refund: number; keyId: number | null; memberUserId: number | null };

/**
 * Upstream objects (server/objects/): who owns each and which channel holds it. No audit rows: these are
 * the clients' own records, written by their requests, not admin writes.
 */
export interface ObjectStore {
  /** Records an object; recording the same (kind, upstream id, channel) again updates its status and meta. */
  record(o: NewObject): Promise<ObjectRow>;
  /** The account's object of this kind with this upstream id (any channel), or undefined. */
  find(kind: string, upstreamId: string, accountId: number): Promise<ObjectRow | undefined>;
  /** The account's objects of a kind, newest first, after the object with id `before` when given. */
  list(kind: string, accountId: number, opts: { limit: number; before?: number }): Promise<ObjectRow[]>;
  update(id: number, fields: { status?: string | null; meta?: Record<string, unknown> | null }): Promise<void>;
  /** The objects these requests prepaid (a background response, a batch), to show next to their usage rows. */
  prepaidBy(requestIds: string[]): Promise<{ requestId: string; kind: string; upstreamId: string }[]>;
  /** Objects still followed, oldest first: prepaid and not settled, or running upstream (what the poller follows). */
  remove(id: number): Promise<void>;
  unsettled(limit: number): Promise<ObjectRow[]>;
  /**
   * Settles an ended object exactly once: marks it settled with its final status and, in the same
   * transaction, refunds to its account what it prepaid and did not use, never more than the prepaying
   * request's committed charge (a kill -9 can leave that request interrupted, charged nothing). `pending`
   * while that request is not yet in the usage log; `settled: false` if someone settled it first.
   */
  settle(id: number, s: Settling): Promise<ObjectSettled | "pending">;
}

export type NewWebhook = { accountId: number; url: string; events: string[]; creditsBelow: number | null };

/**
 * Webhook endpoints (server/webhooks/). `seal(id)` encrypts a secret for the row (its AAD names the id,
 * known only once inserted). `accountId`, where taken, scopes the lookup: another account's id is as
 * unknown as a missing one.
 */
export interface WebhookStore {
  create(values: NewWebhook, seal: (id: number) => string, audit: AuditOf<WebhookRow>): Promise<WebhookRow>;
  get(id: number, accountId?: number): Promise<WebhookRow | undefined>;
  /** An account's endpoints, or every endpoint; oldest first. */
  list(accountId?: number): Promise<WebhookRow[]>;
  /** The account's enabled endpoints (emitEvent's one read: cheap when there are none). */
  enabledOf(accountId: number): Promise<WebhookRow[]>;
  /** Deletes the endpoint with its deliveries and their attempts; false, with nothing written, when there is none. */
  delete(id: number, accountId: number | undefined, audit: AuditEntry): Promise<boolean>;
  /**
   * A new current secret (`seal`); the current one becomes the previous, still signing until `previousUntil`.
   * Undefined, with nothing written, when there is no such endpoint.
   */
  rotate(id: number, accountId: number | undefined, seal: (id: number) => string, previousUntil: number, audit: AuditOf<WebhookRow>): Promise<WebhookRow | undefined>;
  /** Enabled endpoints with a credits_below threshold (what the credits.low check reads). */
  watchingCredits(): Promise<WebhookRow[]>;
  /**
   * The credits.low latch: clears it and queues `delivery` in one transaction, only if it was armed.
   * False if it was not (another instance fired first, or it already fired for this fall).
   */
  fireCreditsLow(webhookId: number, delivery: NewDelivery): Promise<boolean>;
  /** Arms the latch again (the balance is back at the threshold); false if it already was. */
  rearmCreditsLow(webhookId: number): Promise<boolean>;
  /** After an attempt: a success clears `failingSince`, a failure sets it to `since` if unset. Returns it as it now is. */
  noteAttempt(webhookId: number, ok: boolean, since: number): Promise<number | null>;
  /** Stops deliveries to an endpoint (what failed for too long); its pending deliveries fail with it. */
  disable(webhookId: number, reason: string, audit: AuditEntry): Promise<void>;
}

export type NewDelivery = { eventId: string; webhookId: number; type: string; objectId: string; payload: string; nextAttemptAt: number };
export type NewAttempt = { at: number; status: number | null; error: string | null; durationMs: number };
/** Where a delivery goes after an attempt: delivered, failed for good, or pending until `nextAttemptAt`. */
export type DeliveryOutcome = { status: WebhookDeliveryRow["status"]; nextAttemptAt: number };
/** A delivery as listed, with its endpoint's URL and account. */
export type DeliveryView = WebhookDeliveryRow & { url: string; accountId: number };

/** The delivery queue and its attempt log. No audit rows: these are relay's own sends, not admin writes. */
export interface DeliveryStore {
  /** Queues each delivery unless its (webhook, type, object) already was; returns how many were queued. */
  enqueue(rows: NewDelivery[]): Promise<number>;
  /**
   * Leases up to `limit` pending deliveries that are due and whose lease (if any) ran out, oldest due
   * first, to `owner` until `now + leaseMs`: a conditional UPDATE, so two instances never hold one at once.
   */
  claim(owner: string, now: number, leaseMs: number, limit: number): Promise<WebhookDeliveryRow[]>;
  /**
   * Logs the attempt and, if `owner` still holds the lease, moves the delivery on (attempts + 1, last
   * status or error, lease released). False when the lease was lost: the attempt is logged all the same.
   */
  recordAttempt(id: number, owner: string, attempt: NewAttempt, next: DeliveryOutcome): Promise<boolean>;
  /** Newest first; of one endpoint, or of one account's endpoints, or all. */
  list(filter: { webhookId?: number; accountId?: number; limit: number }): Promise<DeliveryView[]>;
  /** A delivery's attempts, oldest first. */
  attempts(deliveryId: number): Promise<WebhookAttemptRow[]>;
}

export type Stores = {
  webhooks: WebhookStore;
  deliveries: DeliveryStore;
  objects: ObjectStore;
  audit: AuditStore;
  accounts: AccountStore;
  users: UserStore;
  keys: KeyStore;
  channels: ChannelStore;
  prices: PriceStore;
  ledger: LedgerStore;
  usage: UsageStore;
  settings: SettingsStore;
  secrets: SecretStore;
};

/** What a store refuses, for the service to turn into the caller's error. */
export class StoreConflict extends Error {
  constructor(readonly kind: "NameTaken" | "AlreadyMember" | "LastOwner" | "HoldsCredits" | "DuplicateKey" | "Overdraft" | "NoAccount", message: string = kind) {
    super(message);
  }
}
