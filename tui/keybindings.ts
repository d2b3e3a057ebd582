/**
 * Every key the terminal UI understands, as data: the footer, the `?` help screen and the README's
 * "Terminal UI" section are all drawn from this one table, and the input hooks look commands up in it.
 */
export type Scope = "global" | "list" | "users" | "keys" | "channels" | "ledger" | "orgs" | "prices" | "filter" | "form" | "confirm" | "secret";

export type Binding = {
  command: string;
  /** Key names as produced by `keyName`: a printable character, or enter, esc, tab, shift+tab, up, down, left, right, pgup, pgdn, home, end. */
  keys: readonly string[];
  scope: Scope;
  description: string;
  /** Short label for the footer; bindings without one appear only in the help screen. */
  hint?: string;
};

export const BINDINGS = [
  { command: "quit", keys: ["q"], scope: "global", description: "quit", hint: "quit" },
  { command: "help", keys: ["?"], scope: "global", description: "show or hide all key bindings", hint: "help" },
  { command: "next-view", keys: ["tab"], scope: "global", description: "next view" },
  { command: "prev-view", keys: ["shift+tab"], scope: "global", description: "previous view" },
  { command: "goto-view", keys: ["1", "2", "3", "4", "5", "6", "7", "8", "9"], scope: "global", description: "Users, Keys, Channels, Usage, Ledger, Audit, Orgs, Prices, Webhooks (deliveries)" },

  { command: "up", keys: ["up", "k"], scope: "list", description: "move up" },
  { command: "down", keys: ["down", "j"], scope: "list", description: "move down" },
  { command: "page-up", keys: ["pgup"], scope: "list", description: "one page up" },
  { command: "page-down", keys: ["pgdn"], scope: "list", description: "one page down" },
  { command: "top", keys: ["home", "g"], scope: "list", description: "first row" },
  { command: "bottom", keys: ["end", "G"], scope: "list", description: "last row" },
  { command: "open", keys: ["enter"], scope: "list", description: "open the details of the selected row", hint: "details" },
  { command: "close", keys: ["esc"], scope: "list", description: "close the details; clear the filter" },
  { command: "filter", keys: ["/"], scope: "list", description: "filter the list", hint: "filter" },

  { command: "user-create", keys: ["n"], scope: "users", description: "new user (name, concurrency, monthly tokens, credits)", hint: "new" },
  { command: "user-edit", keys: ["e"], scope: "users", description: "edit concurrency cap and monthly token quota", hint: "edit" },
  { command: "user-grant", keys: ["c"], scope: "users", description: "grant credits with a note", hint: "credits" },
  { command: "user-toggle", keys: ["x"], scope: "users", description: "disable or enable the user", hint: "on/off" },
  { command: "user-ledger", keys: ["l"], scope: "users", description: "show the user's ledger" },

  { command: "key-create", keys: ["n"], scope: "keys", description: "new key (shown once)", hint: "new" },
  { command: "key-edit", keys: ["e"], scope: "keys", description: "edit label, group, IPs, expiry, models, spend limit, rpm, tpm, scopes", hint: "edit" },
  { command: "key-reveal", keys: ["r"], scope: "keys", description: "reveal the key for 10 s (asks first; audited; not write-once keys)", hint: "reveal" },
  { command: "key-toggle", keys: ["x"], scope: "keys", description: "disable or enable the key", hint: "on/off" },
  { command: "key-delete", keys: ["d"], scope: "keys", description: "delete the key (asks first)", hint: "delete" },

  { command: "channel-create", keys: ["n"], scope: "channels", description: "new channel", hint: "new" },
  { command: "channel-edit", keys: ["e"], scope: "channels", description: "edit the channel", hint: "edit" },
  { command: "channel-toggle", keys: ["x"], scope: "channels", description: "disable or enable the channel", hint: "on/off" },
  { command: "channel-test", keys: ["t"], scope: "channels", description: "test the channel (latency or error)", hint: "test" },
  { command: "channel-delete", keys: ["d"], scope: "channels", description: "delete the channel (asks first)", hint: "delete" },

  { command: "ledger-user", keys: ["u"], scope: "ledger", description: "choose the user whose ledger is shown", hint: "user" },

  { command: "org-create", keys: ["n"], scope: "orgs", description: "new organization (name, owner, credits, concurrency)", hint: "new" },
  { command: "org-member-add", keys: ["a"], scope: "orgs", description: "add a member (user, role, monthly spend, concurrency, rpm, tpm)", hint: "add" },
  { command: "org-member-edit", keys: ["e"], scope: "orgs", description: "change a member's role or caps (choose the member first)", hint: "edit" },
  { command: "org-member-remove", keys: ["r"], scope: "orgs", description: "remove a member (choose the member; asks first)", hint: "remove" },
  { command: "org-grant", keys: ["c"], scope: "orgs", description: "grant credits with a note", hint: "credits" },
  { command: "org-key", keys: ["K"], scope: "orgs", description: "new key for the org: a service key or a member's (shown once)", hint: "key" },
  { command: "org-suspend", keys: ["x"], scope: "orgs", description: "suspend or resume the organization (asks first)", hint: "suspend" },

  { command: "price-set", keys: ["n"], scope: "prices", description: "set a model's price (model, input, output, cache rates, per request)", hint: "set" },
  { command: "price-edit", keys: ["e"], scope: "prices", description: "change the selected model's price", hint: "edit" },
  { command: "price-delete", keys: ["d"], scope: "prices", description: "delete the price (asks first; the model then costs 0)", hint: "delete" },

  { command: "filter-apply", keys: ["enter"], scope: "filter", description: "keep the filter and return to the list", hint: "keep" },
  { command: "filter-clear", keys: ["esc"], scope: "filter", description: "clear the filter", hint: "clear" },

  { command: "form-next", keys: ["tab", "down"], scope: "form", description: "next field", hint: "next" },
  { command: "form-prev", keys: ["shift+tab", "up"], scope: "form", description: "previous field", hint: "prev" },
  { command: "form-choice", keys: ["left", "right"], scope: "form", description: "change a choice field", hint: "choice" },
  { command: "form-enter", keys: ["enter"], scope: "form", description: "next field; on the last field, submit", hint: "next/submit" },
  { command: "form-cancel", keys: ["esc"], scope: "form", description: "cancel", hint: "cancel" },

  { command: "confirm-yes", keys: ["y"], scope: "confirm", description: "confirm", hint: "yes" },
  { command: "confirm-no", keys: ["n", "esc"], scope: "confirm", description: "cancel", hint: "no" },

  { command: "secret-close", keys: ["esc", "enter"], scope: "secret", description: "hide the shown key", hint: "hide" },
] as const satisfies readonly Binding[];

