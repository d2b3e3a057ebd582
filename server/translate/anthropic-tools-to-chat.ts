import { isRecord, recordsOf, type Json } from "./json-values";

/**
 * Anthropic `tools` and `tool_choice` as chat fields. Server tools (web search, code execution, …: any
 * `type` other than "custom") run inside Anthropic's API, which a chat upstream cannot do, so they are left
 * out. With no function tools left, no tool field is sent at all: a chat API rejects `tool_choice` alone.
 */
export function chatToolFields(body: Json): Json {
  const tools = recordsOf(body.tools)
    .filter((t) => (t.type === undefined || t.type === null || t.type === "custom") && typeof t.name === "string")
    .map((t) => {
      const fn: Json = { name: t.name, parameters: isRecord(t.input_schema) ? t.input_schema : { type: "object", properties: {} } };
      if (typeof t.description === "string") fn.description = t.description;
      if (typeof t.strict === "boolean") fn.strict = t.strict;
      return { type: "function", function: fn };
    });
  if (tools.length === 0) return {};
  const out: Json = { tools };
  const choice = body.tool_choice;
  if (!isRecord(choice)) return out;
  const names = new Set(tools.map((t) => t.function.name));
  const mapped = toolChoiceOf(choice, names);
  if (mapped !== null) out.tool_choice = mapped;
  if (choice.disable_parallel_tool_use === true) out.parallel_tool_calls = false;
  return out;
}

function toolChoiceOf(choice: Json, names: Set<unknown>): unknown {
  switch (choice.type) {
    case "auto":
      return "auto";
    case "any":
      return "required";
    case "none":
      return "none";
    case "tool":
      // Forcing a tool that was left out (a server tool) would be a 400 upstream; let the model choose instead.
      return names.has(choice.name) ? { type: "function", function: { name: choice.name } } : "auto";
    default:
      return null;
  }
}
