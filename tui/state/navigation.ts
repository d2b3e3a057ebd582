/** Which view is shown, whether the help screen is open, and whose ledger the Ledger view shows. */
export const VIEWS = ["users", "keys", "channels", "usage", "ledger", "audit", "orgs", "prices", "webhooks"] as const;
export type ViewId = (typeof VIEWS)[number];

export const VIEW_TITLES: Record<ViewId, string> = {
  users: "Users",
  keys: "Keys",
  channels: "Channels",
  usage: "Usage",
  ledger: "Ledger",
  audit: "Audit",
  orgs: "Orgs",
  prices: "Prices",
  webhooks: "Webhooks",
};

export type NavState = { view: ViewId; help: boolean; ledgerUser: string | null };

export type NavAction =
  | { type: "next" }
  | { type: "prev" }
  | { type: "goto"; index: number }
  | { type: "toggle-help" }
  | { type: "close-help" }
  | { type: "show-ledger"; user: string };

export const initialNav: NavState = { view: "users", help: false, ledgerUser: null };

const shift = (view: ViewId, by: number): ViewId => VIEWS[(VIEWS.indexOf(view) + by + VIEWS.length) % VIEWS.length]!;

export function navigate(s: NavState, a: NavAction): NavState {
  switch (a.type) {
    case "next":
      return { ...s, view: shift(s.view, 1), help: false };
    case "prev":
      return { ...s, view: shift(s.view, -1), help: false };
    case "goto": {
      const view = VIEWS[a.index];
      return view ? { ...s, view, help: false } : s;
    }
    case "toggle-help":
      return { ...s, help: !s.help };
    case "close-help":
      return s.help ? { ...s, help: false } : s;
    case "show-ledger":
      return { ...s, view: "ledger", help: false, ledgerUser: a.user };
  }
}
