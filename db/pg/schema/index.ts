// The PostgreSQL schema (cluster mode): the same tables, columns and exported names as db/schema/index.ts,
// so code can switch dialect by import path. test/pg/schema.test.ts checks the two against each other.
export * from "./users";
export * from "./api-keys";
export * from "./channels";
export * from "./audit-log";
export * from "./settings";
export * from "./usage-log";
export * from "./ledger";
export * from "./prices";
export * from "./token-usage";
export * from "./auth-epoch";
export * from "./accounts";
export * from "./memberships";
export * from "./cluster";
export * from "./objects";
export * from "./webhooks";
