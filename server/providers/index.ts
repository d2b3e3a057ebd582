import type { LiveChannel } from "../channels/registry";
import type { ProviderAdapter } from "./types";
import { openAIAdapter } from "./openai";

/** The adapter of a channel's type. */
export function adapterOf(_channel: LiveChannel): ProviderAdapter {
  return openAIAdapter;
}
