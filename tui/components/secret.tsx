import { Box, Text } from "ink";
import { useNow } from "../hooks/use-now";

/** A key shown in full: once after creation, or for a few seconds after a reveal (with a countdown). */
export function Secret({ title, secret, note, hideAt, width }: { title: string; secret: string; note: string; hideAt: number | null; width: number }) {
  const now = useNow(1000, hideAt !== null);
  const left = hideAt === null ? null : Math.max(0, Math.ceil((hideAt - now) / 1000));
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="green" paddingX={1} width={Math.min(width, Math.max(60, secret.length + 4))}>
      <Text bold>{title}</Text>
      <Text color="yellowBright" bold>{secret}</Text>
      <Text dimColor>{note}</Text>
      <Text dimColor>{left === null ? "esc / enter: hide" : `hidden in ${left} s · esc / enter: hide now`}</Text>
    </Box>
  );
}
