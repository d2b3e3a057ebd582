/** Line editing shared by forms and the filter: printable text appends, backspace removes one character. */
export function editText(value: string, name: string, input: string): string | null {
  if (name === "backspace") return [...value].slice(0, -1).join("");
  if (name !== input) return null;
  const printable = input.replace(/[\x00-\x1f\x7f]/g, "");
  return printable ? value + printable : null;
}

/**
 * Splits a chunk that carries several keys (pasted text, or keys that arrived together) into single
 * keys, so "alice\r" types five letters and then presses enter, and "jjj" moves three rows.
 */
export function splitKeys(name: string, input: string): { name: string; input: string }[] {
  if (name !== input || [...input].length <= 1) return [{ name, input }];
  return [...input].map((ch) =>
    ch === "\r" || ch === "\n" ? { name: "enter", input: "" } : ch === "\t" ? { name: "tab", input: "" } : { name: ch, input: ch },
  );
}

/**
 * Lines of at most `width` characters, at most `maxLines` of them (the last cut with "…" when text is
 * left). Breaks after a comma where it can, else at a space, else inside a word, so the parts of a list
 * like `1,210 in (1,000 cached, 200 cache write), 50 out` stay whole.
 */
export function wrapText(s: string, width: number, maxLines: number): string[] {
  if (width < 1 || maxLines < 1) return [];
  const lines = fill(s.replace(/[\r\n\t]+/g, " ").split(/(?<=,) +/), width);
  if (lines.length <= maxLines) return lines;
  const last = [...lines.slice(maxLines - 1).join(" ")];
  return [...lines.slice(0, maxLines - 1), last.slice(0, Math.max(0, width - 1)).join("") + "…"];
}

const cells = (s: string) => [...s].length;

/** Greedy fill of `parts` joined by spaces; a part too long for a line is filled again by words, then cut. */
function fill(parts: string[], width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const part of parts) {
    const joined = line ? `${line} ${part}` : part;
    if (cells(joined) <= width) {
      line = joined;
      continue;
    }
    if (line) lines.push(line);
    line = part;
    if (cells(part) > width) {
      const inner = part.includes(" ") ? fill(part.split(/ +/), width) : chunks(part, width);
      lines.push(...inner.slice(0, -1));
      line = inner.at(-1) ?? "";
    }
  }
  if (line || !lines.length) lines.push(line);
  return lines;
}

const chunks = (word: string, width: number) => {
  const chars = [...word];
  return Array.from({ length: Math.ceil(chars.length / width) }, (_, i) => chars.slice(i * width, (i + 1) * width).join(""));
};
