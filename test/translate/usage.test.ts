import { describe, expect, test } from "bun:test";
import { mergeAnthropicUsage, toAnthropicUsage, toOpenAIUsage, usageFromAnthropic, usageFromOpenAI } from "../../server/translate/usage";

describe("usageFromOpenAI", () => {
  test("prompt_tokens includes the cached tokens; input is what is left", () => {
    expect(usageFromOpenAI({ prompt_tokens: 120, completion_tokens: 30, total_tokens: 150, prompt_tokens_details: { cached_tokens: 100 } }))
      .toEqual({ input: 20, cacheRead: 100, cacheWrite: 0, output: 30 });
  });

  test("no details: nothing cached", () => {
    expect(usageFromOpenAI({ prompt_tokens: 7, completion_tokens: 3 })).toEqual({ input: 7, cacheRead: 0, cacheWrite: 0, output: 3 });
  });

  test("DeepSeek's prompt_cache_hit_tokens counts when prompt_tokens_details is absent", () => {
    expect(usageFromOpenAI({ prompt_tokens: 50, completion_tokens: 5, prompt_cache_hit_tokens: 40, prompt_cache_miss_tokens: 10 }))
      .toEqual({ input: 10, cacheRead: 40, cacheWrite: 0, output: 5 });
  });

  test("prompt_tokens_details wins over prompt_cache_hit_tokens", () => {
    expect(usageFromOpenAI({ prompt_tokens: 50, completion_tokens: 5, prompt_cache_hit_tokens: 40, prompt_tokens_details: { cached_tokens: 30 } }))
      .toEqual({ input: 20, cacheRead: 30, cacheWrite: 0, output: 5 });
  });

  test("the Responses API's input_tokens / input_tokens_details", () => {
    expect(usageFromOpenAI({ input_tokens: 90, output_tokens: 12, input_tokens_details: { cached_tokens: 64 }, total_tokens: 102 }))
      .toEqual({ input: 26, cacheRead: 64, cacheWrite: 0, output: 12 });
  });

  test("no numbers: null", () => {
    for (const u of [null, undefined, "x", 3, [], {}, { total_tokens: 4 }, { prompt_tokens: "7" }]) expect(usageFromOpenAI(u)).toBeNull();
  });

  test("one number is enough; the other is 0; more cached than prompt never makes input negative", () => {
    expect(usageFromOpenAI({ completion_tokens: 4 })).toEqual({ input: 0, cacheRead: 0, cacheWrite: 0, output: 4 });
    expect(usageFromOpenAI({ prompt_tokens: 5, prompt_tokens_details: { cached_tokens: 9 } })).toEqual({ input: 0, cacheRead: 5, cacheWrite: 0, output: 0 });
  });
});

describe("usageFromAnthropic and mergeAnthropicUsage", () => {
  test("all four fields", () => {
    expect(usageFromAnthropic({ input_tokens: 20, output_tokens: 1, cache_creation_input_tokens: 5, cache_read_input_tokens: 100 }))
      .toEqual({ input: 20, output: 1, cacheWrite: 5, cacheRead: 100 });
  });

  test("only the fields present (a message_delta); nulls are absent; nothing is null", () => {
    expect(usageFromAnthropic({ output_tokens: 30, input_tokens: null })).toEqual({ output: 30 });
    expect(usageFromAnthropic({})).toBeNull();
    expect(usageFromAnthropic(null)).toBeNull();
  });

  test("later fields replace earlier ones; output_tokens is cumulative, never summed", () => {
    const start = mergeAnthropicUsage(null, usageFromAnthropic({ input_tokens: 20, output_tokens: 1, cache_creation_input_tokens: 5, cache_read_input_tokens: 100 }));
    const mid = mergeAnthropicUsage(start, usageFromAnthropic({ output_tokens: 12 }));
    const end = mergeAnthropicUsage(mid, usageFromAnthropic({ output_tokens: 30, input_tokens: 21 }));
    expect(end).toEqual({ input: 21, cacheRead: 100, cacheWrite: 5, output: 30 });
  });

  test("a first partial fills the rest with zeros; nothing merged into nothing stays null", () => {
    expect(mergeAnthropicUsage(null, { output: 3 })).toEqual({ input: 0, cacheRead: 0, cacheWrite: 0, output: 3 });
    expect(mergeAnthropicUsage(null, null)).toBeNull();
    const acc = { input: 1, cacheRead: 2, cacheWrite: 3, output: 4 };
    expect(mergeAnthropicUsage(acc, null)).toEqual(acc);
  });
});

describe("usage out", () => {
  const u = { input: 20, cacheRead: 100, cacheWrite: 5, output: 30 };
  test("OpenAI: prompt_tokens counts input, cache reads and cache writes", () => {
    expect(toOpenAIUsage(u)).toEqual({ prompt_tokens: 125, completion_tokens: 30, total_tokens: 155, prompt_tokens_details: { cached_tokens: 100 } });
  });
  test("Anthropic: each field as it is", () => {
    expect(toAnthropicUsage(u)).toEqual({ input_tokens: 20, output_tokens: 30, cache_creation_input_tokens: 5, cache_read_input_tokens: 100 });
  });
  test("OpenAI → normalised → OpenAI keeps the numbers", () => {
    const openai = { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150, prompt_tokens_details: { cached_tokens: 100 } };
    expect(toOpenAIUsage(usageFromOpenAI(openai)!)).toEqual(openai);
  });
});
