import { isRecord, type Json } from "./json-values";
import { finishFromStopReason } from "./stop-reasons";
import { mergeAnthropicUsage, NO_USAGE, toOpenAIUsage, usageFromAnthropic, type Usage } from "./usage";

/**
 * Turns an Anthropic Messages stream into a chat.completion.chunk stream, one upstream event at a time.
 * Anthropic numbers content blocks across all kinds; chat numbers tool calls on their own, so each
 * block's kind and tool-call index are remembered to route its deltas. Blocks with no chat counterpart
 * (server tool use, its results, redacted thinking) are left out, their deltas too.
 */
export class MessagesStreamToChat {
  private readonly opts: { clientModel: string; chunkId: string; created: number; includeUsage: boolean };
  private started = false;
  private finished = false;
  private finishSent = false;
  private usageSoFar: Usage | null = null;
  private text = "";
  /** What each open Anthropic block carries: text, thinking, or the chat index of a tool call. */
  private readonly blocks = new Map<number, "text" | "thinking" | { tool: number }>();
  private toolCount = 0;

  constructor(opts: { clientModel: string; chunkId: string; created: number; includeUsage: boolean }) {
    this.opts = opts;
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

  /** One upstream Anthropic SSE event: its `event:` name (or null) and data JSON. Returns OpenAI SSE text. */
  feed(event: string | null, data: string): string {
    if (this.finished) return "";
    let ev: unknown;
    try {
      ev = JSON.parse(data);
    } catch {
      return "";
    }
    if (!isRecord(ev)) return "";
    const type = typeof ev.type === "string" ? ev.type : event;
    switch (type) {
      case "message_start": {
        this.usageSoFar = mergeAnthropicUsage(this.usageSoFar, usageFromAnthropic(isRecord(ev.message) ? ev.message.usage : null));
        return this.start();
      }
      case "content_block_start":
        return this.start() + this.openBlock(ev);
      case "content_block_delta":
        return this.start() + this.grow(ev);
      case "content_block_stop":
        if (typeof ev.index === "number") this.blocks.delete(ev.index);
        return "";
      case "message_delta": {
        this.usageSoFar = mergeAnthropicUsage(this.usageSoFar, usageFromAnthropic(ev.usage));
        const stop = isRecord(ev.delta) ? ev.delta.stop_reason : null;
        return this.start() + this.finish(finishFromStopReason(stop));
      }
      case "message_stop":
        return this.end();
      case "error": {
        const err = isRecord(ev.error) ? ev.error : {};
        return this.fail(String(err.type ?? "api_error"), String(err.message ?? "The upstream stream failed."));
      }
      default:
        return ""; // ping, and event types added after this was written
    }
  }

  /** The upstream ended (after message_stop, or without it): the finish, usage and [DONE] still owed. */
  end(): string {
    if (this.finished) return "";
    const out = this.start() + this.finish("stop");
    this.finished = true;
    const usage = this.opts.includeUsage
      ? `data: ${JSON.stringify({ ...this.envelope(), choices: [], usage: toOpenAIUsage(this.usageSoFar ?? NO_USAGE) })}\n\n`
      : "";
    return out + usage + "data: [DONE]\n\n";
  }

  /** An OpenAI-shaped error event for a stream that broke mid-way (the openai SDK throws on it); nothing follows. */
  fail(type: string, message: string): string {
    if (this.finished) return "";
    this.finished = true;
    return `data: ${JSON.stringify({ error: { message, type, param: null, code: null } })}\n\n`;
  }

  private envelope() {
    return { id: this.opts.chunkId, object: "chat.completion.chunk", created: this.opts.created, model: this.opts.clientModel };
  }

  private chunk(delta: Json, finishReason: string | null = null): string {
    return `data: ${JSON.stringify({ ...this.envelope(), choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }] })}\n\n`;
  }

  /** The first chunk, with the role, before anything else. */
  private start(): string {
    if (this.started) return "";
    this.started = true;
    return this.chunk({ role: "assistant", content: "" });
  }

  private finish(reason: string): string {
    if (this.finishSent) return "";
    this.finishSent = true;
    return this.chunk({}, reason);
  }

  private openBlock(ev: Json): string {
    const block = isRecord(ev.content_block) ? ev.content_block : {};
    if (typeof ev.index !== "number") return "";
    if (block.type === "text") {
      this.blocks.set(ev.index, "text");
      return this.content("content", typeof block.text === "string" ? block.text : "");
    }
    if (block.type === "thinking") {
      this.blocks.set(ev.index, "thinking");
      return this.content("reasoning_content", typeof block.thinking === "string" ? block.thinking : "");
    }
    if (block.type !== "tool_use") return "";
    const tool = this.toolCount++;
    this.blocks.set(ev.index, { tool });
    const call = { index: tool, id: String(block.id ?? ""), type: "function", function: { name: String(block.name ?? ""), arguments: "" } };
    return this.chunk({ tool_calls: [call] });
  }

  private grow(ev: Json): string {
    const kind = typeof ev.index === "number" ? this.blocks.get(ev.index) : undefined;
    const delta = isRecord(ev.delta) ? ev.delta : {};
    if (kind === "text" && delta.type === "text_delta") return this.content("content", String(delta.text ?? ""));
    if (kind === "thinking" && delta.type === "thinking_delta") return this.content("reasoning_content", String(delta.thinking ?? ""));
    if (typeof kind === "object" && delta.type === "input_json_delta") {
      const args = String(delta.partial_json ?? "");
      if (!args) return "";
      this.text += args;
      return this.chunk({ tool_calls: [{ index: kind.tool, function: { arguments: args } }] });
    }
    return ""; // signature_delta, citations_delta, and deltas of blocks left out
  }

  private content(field: "content" | "reasoning_content", piece: string): string {
    if (!piece) return "";
    this.text += piece;
    return this.chunk({ [field]: piece });
  }
}
