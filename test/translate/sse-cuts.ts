import { SseSplitter } from "../../server/relay/sse";

/** Test support: replays upstream SSE bytes the way a socket may deliver them, cut anywhere. */

const enc = new TextEncoder();

/** The cut plans to try: every single cut, every pair of nearby cuts (two inside one UTF-8 character), and far pairs. */
export function cutPlans(byteLength: number): number[][] {
  const plans: number[][] = [[]];
  for (let i = 1; i < byteLength; i++) {
    plans.push([i]);
    for (let j = i + 1; j < Math.min(i + 9, byteLength); j++) plans.push([i, j]);
    for (let j = i + 40; j < byteLength; j += 31) plans.push([i, j]);
  }
  return plans;
}

/** Splits `text`'s bytes at `cuts`, runs them through a fresh SseSplitter and hands each whole event on. */
export function replay(text: string, cuts: number[], onEvent: (e: { raw: string; data: string | null }) => void): void {
  const bytes = enc.encode(text);
  const splitter = new SseSplitter();
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    for (const e of splitter.feed(bytes.slice(at, c))) onEvent(e);
    at = c;
  }
  for (const e of splitter.end()) onEvent(e);
}

/** The `event:` name of a raw SSE event, or null. */
export function eventNameOf(raw: string): string | null {
  const line = raw.split("\n").find((l) => l.startsWith("event:"));
  return line ? line.slice(6).trim() : null;
}

/** Runs `translate` under every cut plan and fails on the first output that differs from the uncut one. */
export function expectSameUnderEveryCut(text: string, translate: (cuts: number[]) => string): string {
  const reference = translate([]);
  for (const cuts of cutPlans(enc.encode(text).length)) {
    const got = translate(cuts);
    if (got !== reference) throw new Error(`cuts ${cuts.join(",")}: output differs\n got: ${JSON.stringify(got)}\nwant: ${JSON.stringify(reference)}`);
  }
  return reference;
}

/** Client-side view of translated Anthropic SSE: [event name, parsed data] per event. */
export function anthropicEvents(text: string): [string | null, any][] {
  const out: [string | null, any][] = [];
  replay(text, [], (e) => out.push([eventNameOf(e.raw), e.data === null ? null : JSON.parse(e.data)]));
  return out;
}

/** Client-side view of translated OpenAI SSE: each data payload, parsed ("[DONE]" kept as the string). */
export function openaiPayloads(text: string): any[] {
  const out: any[] = [];
  replay(text, [], (e) => {
    if (e.data !== null) out.push(e.data === "[DONE]" ? e.data : JSON.parse(e.data));
  });
  return out;
}

/** One upstream OpenAI SSE event. */
export const dataEvent = (obj: unknown) => `data: ${typeof obj === "string" ? obj : JSON.stringify(obj)}\n\n`;

/** One upstream Anthropic SSE event, named like its data's type. */
export const namedEvent = (obj: { type: string } & Record<string, unknown>) => `event: ${obj.type}\ndata: ${JSON.stringify(obj)}\n\n`;
