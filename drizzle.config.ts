import { defineConfig } from "drizzle-kit";

// Only used by `bun run db:generate`; the relay itself applies the embedded SQL.
export default defineConfig({
  dialect: "sqlite",
  schema: "./db/schema/index.ts",
  out: "./db/migrations",
});
