import { arrayOf, isRecord, parseArguments, recordsOf, type Json } from "./json-values";

/**
 * OpenAI chat messages as Anthropic's `system` and `messages`. Anthropic takes the system prompt apart
 * from the conversation, wants user and assistant turns to alternate, rejects empty and whitespace-only
 * text blocks, and wants a user turn's tool results before its other content; this shapes the chat
 * history to fit all of that.
 */
export function messagesOfChat(chatMessages: unknown): { system: string; messages: Json[] } {
  const system: string[] = [];
  const turns: { role: "user" | "assistant"; content: Json[] }[] = [];
  for (const m of recordsOf(chatMessages)) {
    if (m.role === "system" || m.role === "developer") {
      const text = textOfParts(m.content);
      if (text) system.push(text);
      continue;
    }
    const turn = turnOf(m);
    if (!turn || turn.content.length === 0) continue;
    const last = turns.at(-1);
    // Consecutive tool messages (parallel calls) and same-role messages join into one turn.
    if (last && last.role === turn.role) last.content.push(...turn.content);
    else turns.push(turn);
  }
  return { system: system.join("\n\n"), messages: turns.map((t) => ({ role: t.role, content: resultsFirst(t.content) })) };
}

/** Text content (a string or text/refusal parts) as one string. */
export function textOfParts(content: unknown): string {
  if (typeof content === "string") return content;
  return arrayOf(content)
    .map((p) => (isRecord(p) ? (typeof p.text === "string" ? p.text : typeof p.refusal === "string" ? p.refusal : "") : ""))
    .filter((t) => t.length > 0)
    .join("\n");
}

function turnOf(m: Json): { role: "user" | "assistant"; content: Json[] } | null {
  if (m.role === "user") return { role: "user", content: userBlocks(m.content) };
  if (m.role === "assistant") return { role: "assistant", content: assistantBlocks(m) };
  if (m.role === "tool") {
    const block: Json = { type: "tool_result", tool_use_id: String(m.tool_call_id ?? "") };
    const text = textOfParts(m.content);
    // An empty tool output is sent as no content at all: the field is optional, an empty block is not valid.
    if (text) block.content = text;
    return { role: "user", content: [block] };
  }
  return null; // the legacy `function` role and anything unknown
}

function textBlock(text: string): Json[] {
  return text.trim() ? [{ type: "text", text }] : [];
}

function userBlocks(content: unknown): Json[] {
  if (typeof content === "string") return textBlock(content);
  const out: Json[] = [];
  for (const p of recordsOf(content)) {
    if (p.type === "text" && typeof p.text === "string") out.push(...textBlock(p.text));
    if (p.type === "image_url") {
      const url = isRecord(p.image_url) ? p.image_url.url : p.image_url;
      const block = typeof url === "string" ? imageBlock(url) : null;
      if (block) out.push(block);
    }
    // input_audio and file parts have no Messages counterpart here and are left out.
  }
  return out;
}

function imageBlock(url: string): Json | null {
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (data) return { type: "image", source: { type: "base64", media_type: data[1], data: data[2] } };
  if (/^https?:\/\//i.test(url)) return { type: "image", source: { type: "url", url } };
  return null;
}

function assistantBlocks(m: Json): Json[] {
  const out = textBlock(textOfParts(m.content));
  for (const call of recordsOf(m.tool_calls)) {
    const fn = isRecord(call.function) ? call.function : {};
    out.push({ type: "tool_use", id: String(call.id ?? ""), name: String(fn.name ?? ""), input: parseArguments(fn.arguments) });
  }
  return out;
}

/** Anthropic rejects a user turn whose tool results do not come first; keep every other order as it was. */
function resultsFirst(content: Json[]): Json[] {
  return [...content.filter((b) => b.type === "tool_result"), ...content.filter((b) => b.type !== "tool_result")];
}