export type Command = (typeof BINDINGS)[number]["command"];

export const SCOPE_TITLES: Record<Scope, string> = {
  global: "Everywhere",
  list: "Lists",
  users: "Users view",
  keys: "Keys view",
  channels: "Channels view",
  ledger: "Ledger view",
  orgs: "Orgs view",
  prices: "Prices view",
  filter: "While filtering",
  form: "In a form",
  confirm: "In a confirmation",
  secret: "While a key is shown",
};

/** The subset of Ink's `Key` that `keyName` reads. */
export type KeyFlags = Partial<Record<"upArrow" | "downArrow" | "leftArrow" | "rightArrow" | "pageUp" | "pageDown" | "home" | "end" | "return" | "escape" | "tab" | "shift" | "ctrl" | "meta" | "backspace" | "delete", boolean>>;

/** Names one key press the way the table does. */
export function keyName(input: string, key: KeyFlags): string {
  if (key.upArrow) return "up";
  if (key.downArrow) return "down";
  if (key.leftArrow) return "left";
  if (key.rightArrow) return "right";
  if (key.pageUp) return "pgup";
  if (key.pageDown) return "pgdn";
  if (key.home) return "home";
  if (key.end) return "end";
  if (key.return) return "enter";
  if (key.escape) return "esc";
  if (key.tab) return key.shift ? "shift+tab" : "tab";
  if (key.backspace || key.delete) return "backspace";
  if (key.ctrl && input) return `ctrl+${input}`;
  return input;
}

export type NamedKey = { name: string; input: string };

/**
 * The keys in one input event. Ink reads ESC with the key right behind it (fast typing, tmux
 * `send-keys Escape 2`) as one meta key, and no binding uses meta: so meta with a character, esc,
 * enter or tab is esc and then that key, and both act. Meta with an arrow or backspace stays one key,
 * since terminals also send Alt+arrow and Alt+backspace that way.
 */
export function keysOf(input: string, key: KeyFlags): NamedKey[] {
  const char = [...input].length === 1 && !/[\x00-\x1f\x7f]/.test(input);
  if (key.meta && !key.ctrl && (char || key.escape || key.return || key.tab)) return [{ name: "esc", input: "" }, { name: keyName(input, key), input }];
  return [{ name: keyName(input, key), input }];
}

/** The command bound to `name` in the first of `scopes` that binds it. */
export function commandFor(scopes: readonly Scope[], name: string): Command | undefined {
  for (const scope of scopes) {
    const hit = BINDINGS.find((b) => b.scope === scope && (b.keys as readonly string[]).includes(name));
    if (hit) return hit.command;
  }
  return undefined;
}

const LABELS: Record<string, string> = { "shift+tab": "S-tab", up: "↑", down: "↓", left: "←", right: "→" };
export const keyLabel = (k: string) => LABELS[k] ?? k;

export type Hint = { keys: string; hint: string };

/**
 * A view's footer words for commands that do not apply to the selected row, in place of their hint
 * (`r write-once` for a key relay cannot reveal).
 */
export type Relabel = Partial<Record<Command, string>>;

/** Footer hints for the given scopes, in their order. */
export function hintsFor(scopes: readonly Scope[], relabel: Relabel = {}): Hint[] {
  return scopes.flatMap((scope) =>
    BINDINGS.filter((b): b is Extract<(typeof BINDINGS)[number], { hint: string }> => b.scope === scope && "hint" in b).map((b) => ({
      keys: b.keys.map(keyLabel).join("/"),
      hint: relabel[b.command] ?? b.hint,
    })),
  );
}

/** Keeps as many hints as fit in `width`, always keeping the last `keep` (help and quit). */
export function fitHints(hints: Hint[], width: number, keep = 2): Hint[] {
  const len = (h: Hint) => h.keys.length + 1 + h.hint.length + 2;
  const tail = hints.slice(-keep);
  let used = tail.reduce((n, h) => n + len(h), 0);
  const head: Hint[] = [];
  for (const h of hints.slice(0, -keep)) {
    if (used + len(h) > width) break;
    head.push(h);
    used += len(h);
  }
  return [...head, ...tail];
}

/** The README's key binding list, one table per scope. A test keeps README.md identical to this. */
export function bindingsMarkdown(): string {
  const scopes = Object.keys(SCOPE_TITLES) as Scope[];
  return scopes
    .map((scope) => {
      const rows = BINDINGS.filter((b) => b.scope === scope).map((b) => `| ${b.keys.map((k) => `\`${k}\``).join(" ")} | ${b.description} |`);
      return [`${SCOPE_TITLES[scope]}:`, "", "| keys | action |", "|---|---|", ...rows].join("\n");
    })
    .join("\n\n");
}
