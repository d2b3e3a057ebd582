/** The UTC calendar month (`YYYY-MM`) that monthly token quotas count in. */
export function utcMonth(now = Date.now()): string {
  return new Date(now).toISOString().slice(0, 7);
}
