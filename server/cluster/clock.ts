/** The database's clock in milliseconds, so instances whose clocks disagree still agree on heartbeats. */
export const DB_NOW_MS = "(extract(epoch from clock_timestamp()) * 1000)::bigint";
