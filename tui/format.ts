/** Cell formatting shared by the views. */
export const num = (n: unknown): string => (typeof n === "number" && Number.isFinite(n) ? n.toLocaleString("en-US") : "-");

export const text = (v: unknown): string => {
  if (v === null || v === undefined || v === "") return "-";
  if (Array.isArray(v)) return v.length ? v.join(",") : "-";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
};

const pad = (n: number) => String(n).padStart(2, "0");

/** Local time of day, with the date when it is not today. */
export function when(v: unknown, now = new Date()): string {
  if (v === null || v === undefined) return "-";
  const d = new Date(typeof v === "number" ? v : String(v));
  if (Number.isNaN(d.getTime())) return String(v);
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return d.toDateString() === now.toDateString() ? time : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

/** Table cells: the time today, else month-day and minutes (11 cells at most). */
export function stamp(v: unknown, now = new Date()): string {
  if (v === null || v === undefined) return "-";
  const d = new Date(typeof v === "number" ? v : String(v));
  if (Number.isNaN(d.getTime())) return String(v);
  if (d.toDateString() === now.toDateString()) return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function uptime(seconds: unknown): string {
  const s = typeof seconds === "number" ? seconds : 0;
  if (s < 60) return "<1m";
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

/** Cuts to `width` cells with an ellipsis, then pads (right-aligns numbers when asked). */
export function fit(s: string, width: number, align: "left" | "right" = "left"): string {
  if (width <= 0) return "";
  const chars = [...s.replace(/[\r\n\t]+/g, " ")];
  const cut = chars.length > width ? chars.slice(0, Math.max(0, width - 1)).join("") + "…" : chars.join("");
  return align === "right" ? cut.padStart(width) : cut.padEnd(width);
}

/**
 * Like `fit`, but an over-long text loses its middle: `claude-sonnet-4…20250514` keeps both the family
 * and the version, which tell long model names apart.
 */
export function fitMiddle(s: string, width: number, align: "left" | "right" = "left"): string {
  const chars = [...s.replace(/[\r\n\t]+/g, " ")];
  if (width <= 0 || chars.length <= width) return fit(s, width, align);
  const head = Math.ceil((width - 1) / 2);
  const tail = width - 1 - head;
  return chars.slice(0, head).join("") + "…" + (tail > 0 ? chars.slice(-tail).join("") : "");
}

/**
 * What tells keys apart: the 8-character public id at the end of a key's prefix (the part before it is
 * RELAY_KEY_PREFIX, the same for every key). Calls made with a login session show as `session`.
 */
export const publicId = (keyPrefix: string): string => (keyPrefix === "session" ? keyPrefix : keyPrefix.slice(-8));

/**
 * `num` when it fits in `width` cells, else rounded to thousands or millions (`128k`, `1.2M`): a narrow
 * column shows the size of a number instead of cutting its last digits off.
 */
export function numFit(n: unknown, width: number): string {
  const exact = num(n);
  if (exact.length <= width || typeof n !== "number") return exact;
  for (const [unit, size] of [["k", 1e3], ["M", 1e6], ["G", 1e9]] as const) {
    if (Math.round(n / size) >= 1000 && unit !== "G") continue; // 999,999 is 1M, not 1000k
    for (const digits of [1, 0]) {
      const short = `${Number((n / size).toFixed(digits))}${unit}`;
      if (short.length <= width) return short;
    }
  }
  return exact;
}
