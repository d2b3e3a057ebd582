import { useEffect, useMemo, useReducer, useRef, useState } from "react";
import { Box, useApp } from "ink";
import type { AdminApi } from "./api";
import type { Relabel, Scope } from "./keybindings";
import { initialNav, navigate } from "./state/navigation";
import { expires, noStatus, statusReducer } from "./state/status";
import { uptime } from "./format";
import { UiContext, type Ui } from "./hooks/use-ui";
import { usePoll } from "./hooks/use-poll";
import { useSyncReducer } from "./hooks/use-sync-reducer";
import { useGlobalKeys } from "./hooks/use-global-keys";
import { useTerminalSize, type Size } from "./hooks/use-terminal-size";
import { Header, type HealthLine } from "./components/header";
import { Footer } from "./components/footer";
import { StatusLine } from "./components/status-line";
import { Help, helpLayout, helpLines } from "./components/help";
import { ErrorBoundary } from "./components/error-boundary";
import { CurrentView } from "./views/current-view";

type Props = {
  api: AdminApi;
  /** Pins the size (tests); otherwise the terminal's, following resizes. */
  size?: Partial<Size>;
  /** @default 1500 */
  pollMs?: number;
  /** When status lines expire by. @default Date.now */
  clock?: () => number;
};

/** Header, the current view (or the help screen), status line and footer, filling the terminal. */
/** "cluster, 3 instances" / "postgres"; nothing for embedded mode (the default needs no mention). */
function modeLine(h: Record<string, unknown>): string {
  if (!h.mode || h.mode === "embedded") return "";
  const alive = Array.isArray(h.instances) ? h.instances.filter((i: { state?: string }) => i.state === "alive").length : 0;
  return h.mode === "cluster" ? `cluster, ${alive} instance${alive === 1 ? "" : "s"}` : String(h.mode);
}

export function App({ api, size, pollMs = 1500, clock = Date.now }: Props) {
  const { exit } = useApp();
  const { columns, rows } = useTerminalSize(size);
  const [nav, dispatchNav, getNav] = useSyncReducer(navigate, initialNav);
  const [status, dispatchStatus] = useReducer(statusReducer, noStatus);
  const expiring = expires(status);
  useEffect(() => {
    if (!expiring) return;
    const t = setInterval(() => dispatchStatus({ type: "tick", now: clock() }), 1000);
    return () => clearInterval(t);
  }, [expiring, clock]);
  const [scopes, setScopes] = useState<readonly Scope[]>(["list"]);
  const [relabel, setRelabel] = useState<Relabel>({});
  const [captured, setCaptured] = useState(false);
  const capturedRef = useRef(false);
  const [helpOffset, setHelpOffset] = useState(0);

  const ui = useMemo<Ui>(
    () => ({
      report: (s) => dispatchStatus({ type: "report", status: s, now: clock() }),
      commandRan: () => dispatchStatus({ type: "command" }),
      setScopes: (next, isCaptured, words = {}) => {
        capturedRef.current = isCaptured;
        setCaptured(isCaptured);
        setScopes((prev) => (prev.join() === next.join() ? prev : next));
        setRelabel((prev) => (JSON.stringify(prev) === JSON.stringify(words) ? prev : words));
      },
    }),
    [clock],
  );

  const health = usePoll<HealthLine>(
    () => api.health().then((h) => ({ status: String(h.status), listen: String(h.listen ?? "?"), version: String(h.version ?? "?"), uptime: uptime(h.uptimeSeconds), mode: modeLine(h) })),
    Math.max(pollMs, 2000),
  );

  const bodyHeight = Math.max(4, rows - 4);
  const help = helpLayout(columns, bodyHeight);
  const maxHelpOffset = Math.max(0, helpLines().length - help.perPage);

  useGlobalKeys({
    isActive: true,
    isCaptured: () => capturedRef.current,
    helpOpen: () => getNav().help,
    onCommand: (c, name) => {
      dispatchStatus({ type: "command" });
      if (c === "quit") return exit();
      if (c === "help") {
        setHelpOffset(0);
        return dispatchNav({ type: "toggle-help" });
      }
      if (c === "next-view") return dispatchNav({ type: "next" });
      if (c === "prev-view") return dispatchNav({ type: "prev" });
      if (c === "goto-view") return dispatchNav({ type: "goto", index: Number(name) - 1 });
    },
    onHelpKey: (c) => {
      if (c) dispatchStatus({ type: "command" });
      if (c === "quit") return exit();
      if (c === "help" || c === "close") return dispatchNav({ type: "close-help" });
      const step = c === "up" ? -1 : c === "down" ? 1 : c === "page-up" ? -help.rows : c === "page-down" ? help.rows : 0;
      if (step) setHelpOffset((o) => Math.max(0, Math.min(maxHelpOffset, o + step)));
    },
  });

  const footerScopes: readonly Scope[] = nav.help ? ["global"] : captured ? scopes : [...scopes, "global"];
  return (
    <UiContext.Provider value={ui}>
      <Box flexDirection="column" width={columns} height={rows}>
        <Header health={health.data} error={health.error} view={nav.view} width={columns} />
        <Box height={bodyHeight} flexDirection="column">
          {nav.help ? <Help width={columns} height={bodyHeight} offset={helpOffset} /> : null}
          <Box display={nav.help ? "none" : "flex"} flexDirection="column">
            <ErrorBoundary key={nav.view} onError={(message) => ui.report({ kind: "error", text: `view failed: ${message}` })}>
              <CurrentView
                view={nav.view}
                api={api}
                active={!nav.help}
                width={columns}
                height={bodyHeight}
                pollMs={pollMs}
                ledgerUser={nav.ledgerUser}
                onShowLedger={(user) => dispatchNav({ type: "show-ledger", user })}
              />
            </ErrorBoundary>
          </Box>
        </Box>
        <StatusLine status={status.status} />
        <Footer scopes={footerScopes} relabel={nav.help ? undefined : relabel} width={columns} />
      </Box>
    </UiContext.Provider>
  );
}
