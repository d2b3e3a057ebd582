import { AdminClient } from "./client";

/** Placeholder until the TUI issue lands: checks the socket and explains. */
export async function runTui(socketPath: string): Promise<number> {
  const client = new AdminClient(socketPath);
  try {
    await client.health();
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 1;
  }
  console.error("the terminal UI is not built yet; use `relay admin`");
  return 1;
}
