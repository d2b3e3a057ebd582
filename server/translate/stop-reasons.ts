/**
 * Why a generation ended, in each API's words. Unknown values map to the plain "finished" of the other
 * side rather than failing: a client can always handle a normal end, never a value it does not know.
 */

const STOP_REASON_OF_FINISH: Record<string, string> = {
  stop: "end_turn",
  length: "max_tokens",
  tool_calls: "tool_use",
  function_call: "tool_use",
  content_filter: "refusal",
};

const FINISH_OF_STOP_REASON: Record<string, string> = {
  end_turn: "stop",
  stop_sequence: "stop",
  max_tokens: "length",
  // The context window filled up: to an OpenAI client that is running out of room, like `length`.
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
  // A server tool loop paused; the OpenAI shape has no such state, and the turn did end normally.
  pause_turn: "stop",
};

/** An OpenAI `finish_reason` as an Anthropic `stop_reason`. */
export function stopReasonFromFinish(finish: unknown): string {
  return (typeof finish === "string" && Object.hasOwn(STOP_REASON_OF_FINISH, finish) && STOP_REASON_OF_FINISH[finish]) || "end_turn";
}

/** An Anthropic `stop_reason` as an OpenAI `finish_reason`. */
export function finishFromStopReason(stop: unknown): string {
  return (typeof stop === "string" && Object.hasOwn(FINISH_OF_STOP_REASON, stop) && FINISH_OF_STOP_REASON[stop]) || "stop";
}
