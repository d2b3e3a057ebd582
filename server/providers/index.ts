import type { LiveChannel } from "../channels/registry";
import type { ProviderAdapter } from "./types";
import { openAIAdapter } from "./openai";
import { anthropicAdapter } from "./anthropic";
import { azureAdapter } from "./azure";

const adapters: Record<LiveChannel["row"]["type"], ProviderAdapter> = {
  openai: openAIAdapter,
  anthropic: anthropicAdapter,
  azure: azureAdapter,
};

/** The adapter of a channel's type. */
export function adapterOf(channel: LiveChannel): ProviderAdapter {
  return adapters[channel.row.type];
}
