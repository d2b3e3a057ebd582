import { Text } from "ink";
import { fit, num } from "../format";
import { resample, sparkline } from "../state/timeline";

/** "label ▁▃█▂ max N": one series squeezed into the width left after the label and the maximum. */
export function Sparkline({ label, values, width }: { label: string; values: readonly number[]; width: number }) {
  const total = values.reduce((a, b) => a + b, 0);
  const tail = ` Σ ${num(total)}`;
  const cells = resample(values, Math.max(4, width - 10 - tail.length));
  return (
    <Text wrap="truncate">
      <Text dimColor>{fit(label, 9)} </Text>
      <Text color="cyan">{sparkline(cells)}</Text>
      <Text dimColor>{tail}</Text>
    </Text>
  );
}
