import { Box, Text } from "ink";
import { fit, text } from "../format";
import { wrapText } from "../state/text";

/** Lines a `wrap` field may take before it is cut. */
const WRAP_LINES = 3;

/** A name and its value; a `wrap` value too long for its line goes on under itself instead of being cut. */
export type Field = [name: string, value: unknown, opts?: { wrap?: boolean }];

/** Name/value lines of one record, cut to the pane. */
export function Details({ title, fields, width, height }: { title: string; fields: Field[]; width: number; height: number }) {
  const nameWidth = Math.min(18, Math.max(...fields.map(([k]) => k.length), 4));
  const valueWidth = Math.max(4, width - nameWidth - 2);
  const lines = fields.flatMap(([k, v, opts]) =>
    (opts?.wrap ? wrapText(text(v), valueWidth, WRAP_LINES) : [text(v)]).map((part, i) => ({ key: `${k}/${i}`, name: i ? "" : k, part })),
  );
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text bold wrap="truncate">{fit(title, width)}</Text>
      {lines.slice(0, Math.max(0, height - 1)).map(({ key, name, part }) => (
        <Text key={key} wrap="truncate">
          <Text dimColor>{fit(name, nameWidth)}</Text>  {fit(part, valueWidth)}
        </Text>
      ))}
    </Box>
  );
}
