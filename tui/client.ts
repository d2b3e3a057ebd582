/**
 * The typed client of the admin API on the Unix socket: the only module that knows the socket.
 * Both `relay admin` and `relay tui` use it.
 */
export class AdminUnreachable extends Error {}

export class AdminRefused extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export type Json = Record<string, any>;
export type ListOf<T> = { data: T[] };

/** A query string of the fields that are set. */
const query = (q: Record<string, string | number | undefined>) =>
  new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));

export class AdminClient {
  constructor(readonly socketPath: string) {}

  async call<T = Json>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`http://relay${path}`, {
        method,
        unix: this.socketPath,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      } as RequestInit);
    } catch {
      throw new AdminUnreachable(
        `cannot reach the relay admin socket at ${this.socketPath}: is \`relay serve\` running (and RELAY_DATA_DIR / RELAY_ADMIN_SOCKET the same)?`,
      );
    }
    const text = await res.text();
    let parsed: any = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* non-JSON body (e.g. /metrics) */
    }
    if (!res.ok) {
      const e = parsed?.error;
      throw new AdminRefused(res.status, e?.code ?? "error", e?.message ?? `HTTP ${res.status}`);
    }
    return (parsed ?? text) as T;
  }

  text(path: string): Promise<string> {
    return this.call<string>("GET", path);
  }

  health = () => this.call("GET", "/health");
  audit = (limit = 100) => this.call<ListOf<Json>>("GET", `/audit?limit=${limit}`);
  rotateMasterKey = () => this.call("POST", "/master-key/rotate");

  users = {
    list: () => this.call<ListOf<Json>>("GET", "/users"),
    get: (name: string) => this.call("GET", `/users/${encodeURIComponent(name)}`),
    create: (body: Json) => this.call("POST", "/users", body),
    update: (name: string, body: Json) => this.call("PATCH", `/users/${encodeURIComponent(name)}`, body),
  };

  orgs = {
    list: () => this.call<ListOf<Json>>("GET", "/orgs"),
    get: (name: string) => this.call("GET", `/orgs/${encodeURIComponent(name)}`),
    create: (body: Json) => this.call("POST", "/orgs", body),
    update: (name: string, body: Json) => this.call("PATCH", `/orgs/${encodeURIComponent(name)}`, body),
    delete: (name: string) => this.call("DELETE", `/orgs/${encodeURIComponent(name)}`),
    addMember: (name: string, body: Json) => this.call("POST", `/orgs/${encodeURIComponent(name)}/members`, body),
    updateMember: (name: string, user: string, body: Json) => this.call("PATCH", `/orgs/${encodeURIComponent(name)}/members/${encodeURIComponent(user)}`, body),
    removeMember: (name: string, user: string) => this.call("DELETE", `/orgs/${encodeURIComponent(name)}/members/${encodeURIComponent(user)}`),
    grant: (name: string, body: { amount: number; note?: string; ref?: string }) => this.call("POST", `/orgs/${encodeURIComponent(name)}/credits`, body),
    ledger: (name: string, limit = 50) => this.call<ListOf<Json>>("GET", `/orgs/${encodeURIComponent(name)}/ledger?limit=${limit}`),
  };

  keys = {
    list: (user?: string, org?: string) => this.call<ListOf<Json>>("GET", `/keys?${new URLSearchParams(Object.entries({ user, org }).filter(([, v]) => v !== undefined) as [string, string][])}`),
    import: (body: Json) => this.call("POST", "/keys/import", body),
    get: (id: number | string) => this.call("GET", `/keys/${id}`),
    create: (body: Json) => this.call("POST", "/keys", body),
    update: (id: number | string, body: Json) => this.call("PATCH", `/keys/${id}`, body),
    reveal: (id: number | string) => this.call<{ id: number; key: string }>("POST", `/keys/${id}/reveal`),
    rotate: (id: number | string, body: { overlap?: string } = {}) => this.call("POST", `/keys/${id}/rotate`, body),
    delete: (id: number | string) => this.call("DELETE", `/keys/${id}`),
    deleteAll: (user: string) => this.call<{ user: string; deleted: number; ids: number[] }>("DELETE", `/users/${encodeURIComponent(user)}/keys`),
  };

  channels = {
    list: () => this.call<ListOf<Json>>("GET", "/channels"),
    get: (id: number | string) => this.call("GET", `/channels/${id}`),
    create: (body: Json) => this.call("POST", "/channels", body),
    update: (id: number | string, body: Json) => this.call("PATCH", `/channels/${id}`, body),
    delete: (id: number | string) => this.call("DELETE", `/channels/${id}`),
    test: (id: number | string) => this.call("POST", `/channels/${id}/test`),
    reveal: (id: number | string) => this.call<{ id: number; apiKey: string }>("POST", `/channels/${id}/reveal`),
  };

  prices = {
    list: () => this.call<ListOf<Json>>("GET", "/prices"),
    set: (model: string, body: { inputPerMTok: number; outputPerMTok: number; cachedInputPerMTok?: number | null; cacheWritePerMTok?: number | null; perRequest?: number; batchDiscount?: number }) => this.call("PUT", `/prices/${encodeURIComponent(model)}`, body),
    delete: (model: string) => this.call("DELETE", `/prices/${encodeURIComponent(model)}`),
  };

  credits = {
    grant: (user: string, body: { amount: number; note?: string }) => this.call("POST", `/users/${encodeURIComponent(user)}/credits`, body),
    ledger: (user: string, limit = 50) => this.call<ListOf<Json>>("GET", `/users/${encodeURIComponent(user)}/ledger?limit=${limit}`),
  };

  usage = (q: { user?: string; org?: string; key?: number | string; limit?: number; before?: number } = {}) =>
    this.call<ListOf<Json>>("GET", `/usage?${new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]))}`);

  webhooks = {
    list: (q: { user?: string; org?: string } = {}) => this.call<ListOf<Json>>("GET", `/webhooks?${query(q)}`),
    create: (body: Json) => this.call("POST", "/webhooks", body),
    delete: (id: number | string) => this.call("DELETE", `/webhooks/${id}`),
    rotate: (id: number | string) => this.call("POST", `/webhooks/${id}/rotate`),
    deliveries: (q: { webhook?: number | string; limit?: number } = {}) => this.call<ListOf<Json>>("GET", `/webhooks/deliveries?${query(q)}`),
    attempts: (deliveryId: number | string) => this.call<ListOf<Json>>("GET", `/webhooks/deliveries/${deliveryId}/attempts`),
  };

  keyTimeline = (id: number | string, hours = 72) => this.call<ListOf<{ hour: string; requests: number; tokens: number }>>("GET", `/keys/${id}/timeline?hours=${hours}`);

  metrics = () => this.text("/metrics");

  openApi = () => this.call("GET", "/openapi.json");
}
