/**
 * `bun run drill:crash [--long] [--seed N]`: kill -9 the relay (a child process) under load, restart it
 * on the same data dir, and check after every restart:
 * - no committed ledger row is lost (every row read just before the kill is still there, unchanged);
 * - none is doubled, every balance equals its ledger's sum, every charge matches one logged request,
 *   key spend and monthly tokens add up (accountingChecks in support.ts);
 * - no slot leaked: right after the restart nothing is in flight or held, and each user can run exactly
 *   their concurrency cap at once (one more is refused), and so can the org's service key (the org's cap)
 *   and a member key (the member's cap in the org);
 * - `PRAGMA integrity_check` is ok.
 * - nothing answered is lost: every request a client got a whole answer for before the kill is in the usage
 *   log after the restart, charged (the request journal replays what the writer had not committed yet);
 * - nothing admitted is lost: every request whose response had started (the client saw its request id) is
 *   in the usage log, charged if it was answered in full, else marked `interrupted` and charged nothing.
 * - background responses and batches pending at a kill are each settled exactly once after the restart
 *   (crash-objects.ts).
 * Short mode (default, CI): 3 kills, about 20 s per mode. --long: 15 kills.
 * Modes: embedded (SQLite) and cluster (one instance on PostgreSQL and Redis, killed and restarted on its
 * data dir, whose journal it replays into PostgreSQL), both by default; `--mode embedded|postgres|cluster`
 * runs one.
 */
import { startMockUpstream } from "../support/mock-upstream";
import { removeDir, setupTenant, startRelayProcess, tempDir, type RelayProcess } from "../bench/processes";
import { Checks, liveMatchesDb, readStream, rng, waitSettled } from "./support";
import { pgDrillDb, sqliteDrillDb, type DrillDb } from "./drill-db";
import { modeEnv } from "../support/harness";
import { objectsCrashDrill } from "./crash-objects";

type Mode = "embedded" | "postgres" | "cluster";
const modeArg = process.argv.indexOf("--mode");
const MODES: Mode[] = modeArg > 0 ? [process.argv[modeArg + 1] as Mode] : ["embedded", "cluster"];

const LONG = process.argv.includes("--long");
const seedArg = process.argv.indexOf("--seed");
const SEED = seedArg > 0 ? Number(process.argv[seedArg + 1]) : Math.floor(Math.random() * 2 ** 31);
const KILLS = LONG ? 15 : 3;
const MODEL = "gpt-crash";
const USERS = [{ name: "carol", cap: 8 }, { name: "dave", cap: 4 }];
const ORG = { name: "crashco", cap: 4, memberCap: 2 };
/**
 * Who sends load, and whose concurrency is checked after each restart: each user's personal key; the
 * org's service key (the org's cap); carol's member key (her cap in the org, below the org's).
 */
const CALLERS = [
  ...USERS.map((u) => ({ caller: u.name, account: u.name, cap: u.cap, workers: u.cap })),
  { caller: "crashco-service", account: `org:${ORG.name}`, cap: ORG.cap, workers: 2 },
  { caller: "carol@crashco", account: `org:${ORG.name}`, cap: ORG.memberCap, workers: 2 },
];
const ACCOUNTS = [...USERS.map((u) => u.name), `org:${ORG.name}`];
/** Streams drip ten chunks 20 ms apart, so some are always mid-way when the relay dies. */
const STREAM = JSON.stringify({ behavior: "drip", delayMs: 20, chunks: 10 });
/**
 * The writer commits every 250 ms here (5 ms by default), so every kill lands with many answered requests
 * not yet committed: only the request journal can bring them back, and the checks below see it if it doesn't.
 */
const BASE_ENV = { RELAY_FLUSH_INTERVAL_MS: "250" };

/** A request the relay started answering: its id, and whether the client got the whole answer. */
type Answered = { id: string; complete: boolean };

