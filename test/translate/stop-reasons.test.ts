import { expect, test } from "bun:test";
import { finishFromStopReason, stopReasonFromFinish } from "../../server/translate/stop-reasons";

test("finish_reason → stop_reason", () => {
  const cases: [unknown, string][] = [
    ["stop", "end_turn"], ["length", "max_tokens"], ["tool_calls", "tool_use"], ["function_call", "tool_use"],
    ["content_filter", "refusal"], ["something_new", "end_turn"], [null, "end_turn"], [undefined, "end_turn"], ["toString", "end_turn"],
  ];
  for (const [finish, stop] of cases) expect([finish, stopReasonFromFinish(finish)]).toEqual([finish, stop]);
});

test("stop_reason → finish_reason", () => {
  const cases: [unknown, string][] = [
    ["end_turn", "stop"], ["stop_sequence", "stop"], ["max_tokens", "length"], ["tool_use", "tool_calls"],
    ["refusal", "content_filter"], ["pause_turn", "stop"], ["model_context_window_exceeded", "length"],
    ["something_new", "stop"], [null, "stop"], ["constructor", "stop"],
  ];
  for (const [stop, finish] of cases) expect([stop, finishFromStopReason(stop)]).toEqual([stop, finish]);
});
