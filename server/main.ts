#!/usr/bin/env bun
import pkg from "../package.json";
import { ConfigError, loadConfig, type Config } from "./config";
import { log, setLogLevel } from "./log";

const HELP = `relay ${pkg.version}: a self-hosted, OpenAI-compatible LLM API relay

usage:
  relay serve              start the HTTP API and the admin socket
  relay tui                open the admin terminal UI (needs a running server)
  relay admin <command>    run an admin command (relay admin --help lists them)
  relay --version          print the version
  relay --help             print this help

Configuration is read from RELAY_* environment variables; see the README.`;

function config(): Config {
  try {
    return loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`relay: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
}

async function serve(): Promise<void> {
  const cfg = config();
  setLogLevel(cfg.RELAY_LOG_LEVEL);
  const { startServer } = await import("./serve");
  let server;
  try {
    server = await startServer(cfg);
  } catch (e) {
    const message = (e as Error).message;
    log.error("failed to start", { error: message });
    // A refusal to start must be seen even with the log silenced.
    if (!log.enabled("error")) console.error(`relay: failed to start: ${message}`);
    // A master key that cannot decrypt the data is a configuration error, like a bad variable: exit 2.
    process.exit((e as Error)?.name === "KeyringError" ? 2 : 1);
  }
  const shutdown = async (signal: string) => {
    log.info("shutting down", { signal });
    await server.stop();
    log.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

async function main(argv: string[]): Promise<number | void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case "--version":
    case "-v":
    case "version":
      console.log(pkg.version);
      return 0;
    case undefined:
      console.log(HELP);
      return 2;
    case "--help":
    case "-h":
    case "help":
      console.log(HELP);
      return 0;
    case "serve":
      if (rest.includes("--help") || rest.includes("-h")) {
        console.log("usage: relay serve\n\nStarts the relay. All settings come from RELAY_* environment variables (see README).");
        return 0;
      }
      return serve();
    case "admin": {
      const cfg = config();
      const { runAdmin } = await import("./cli/admin");
      return runAdmin(rest, cfg.RELAY_ADMIN_SOCKET);
    }
    case "tui": {
      if (rest.includes("--help") || rest.includes("-h")) {
        console.log("usage: relay tui\n\nOpens the admin terminal UI over the admin socket. Press ? inside for key bindings.");
        return 0;
      }
      const cfg = config();
      const { runTui } = await import("../tui/main");
      return runTui(cfg.RELAY_ADMIN_SOCKET);
    }
    default:
      console.error(`relay: unknown command '${cmd}'\n\n${HELP}`);
      return 2;
  }
}

const code = await main(process.argv.slice(2));
if (typeof code === "number") process.exit(code);
