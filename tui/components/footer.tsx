import { Text } from "ink";
import { fitHints, hintsFor, type Relabel, type Scope } from "../keybindings";

/** The keys of what has focus now, drawn from the keybinding table; help and quit always fit. */
export function Footer({ scopes, relabel, width }: { scopes: readonly Scope[]; relabel?: Relabel; width: number }) {
  const hints = fitHints(hintsFor(scopes, relabel), width);
  return (
    <Text wrap="truncate">
      {hints.map((h, i) => (
        <Text key={i}>
          <Text bold color="cyan">{h.keys}</Text>
          <Text dimColor> {h.hint}  </Text>
        </Text>
      ))}
    </Text>
  );
}
