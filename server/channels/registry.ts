import type { ChannelRow } from "../../db/schema";
import type { AppContext } from "../context";
import { channelAad } from "../keyring/aad";
import { log } from "../log";
import { Breaker } from "./breaker";

/** A channel ready to serve: its row, decrypted upstream key and live health. */
export type LiveChannel = {
  row: ChannelRow;
  apiKey: string;
  /** Every model name a client may ask this channel for (served models and aliases). */
  serves: Set<string>;
  breaker: Breaker;
};

/**
 * The channels the relay routes over, kept in memory and rebuilt after every channel write, so the
 * hot path never queries the database for routing. Breakers survive rebuilds (keyed by channel id).
 */
export class ChannelRegistry {
  private live: LiveChannel[] = [];
  private readonly breakers = new Map<number, Breaker>();

  constructor(private readonly ctx: AppContext) {}

  /** Rebuilds the list from the database (at start, and after every channel write). */
  async reload(): Promise<void> {
    const rows = await this.ctx.stores.channels.list();
    const next: LiveChannel[] = [];
    for (const row of rows) {
      let apiKey: string;
      try {
        apiKey = this.ctx.keyring.decrypt(row.apiKeyCiphertext, channelAad(row.id));
      } catch (err) {
        // Fail closed for this channel only: it is left out of routing and the error is visible in the list.
        log.error("channel key does not decrypt; channel skipped", { channel: row.id, error: String(err) });
        this.breaker(row.id).onFailure(`upstream key does not decrypt: ${(err as Error).message}`);
        continue;
      }
      next.push({ row, apiKey, serves: new Set([...row.models, ...Object.keys(row.modelMap)]), breaker: this.breaker(row.id) });
    }
    this.live = next;
  }

  breaker(id: number): Breaker {
    let b = this.breakers.get(id);
    if (!b) this.breakers.set(id, (b = new Breaker(this.ctx.config.RELAY_BREAKER_THRESHOLD, this.ctx.config.RELAY_BREAKER_COOLDOWN_MS)));
    return b;
  }

  all(): readonly LiveChannel[] {
    return this.live;
  }

  /** Enabled channels that serve `model`, in any group allowed by `group` (`either` = every group). */
  serving(model: string, group: string): LiveChannel[] {
    return this.live.filter((c) => c.row.enabled && c.serves.has(model) && (group === "either" || c.row.group === group));
  }

  /** The public catalog: every model some enabled channel serves, optionally limited to a group. */
  models(group = "either"): Map<string, number> {
    const out = new Map<string, number>();
    for (const c of this.live) {
      if (!c.row.enabled || (group !== "either" && c.row.group !== group)) continue;
      for (const m of c.serves) if (!out.has(m)) out.set(m, c.row.createdAt);
    }
    return out;
  }
}

