import { Text } from "ink";
import type { Status } from "../state/status";

const COLORS = { info: "green", error: "red", busy: "yellow" } as const;

/** The outcome of the last action (errors in red), one line. */
export function StatusLine({ status }: { status: Status }) {
  if (!status) return <Text> </Text>;
  return (
    <Text color={COLORS[status.kind]} wrap="truncate">
      {status.kind === "error" ? "✗ " : status.kind === "busy" ? "… " : "✓ "}
      {status.text}
    </Text>
  );
}
