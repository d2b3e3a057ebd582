import { hostname } from "node:os";
import type { AppContext } from "../context";

/**
 * Which instance answers an admin call, for views that are per instance (circuit breakers, in-flight
 * counts): the instance id and host in PostgreSQL and cluster modes, "this relay" in embedded mode.
 */
export function viewOf(ctx: AppContext): string {
  if (!ctx.cluster) return "this relay (embedded: one instance)";
  const id = ctx.cluster.instances.id.slice(0, 8);
  return `instance ${id} on ${hostname()} pid ${process.pid} (breakers are per instance; each instance has its own view)`;
}
