import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from "node:fs";
import { join } from "node:path";

/**
 * What the SQLite data dir's request journal (usage/journal.ts) says about the database: `live`, a relay
 * holds its lock (the database is in use, and current but for requests in flight); `unrecovered`, no
 * relay does and a segment still has lines, so a relay was killed and its last settlements are only
 * there until the next start replays them; `clean` otherwise. Read-only: taking the lock to look would
 * make a relay starting at that moment refuse.
 */
export function journalState(dataDir: string): "live" | "unrecovered" | "clean" {
  const dir = join(dataDir, "journal");
  if (!existsSync(dir)) return "clean";
  const lock = join(dir, "LOCK");
  if (existsSync(lock)) {
    const pid = Number(readFileSync(lock, "utf8").trim());
    if (pid && pid !== process.pid && running(pid)) return "live";
  }
  const written = readdirSync(dir).filter((f) => /^\d{10}\.log$/.test(f)).some((f) => firstByte(join(dir, f)) !== 0);
  return written ? "unrecovered" : "clean";
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A wiped (or never written) segment is all zeros; a written one starts with a line. */
function firstByte(path: string): number {
  const fd = openSync(path, "r");
  try {
    const b = Buffer.alloc(1);
    return readSync(fd, b, 0, 1, 0) === 1 ? b[0]! : 0;
  } finally {
    closeSync(fd);
  }
}
