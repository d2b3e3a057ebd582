import { arrayOf, isRecord, type Json } from "./json-values";

/**
 * One Anthropic message (a turn of the conversation) as the OpenAI chat messages that say the same.
 * Only what a chat upstream understands is rebuilt; everything else (cache_control, citations, thinking,
 * server-tool blocks, documents that are not text) is left behind, so it can never cause a 400 upstream.
 */
export function chatMessagesOfTurn(turn: Json): Json[] {
  if (turn.role === "assistant") return assistantMessages(turn.content);
  if (turn.role === "system") {
    const text = textOfBlocks(turn.content);
    return text ? [{ role: "system", content: text }] : [];
  }
  return userMessages(turn.content);
}

/** Text blocks (or a plain string) as one string; separate blocks read as separate lines. */
export function textOfBlocks(content: unknown): string {
  if (typeof content === "string") return content;
  return arrayOf(content)
    .filter((b) => isRecord(b) && b.type === "text" && typeof b.text === "string")
    .map((b) => (b as { text: string }).text)
    .join("\n");
}

function imagePart(block: Json): Json | null {
  const src = block.source;
  if (!isRecord(src)) return null;
  if (src.type === "base64" && typeof src.data === "string") {
    return { type: "image_url", image_url: { url: `data:${String(src.media_type ?? "image/png")};base64,${src.data}` } };
  }
  if (src.type === "url" && typeof src.url === "string") return { type: "image_url", image_url: { url: src.url } };
  return null; // a Files API reference: the chat upstream cannot fetch it
}

/** A user content block as a chat content part, or null when the chat API has nothing like it. */
function userPart(block: Json): Json | null {
  if (block.type === "text" && typeof block.text === "string") return { type: "text", text: block.text };
  if (block.type === "image") return imagePart(block);
  const src = block.source;
  if (block.type === "document" && isRecord(src) && src.type === "text" && typeof src.data === "string") {
    return { type: "text", text: src.data };
  }
  return null;
}

/**
 * Tool results become `role:"tool"` messages, first, because the chat API wants them right after the
 * assistant message that called the tools. A tool message carries text only, so images a tool returned
 * (a screenshot, a file read) move into the user message that follows.
 */
function userMessages(content: unknown): Json[] {
  if (typeof content === "string") return [{ role: "user", content }];
  const tools: Json[] = [];
  const parts: Json[] = [];
  const toolImages: Json[] = [];
  for (const block of arrayOf(content)) {
    if (!isRecord(block)) continue;
    if (block.type === "tool_result") {
      tools.push({ role: "tool", tool_call_id: String(block.tool_use_id ?? ""), content: textOfBlocks(block.content ?? "") });
      for (const b of arrayOf(block.content)) {
        const img = isRecord(b) && b.type === "image" ? imagePart(b) : null;
        if (img) toolImages.push(img);
      }
      continue;
    }
    const part = userPart(block);
    if (part) parts.push(part);
  }
  const all = [...toolImages, ...parts];
  if (all.length === 0) return tools;
  // Text-only content goes as a string: several OpenAI-compatible upstreams reject content arrays.
  const textOnly = all.every((p) => p.type === "text");
  return [...tools, { role: "user", content: textOnly ? all.map((p) => p.text).join("\n") : all }];
}

function assistantMessages(content: unknown): Json[] {
  if (typeof content === "string") return [{ role: "assistant", content }];
  const texts: string[] = [];
  const toolCalls: Json[] = [];
  for (const block of arrayOf(content)) {
    if (!isRecord(block)) continue;
    if (block.type === "text" && typeof block.text === "string") texts.push(block.text);
    if (block.type === "tool_use") {
      toolCalls.push({ id: String(block.id ?? ""), type: "function", function: { name: String(block.name ?? ""), arguments: JSON.stringify(block.input ?? {}) } });
    }
  }
  // A turn of thinking blocks only says nothing a chat upstream can take; an empty assistant message would be a 400.
  if (texts.length === 0 && toolCalls.length === 0) return [];
  // A model's text blocks are one answer cut into pieces (around citations or tool calls): joined as written.
  const msg: Json = { role: "assistant", content: texts.length > 0 ? texts.join("") : null };
  if (toolCalls.length > 0) msg.tool_calls = toolCalls;
  return [msg];
}
