import { defineConfig } from "drizzle-kit";

// The PostgreSQL (cluster mode) counterpart of ./drizzle.config.ts, used only to generate migrations:
//   bunx drizzle-kit generate --config db/pg/drizzle.config.ts --name <what_changed> && bun db/pg/embed-migrations.ts
// The relay itself applies the embedded SQL (db/pg/migrate.ts). Generating needs no database.
export default defineConfig({
  dialect: "postgresql",
  schema: "./db/pg/schema/index.ts",
  out: "./db/pg/migrations",
});
