import { Box, Text } from "ink";
import { fit, text } from "../format";

/** Name/value lines of one record, cut to the pane. */
export function Details({ title, fields, width, height }: { title: string; fields: [string, unknown][]; width: number; height: number }) {
  const nameWidth = Math.min(18, Math.max(...fields.map(([k]) => k.length), 4));
  const valueWidth = Math.max(4, width - nameWidth - 2);
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text bold wrap="truncate">{fit(title, width)}</Text>
      {fields.slice(0, Math.max(0, height - 1)).map(([k, v]) => (
        <Text key={k} wrap="truncate">
          <Text dimColor>{fit(k, nameWidth)}</Text>  {fit(text(v), valueWidth)}
        </Text>
      ))}
    </Box>
  );
}
