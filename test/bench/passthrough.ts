/**
 * The floor for any relay on this runtime: a Bun server that forwards each request with fetch and
 * returns the upstream's response as it comes, doing nothing else. Run as its own process by the bench:
 * `UPSTREAM=http://127.0.0.1:PORT bun test/bench/passthrough.ts` prints its own URL on stdout.
 */
const upstream = process.env.UPSTREAM;
if (!upstream) throw new Error("set UPSTREAM to the upstream's origin");

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  idleTimeout: 0,
  fetch(req) {
    const url = new URL(req.url);
    return fetch(upstream + url.pathname + url.search, { method: req.method, headers: req.headers, body: req.body });
  },
});
console.log(`http://127.0.0.1:${server.port}`);
process.on("SIGTERM", () => process.exit(0));
