import { render, type Instance } from "ink";
import { AdminClient } from "./client";
import { App } from "./app";
import { describeError } from "./state/status";
import { enterAlternateScreen } from "./screen";

/**
 * `relay tui`: checks the socket (exit 1 with one clear line when it cannot be reached), then runs the
 * full-screen UI on the alternate screen until `q` / Ctrl+C. A crash or signal restores the terminal
 * and prints one line, never a stack trace.
 */
export async function runTui(socketPath: string): Promise<number> {
  const client = new AdminClient(socketPath);
  try {
    await client.health();
  } catch (e) {
    console.error(`relay tui: ${describeError(e)}`);
    return 1;
  }
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    console.error("relay tui: needs an interactive terminal (stdin and stdout must be a TTY); use `relay admin` in scripts");
    return 2;
  }

  const screen = enterAlternateScreen(process.stdout);
  let app: Instance | undefined;
  const stop = (code: number, message?: string) => {
    try {
      app?.unmount();
    } catch {
      /* already gone */
    }
    screen.leave();
    if (message) console.error(`relay tui: ${message}`);
    process.exit(code);
  };
  process.on("uncaughtException", (e) => stop(1, describeError(e)));
  process.on("unhandledRejection", (e) => stop(1, describeError(e)));
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => stop(130));

  // interactive: stdout is known to be a terminal here (checked above); without this, Ink renders nothing
  // until exit whenever CI=true is in the environment (as in CI runs of the tmux end-to-end test).
  app = render(<App api={client} />, { exitOnCtrlC: true, incrementalRendering: true, patchConsole: true, interactive: true });
  try {
    await app.waitUntilExit();
  } catch (e) {
    screen.leave();
    console.error(`relay tui: ${describeError(e)}`);
    return 1;
  }
  screen.leave();
  return 0;
}
