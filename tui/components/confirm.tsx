import { Box, Text } from "ink";

/** A yes/no question in place of the list. */
export function Confirm({ prompt, width }: { prompt: string; width: number }) {
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="yellow" paddingX={1} width={Math.min(width, 76)}>
      <Text>{prompt}</Text>
      <Text dimColor>y: yes · n / esc: no</Text>
    </Box>
  );
}