async function drill(mode: Mode): Promise<number> {
  console.log(`crash drill, ${mode} mode (${LONG ? "long" : "short"}): ${KILLS} kills, seed ${SEED}`);
  const random = rng(SEED);
  const checks = new Checks();
  const mock = await startMockUpstream("crash-up");
  const dataDir = tempDir("relay-drill-crash-");
  const storage = await modeEnv(mode);
  const RELAY_ENV = { ...BASE_ENV, ...storage.env };
  const store: DrillDb = mode === "embedded" ? sqliteDrillDb(dataDir) : pgDrillDb(storage.env.RELAY_DATABASE_URL!);
  let relay: RelayProcess | null = null;
  let answeredTotal = 0;
  let startedTotal = 0;
  let interruptedTotal = 0;
  try {
    relay = await startRelayProcess({ dataDir, env: RELAY_ENV });
    const keys: Record<string, string> = {};
    keys.carol = (await setupTenant(relay.admin, {
      user: "carol", model: MODEL, credits: 1_000_000_000, concurrency: USERS[0]!.cap, upstreams: [{ name: "up", baseUrl: `${mock.url}/v1` }],
    })).key;
    await relay.admin.users.create({ name: "dave", credits: 1_000_000_000, concurrency: USERS[1]!.cap });
    keys.dave = (await relay.admin.keys.create({ user: "dave", label: "crash" })).key as string;
    await relay.admin.orgs.create({ name: ORG.name, credits: 1_000_000_000, concurrency: ORG.cap });
    await relay.admin.orgs.addMember(ORG.name, { user: "carol", role: "member", concurrency: ORG.memberCap, monthlySpend: 1_000_000_000 });
    keys["crashco-service"] = (await relay.admin.keys.create({ org: ORG.name, service: true, label: "crash-service" })).key as string;
    keys["carol@crashco"] = (await relay.admin.keys.create({ org: ORG.name, member: "carol", label: "crash-member" })).key as string;

    const send = (url: string, user: string, stream: boolean, mockHeader: string | null, signal?: AbortSignal) =>
      fetch(`${url}/v1/chat/completions`, {
        method: "POST", signal,
        headers: { authorization: `Bearer ${keys[user]}`, "content-type": "application/json", ...(mockHeader ? { "x-mock-behavior": mockHeader } : {}) },
        body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "crash drill" }], stream }),
      });

    for (let kill = 1; kill <= KILLS; kill++) {
      const label = `crash ${kill}`;
      const url = relay.url;
      // Load: every user at their cap, the org's keys beside them, half the requests streamed.
      let stop = false;
      const answered: Answered[] = [];
      const worker = async (user: string) => {
        while (!stop) {
          const stream = random() < 0.5;
          try {
            const res = await send(url, user, stream, stream ? STREAM : null, AbortSignal.timeout(10_000));
            const id = res.headers.get("x-request-id");
            if (res.status !== 200 || !id) {
              await res.text().catch(() => "");
              continue;
            }
            const entry: Answered = { id, complete: false };
            answered.push(entry); // started: the client has its id, whatever happens next
            entry.complete = stream ? (await readStream(res, null)) === "done" : (await res.text()).includes('"chat.completion"');
          } catch {
            await Bun.sleep(5); // the relay is gone; the drill stops this loop
          }
        }
      };
      const workers = CALLERS.flatMap((c) => Array.from({ length: c.workers }, () => worker(c.caller)));
      await Bun.sleep(800 + Math.floor(random() * 1200));

      // What is committed now must survive the kill.
      const before = await store.ledger();

      await relay.kill9();
      stop = true;
      await Promise.all(workers);
      relay = await startRelayProcess({ dataDir, env: RELAY_ENV });
      process.stdout.write(`  kill ${kill}: ${answered.length} requests started before it, ${before.size} ledger rows committed … `);

      // Nothing in flight or held the moment it is back: slots and holds lived only in the dead process.
      const fresh = await Promise.all([...USERS.map((u) => relay!.admin.users.get(u.name)), relay.admin.orgs.get(ORG.name)]);
      checks.add("no slot or hold survives the restart (in flight 0, held 0 at once)", fresh.every((u) => u.inFlight === 0 && u.heldCredits === 0),
        fresh.map((u) => `${u.name}: in flight ${u.inFlight}, held ${u.heldCredits}`).join("; "));

      // Each caller can use their whole cap at once, and not one more.
      for (const u of CALLERS.map((c) => ({ name: c.caller, cap: c.cap, account: c.account }))) {
        // The caller before may share this account: its cancelled streams must have let go of their slots.
        await waitSettled(relay.admin, [u.account]);
        // Streams that stay open (a chunk a second) while one more request is tried.
        const hold = JSON.stringify({ behavior: "drip", delayMs: 1000, chunks: 3 });
        const opened = await Promise.all(Array.from({ length: u.cap }, () => send(relay!.url, u.name, true, hold)));
        const statuses = opened.map((r) => r.status);
        const extra = await send(relay.url, u.name, false, null);
        const extraBody = await extra.text();
        await Promise.all(opened.map((r) => r.body?.cancel().catch(() => {}) ?? r.text()));
        checks.add("after a restart each caller can run their full concurrency", statuses.every((s) => s === 200), `${u.name}: statuses ${statuses.join(",")}`);
        checks.add("after a restart the concurrency cap still holds", extra.status === 429 && extraBody.includes("concurrency_limit_exceeded"),
          `${u.name}: request ${u.cap + 1} got ${extra.status}`);
      }
      const settled = await waitSettled(relay.admin, ACCOUNTS);
      checks.add("slots and holds released after the restart checks", settled.ok, settled.state);
      await liveMatchesDb(relay.admin, ACCOUNTS, checks);

      {
        const after = await store.ledger();
        const lost = [...before].filter(([ref, amount]) => after.get(ref) !== amount);
        checks.add("no committed ledger row lost or changed by a kill -9", lost.length === 0, `${label}: ${lost.length} rows (${lost.slice(0, 3).map(([r]) => r).join(", ")})`);
        await store.check(checks);
        const rows = await store.usage();
        const whole = answered.filter((a) => a.complete);
        const lostAnswers = whole.filter((a) => !rows.has(a.id));
        const unchargedAnswers = whole.filter((a) => rows.has(a.id) && !(rows.get(a.id)!.status === 200 && rows.get(a.id)!.cost > 0));
        const lostStarts = answered.filter((a) => !rows.has(a.id));
        const interrupted = answered.filter((a) => rows.get(a.id)?.error_code === "interrupted");
        const interruptedCharged = interrupted.filter((a) => rows.get(a.id)!.cost !== 0);
        checks.add("every answered request is in the usage log after a kill -9", lostAnswers.length === 0, `${label}: ${lostAnswers.length} of ${whole.length} missing`);
        checks.add("every answered request is charged", unchargedAnswers.length === 0,
          `${label}: ${unchargedAnswers.map((a) => `${a.id}: ${JSON.stringify(rows.get(a.id))}`).slice(0, 3).join(", ")}`);
        checks.add("every started request is in the usage log (answered, or marked interrupted)", lostStarts.length === 0, `${label}: ${lostStarts.length} of ${answered.length} missing`);
        checks.add("interrupted requests cost nothing", interruptedCharged.length === 0, `${label}: ${interruptedCharged.length} charged`);
        answeredTotal += whole.length;
        startedTotal += answered.length;
        interruptedTotal += interrupted.length;
        console.log(`${whole.length} answered, ${answered.length - whole.length} cut by the kill (${interrupted.length} recorded as interrupted)`);
      }
    }

    // Work that finishes later: kills while background responses and batches are pending.
    relay = await objectsCrashDrill({ dataDir, env: RELAY_ENV, store, checks, random, relay });

    await relay.stop();
    await store.check(checks, "after a graceful stop");
  } catch (e) {
    checks.add("drill ran to the end", false, String((e as Error)?.stack ?? e));
  } finally {
    if (checks.failed.length && relay) console.log(`\nrelay log (last lines):\n${relay.logTail(30)}`);
    await relay?.stop();
    await mock.stop();
    await store.close();
    await storage.drop().catch(() => {});
    removeDir(dataDir);
  }
  console.log(`\n${answeredTotal} answered and ${startedTotal - answeredTotal} cut requests across the kills; ${interruptedTotal} recorded as interrupted.`);
  return checks.report(`crash drill summary, ${mode} mode (seed ${SEED}; repeat with --mode ${mode} --seed ${SEED}):`);
}

let failed = 0;
for (const mode of MODES) failed += (await drill(mode)) === 0 ? 0 : 1;
process.exit(failed === 0 ? 0 : 1);
