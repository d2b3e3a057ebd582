import { reasoningOf } from "./chat-response-to-message";
import { isRecord, recordsOf, type Json } from "./json-values";
import { stopReasonFromFinish } from "./stop-reasons";
import { NO_USAGE, toAnthropicUsage, usageFromOpenAI, type Usage } from "./usage";

/** The content block being streamed. A tool block remembers the chat tool call it carries. */
type OpenBlock = { index: number; kind: "text" | "thinking" } | { index: number; kind: "tool"; toolIndex: number; id: string };

/** One Anthropic SSE event as it goes on the wire. */
function sse(type: string, body: Json): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...body })}\n\n`;
}

/**
 * Turns a chat.completion.chunk stream into an Anthropic Messages stream, one upstream event at a time.
 * Anthropic streams content in numbered blocks that open, grow and close one after the other; the chat
 * stream has no blocks, so a block opens when the kind of delta changes (reasoning, text, another tool
 * call) and closes when the next one opens. The closing events wait for [DONE] (or `end()`), because a chat
 * upstream sends its usage in a last chunk after the one with `finish_reason`.
 */
export class ChatStreamToMessages {
  private readonly clientModel: string;
  private readonly messageId: string;
  private started = false;
  private finished = false;
  private open: OpenBlock | null = null;
  private nextIndex = 0;
  private finishReason: unknown = null;
  private usageSoFar: Usage | null = null;
  private text = "";
  /** Tool calls already streamed, by chat index and by id, so a late fragment cannot open a second block. */
  private readonly seenToolIndices = new Set<number>();
  private readonly seenToolIds = new Set<string>();

  constructor(opts: { clientModel: string; messageId: string }) {
    this.clientModel = opts.clientModel;
    this.messageId = opts.messageId;
  }

  get usage(): Usage | null {
    return this.usageSoFar;
  }

  get done(): boolean {
    return this.finished;
  }

  get generatedText(): string {
    return this.text;
  }

  /** One upstream SSE event's data (a chat.completion.chunk JSON, or "[DONE]"); returns Anthropic SSE text ("" if nothing yet). */
  feed(data: string): string {
    if (this.finished) return "";
    if (data.trim() === "[DONE]") return this.end();
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      return ""; // a comment or a broken line from the upstream: nothing a client can use
    }
    if (!isRecord(chunk)) return "";
    // Some OpenAI-compatible upstreams report a failure mid-stream as a chunk with an `error` object.
    if (isRecord(chunk.error) && !Array.isArray(chunk.choices)) {
      return this.fail(String(chunk.error.type ?? "api_error"), String(chunk.error.message ?? "The upstream stream failed."));
    }
    let out = this.start();
    const usage = usageFromOpenAI(chunk.usage);
    if (usage) this.usageSoFar = usage;
    // One answer only: the relay never asks a chat upstream for n > 1 on behalf of an Anthropic client.
    const choice = recordsOf(chunk.choices).find((c) => c.index === undefined || c.index === 0);
    if (!choice) return out;
    const delta = isRecord(choice.delta) ? choice.delta : {};
    out += this.grow("thinking", reasoningOf(delta));
    if (typeof delta.content === "string") out += this.grow("text", delta.content);
    for (const call of recordsOf(delta.tool_calls)) out += this.growTool(call);
    if (typeof choice.finish_reason === "string" && choice.finish_reason) this.finishReason = choice.finish_reason;
    return out;
  }

  /** The upstream ended (after [DONE], or without it): the closing events still owed; "" if already sent. */
  end(): string {
    if (this.finished) return "";
    const out = this.start() + this.closeOpen();
    this.finished = true;
    const usage = toAnthropicUsage(this.usageSoFar ?? NO_USAGE);
    return (
      out +
      sse("message_delta", { delta: { stop_reason: stopReasonFromFinish(this.finishReason), stop_sequence: null }, usage }) +
      sse("message_stop", {})
    );
  }

  /** An `event: error` frame for a stream that broke mid-way; after it nothing more is sent. */
  fail(type: string, message: string): string {
    if (this.finished) return "";
    this.finished = true;
    return sse("error", { error: { type, message } });
  }

  private start(): string {
    if (this.started) return "";
    this.started = true;
    const message = {
      id: this.messageId, type: "message", role: "assistant", content: [], model: this.clientModel,
      stop_reason: null, stop_sequence: null, usage: toAnthropicUsage(NO_USAGE),
    };
    return sse("message_start", { message });
  }

  private closeOpen(): string {
    if (!this.open) return "";
    const index = this.open.index;
    this.open = null;
    return sse("content_block_stop", { index });
  }

  private openBlock(block: OpenBlock, contentBlock: Json): string {
    const out = this.closeOpen() + sse("content_block_start", { index: block.index, content_block: contentBlock });
    this.open = block;
    this.nextIndex++;
    return out;
  }

  /** Text or reasoning: continues the open block of that kind, or opens one. Empty deltas open nothing. */
  private grow(kind: "text" | "thinking", piece: string): string {
    if (!piece) return "";
    this.text += piece;
    let out = "";
    if (this.open?.kind !== kind) {
      out = this.openBlock({ index: this.nextIndex, kind }, kind === "text" ? { type: "text", text: "" } : { type: "thinking", thinking: "", signature: "" });
    }
    const delta = kind === "text" ? { type: "text_delta", text: piece } : { type: "thinking_delta", thinking: piece };
    return out + sse("content_block_delta", { index: this.open!.index, delta });
  }

  /**
   * A tool-call fragment. The first fragment of a call carries its id and name; the rest carry only
   * argument text under the same `index`. Some upstreams send every call under index 0 with a new id, so
   * a new id also starts a new call.
   */
  private growTool(call: Json): string {
    const open = this.open?.kind === "tool" ? this.open : null;
    const toolIndex = typeof call.index === "number" ? call.index : (open?.toolIndex ?? 0);
    const id = typeof call.id === "string" && call.id ? call.id : null;
    const fn = isRecord(call.function) ? call.function : {};
    const args = typeof fn.arguments === "string" ? fn.arguments : "";
    let out = "";
    const continues = open !== null && open.toolIndex === toolIndex && (id === null || id === open.id);
    if (!continues) {
      // A fragment of a call whose block is closed: Anthropic blocks cannot reopen, so it is dropped.
      if (id === null ? this.seenToolIndices.has(toolIndex) : this.seenToolIds.has(id)) return "";
      const blockIndex = this.nextIndex;
      const toolId = id ?? `toolu_${this.messageId.replace(/^msg_/, "")}_${blockIndex}`;
      this.seenToolIndices.add(toolIndex);
      this.seenToolIds.add(toolId);
      const name = typeof fn.name === "string" ? fn.name : "";
      out = this.openBlock({ index: blockIndex, kind: "tool", toolIndex, id: toolId }, { type: "tool_use", id: toolId, name, input: {} });
    }
    if (!args) return out;
    this.text += args;
    return out + sse("content_block_delta", { index: this.open!.index, delta: { type: "input_json_delta", partial_json: args } });
  }
}
