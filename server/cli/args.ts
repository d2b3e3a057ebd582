/** A small, strict argv parser for `relay admin`: unknown flags and missing values are usage errors (exit 2). */
export class UsageError extends Error {}

export type FlagSpec = {
  name: string;
  /** string, int, bool, list (comma-separated), repeat (may be given many times) */
  type: "string" | "int" | "bool" | "list" | "repeat";
  help: string;
  required?: boolean;
  /** An int flag that also takes `none`, sent as null: how a limit is removed again. */
  nullable?: boolean;
};

export type Parsed = { positionals: string[]; flags: Record<string, unknown> };

/** `positionalCount` arguments are expected; the last `optionalCount` of them may be left out. */
export function parseArgs(argv: string[], specs: FlagSpec[], positionalCount: number, optionalCount = 0): Parsed {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const flags: Record<string, unknown> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--") || arg === "--") {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown flag --${name}`);
    if (spec.type === "bool") {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const value = eq !== -1 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    switch (spec.type) {
      case "int": {
        if (spec.nullable && value === "none") {
          flags[name] = null;
          break;
        }
        if (!/^-?\d+$/.test(value)) throw new UsageError(`--${name} must be an integer${spec.nullable ? " or 'none'" : ""}, not '${value}'`);
        const n = Number(value);
        if (!Number.isSafeInteger(n)) throw new UsageError(`--${name} is out of range`);
        flags[name] = n;
        break;
      }
      case "list":
        flags[name] = value.split(",").map((s) => s.trim()).filter(Boolean);
        break;
      case "repeat":
        flags[name] = [...((flags[name] as string[]) ?? []), value];
        break;
      default:
        flags[name] = value;
    }
  }
  for (const s of specs) if (s.required && flags[s.name] === undefined) throw new UsageError(`--${s.name} is required`);
  if (positionals.length < positionalCount - optionalCount || positionals.length > positionalCount) {
    throw new UsageError(positionals.length < positionalCount ? "missing argument" : `unexpected argument '${positionals[positionalCount]}'`);
  }
  return { positionals, flags };
}
