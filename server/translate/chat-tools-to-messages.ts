import { isRecord, recordsOf, type Json } from "./json-values";

/**
 * Chat `tools`, `tool_choice` and `parallel_tool_calls` as Anthropic fields. Only function tools have a
 * counterpart (custom grammar tools do not). With no tools, no tool field is sent at all.
 */
export function messagesToolFields(body: Json): Json {
  const tools = recordsOf(body.tools)
    .filter((t) => t.type === "function" && isRecord(t.function) && typeof t.function.name === "string")
    .map((t) => {
      const fn = t.function as Json;
      const tool: Json = { name: fn.name, input_schema: isRecord(fn.parameters) ? fn.parameters : { type: "object", properties: {} } };
      if (typeof fn.description === "string") tool.description = fn.description;
      return tool;
    });
  if (tools.length === 0) return {};
  let choice = toolChoiceOf(body.tool_choice);
  if (body.parallel_tool_calls === false) {
    choice ??= { type: "auto" };
    // "none" takes no such flag, and with no tool called there is nothing to run in parallel anyway.
    if (choice.type !== "none") choice = { ...choice, disable_parallel_tool_use: true };
  }
  return choice ? { tools, tool_choice: choice } : { tools };
}

function toolChoiceOf(c: unknown): Json | null {
  if (c === "auto") return { type: "auto" };
  if (c === "required") return { type: "any" };
  if (c === "none") return { type: "none" };
  if (isRecord(c) && c.type === "function" && isRecord(c.function) && typeof c.function.name === "string") {
    return { type: "tool", name: c.function.name };
  }
  return null; // allowed_tools and anything unknown: the default, auto
}
