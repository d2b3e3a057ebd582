import { Box, Text } from "ink";
import { VIEWS, VIEW_TITLES, type ViewId } from "../state/navigation";

/** `mode` is empty in embedded mode; in a cluster it names the instances alive (health is per instance). */
export type HealthLine = { status: string; listen: string; version: string; uptime: string; mode?: string };

/** Server address and health on the first line, the views as numbered tabs on the second. */
export function Header({ health, error, view, width }: { health?: HealthLine; error: string | null; view: ViewId; width: number }) {
  const ok = !error && health?.status === "ok";
  // Every tab padded on both sides when that fits; at 80 columns one space apart, so all nine still show.
  const roomy = VIEWS.reduce((n, v, i) => n + `${i + 1}`.length + VIEW_TITLES[v].length + 3, 0) <= width;
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate">
        <Text bold color="cyan">relay</Text>
        <Text dimColor> {health ? `v${health.version}` : ""} </Text>
        <Text>{health?.listen ?? "…"}</Text>
        <Text color={ok ? "green" : "red"}> ● {error ? `unreachable: ${error}` : (health?.status ?? "connecting")}</Text>
        {health && !error ? <Text dimColor>{health.mode ? ` · ${health.mode}` : ""} · up {health.uptime}</Text> : null}
      </Text>
      <Text wrap="truncate">
        {VIEWS.map((v, i) => (
          <Text key={v} inverse={v === view} bold={v === view}>
            {roomy ? ` ${i + 1} ${VIEW_TITLES[v]} ` : ` ${i + 1} ${VIEW_TITLES[v]}`}
          </Text>
        ))}
      </Text>
    </Box>
  );
}
