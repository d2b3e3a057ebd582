import { Box, Text } from "ink";
import { fitOffset } from "../state/list";

/** Choose one of `options` (up/down, enter); the chosen one is marked as a form marks its field, so it shows without colour too. */
export function Picker({ title, options, index, width, height }: { title: string; options: readonly string[]; index: number; width: number; height: number }) {
  const rows = Math.max(1, height - 4);
  const offset = fitOffset(0, index, rows, options.length);
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="cyan" paddingX={1} width={Math.min(width, 50)}>
      <Text bold>{title}</Text>
      {options.length === 0 ? <Text dimColor>(nothing to choose)</Text> : null}
      {options.slice(offset, offset + rows).map((o, i) => (
        <Text key={o} wrap="truncate">
          <Text color="cyan">{offset + i === index ? "› " : "  "}</Text>
          <Text inverse={offset + i === index}>{o}</Text>
        </Text>
      ))}
    </Box>
  );
}
