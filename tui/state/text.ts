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
