// `bun run build`: compiles relay into one executable, dist/relay, with the migrations embedded
// (db/migrations/index.ts imports them as text). Ink optionally imports react-devtools-core, which is
// not installed; the plugin below resolves it to an empty module so the compile succeeds.
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
mkdirSync(join(root, "dist"), { recursive: true });

const stubDevtools: Bun.BunPlugin = {
  name: "stub-react-devtools-core",
  setup(build) {
    build.onResolve({ filter: /^react-devtools-core$/ }, () => ({ path: "react-devtools-core", namespace: "stub" }));
    build.onLoad({ filter: /.*/, namespace: "stub" }, () => ({ contents: "export default { connectToDevTools() {} };", loader: "js" }));
  },
};

const result = await Bun.build({
  // The settlement writer's thread is a second entry point: a Worker's module must be one to be in the
  // binary. Both live under server/, so the binary finds the thread at ./usage/settlement-thread.ts
  // (see server/usage/settlement-writer.ts); an entry point outside server/ would move that root.
  entrypoints: [join(root, "server/main.ts"), join(root, "server/usage/settlement-thread.ts")],
  compile: { outfile: join(root, "dist/relay") },
  minify: true,
  // Precompiled bytecode roughly halves start-up (about 200 ms to about 100 ms).
  bytecode: true,
  format: "esm",
  sourcemap: "linked",
  plugins: [stubDevtools],
  define: { "process.env.DEV": '"false"', "process.env.NODE_ENV": '"production"' },
});
if (!result.success) {
  for (const l of result.logs) console.error(l);
  process.exit(1);
}
console.log("built dist/relay");
