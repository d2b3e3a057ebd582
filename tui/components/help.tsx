import { Box, Text } from "ink";
import { BINDINGS, SCOPE_TITLES, keyLabel, type Scope } from "../keybindings";
import { fit } from "../format";

export type HelpLine = { text: string; title: boolean };

/** Every binding, grouped by scope, straight from the table. */
export function helpLines(): HelpLine[] {
  return (Object.keys(SCOPE_TITLES) as Scope[]).flatMap((scope) => [
    { text: SCOPE_TITLES[scope], title: true },
    ...BINDINGS.filter((b) => b.scope === scope).map((b) => ({
      text: `  ${b.keys.map(keyLabel).join(" ").padEnd(13)} ${b.description}`,
      title: false,
    })),
  ]);
}

/** Lines per page and columns for the help screen at this size. */
export function helpLayout(width: number, height: number) {
  const columns = Math.max(1, Math.floor(width / 46));
  const rows = Math.max(1, height - 1);
  return { columns, rows, perPage: columns * rows, colWidth: Math.floor(width / columns) };
}

/** The `?` screen: all bindings in as many columns as fit, scrolled by `offset` lines. */
export function Help({ width, height, offset }: { width: number; height: number; offset: number }) {
  const lines = helpLines();
  const { columns, rows, perPage, colWidth } = helpLayout(width, height);
  const page = lines.slice(offset, offset + perPage);
  const more = offset + perPage < lines.length;
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text bold wrap="truncate">
        Key bindings <Text dimColor>· ? or esc: close{more || offset > 0 ? " · ↑↓ j k: scroll" : ""}</Text>
      </Text>
      <Box flexDirection="row">
        {Array.from({ length: columns }, (_, c) => (
          <Box key={c} flexDirection="column" width={colWidth}>
            {page.slice(c * rows, (c + 1) * rows).map((l, i) => (
              <Text key={i} bold={l.title} color={l.title ? "cyan" : undefined} wrap="truncate">
                {fit(l.text, colWidth - 1)}
              </Text>
            ))}
          </Box>
        ))}
      </Box>
    </Box>
  );
}
