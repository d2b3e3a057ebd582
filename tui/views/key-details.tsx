import { Box, Text } from "ink";
import type { KeysApi } from "../api";
import type { KeyRow } from "../types";
import { usePoll } from "../hooks/use-poll";
import { Details } from "../components/details";
import { Sparklines } from "../components/sparkline";
import { hourlySeries, type TimelinePoint } from "../state/timeline";
import { num, when } from "../format";

export const TIMELINE_HOURS = 72;

const perMinute = (k: KeyRow) => (k.rpm === null && k.tpm === null ? "no caps of its own" : `${k.rpm === null ? "-" : num(k.rpm)} requests, ${k.tpm === null ? "-" : num(k.tpm)} tokens`);

/** One key's fields and its requests and tokens per hour over the last 72 hours. */
export function KeyDetails({ api, k, owner, width, height, pollMs }: { api: Pick<KeysApi, "keyTimeline">; k: KeyRow; owner: string; width: number; height: number; pollMs: number }) {
  const timeline = usePoll(() => api.keyTimeline(k.id, TIMELINE_HOURS).then((r) => r.data as TimelinePoint[]), Math.max(pollMs, 5000), [k.id]);
  const series = hourlySeries(timeline.data ?? [], TIMELINE_HOURS, Date.now());
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Details
        title={`Key #${k.id} ${k.prefix}`}
        width={width}
        height={Math.max(2, height - 4)}
        fields={[
          ["owner", `${owner} (${k.kind} key)`], ["label", k.label], ["enabled", k.enabled], ["group", k.group], ["scopes", k.scopes],
          ["models", k.models ?? "all"], ["allowed IPs", k.allowIps.length ? k.allowIps : "anywhere"],
          ["spent", `${num(k.spent)} of ${k.spendLimit === null ? "unlimited" : num(k.spendLimit)}`], ["per minute", perMinute(k)],
          ["expires", k.expiresAt ? when(k.expiresAt) : "never"], ["reveal", k.revealable ? "r (asks first; audited)" : "write-once: relay keeps no copy"],
          ["last used", when(k.lastUsedAt)], ["created", when(k.createdAt)],
        ]}
      />
      <Text bold wrap="truncate">
        Last {TIMELINE_HOURS} h, per hour{timeline.error ? <Text color="red"> ✗ {timeline.error}</Text> : timeline.data ? null : <Text dimColor> loading…</Text>}
      </Text>
      <Sparklines series={[{ label: "requests", values: series.requests }, { label: "tokens", values: series.tokens }]} width={width} />
    </Box>
  );
}
