/**
 * Leveled JSON-lines logger on stderr. Every line passes through `redact`, so a key or bearer token
 * that slips into a message is masked before it is written.
 */
const levels = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof levels;

let threshold: number = levels.info;
let sink: (line: string) => void = (line) => process.stderr.write(line + "\n");

export function setLogLevel(level: LogLevel): void {
  threshold = levels[level];
}

/** Replaces where log lines go (tests capture them). */
export function setLogSink(fn: (line: string) => void): void {
  sink = fn;
}

const secretPatterns = [
  /\bsk-[A-Za-z0-9_-]{8,}/g,
  /\bBearer\s+[^\s"',]+/gi,
  /\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g,
];

/**
 * Also masks keys of the configured format (RELAY_KEY_FORMAT), which need not start with `sk-`: any text
 * that starts with the format's leading literal and runs on for 8 or more key characters.
 */
export function redactKeysStartingWith(literal: string): void {
  if (literal.length < 2 || literal.startsWith("sk-")) return;
  const escaped = literal.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  secretPatterns.push(new RegExp(`${escaped}[A-Za-z0-9_-]{8,}`, "g"));
}

export function redact(text: string): string {
  let out = text;
  for (const p of secretPatterns) out = out.replace(p, "[redacted]");
  return out;
}

function write(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
  if (levels[level] < threshold) return;
  sink(redact(JSON.stringify({ t: new Date().toISOString(), level, msg, ...fields })));
}

export const log = {
  debug: (msg: string, f?: Record<string, unknown>) => write("debug", msg, f),
  info: (msg: string, f?: Record<string, unknown>) => write("info", msg, f),
  warn: (msg: string, f?: Record<string, unknown>) => write("warn", msg, f),
  error: (msg: string, f?: Record<string, unknown>) => write("error", msg, f),
  enabled: (level: LogLevel) => levels[level] >= threshold,
};
