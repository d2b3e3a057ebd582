import { Box, Text } from "ink";
import { helpOf, type FormState } from "../state/form";
import { fit } from "../format";

/** A form in place of the list: one line per field, the focused one marked, the error under them. */
export function Form({ form, width }: { form: FormState; width: number }) {
  const labelWidth = Math.max(...form.fields.map((f) => f.label.length)) + 1;
  const boxWidth = Math.min(width, 100);
  const valueWidth = Math.max(8, boxWidth - labelWidth - 8);
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="cyan" paddingX={1} width={boxWidth}>
      <Text bold>{form.title}</Text>
      {form.fields.map((f, i) => {
        const focused = i === form.focus;
        const raw = form.values[f.name] ?? "";
        const shown = f.kind === "secret" ? "•".repeat(raw.length) : f.kind === "choice" ? `‹ ${raw} ›` : raw;
        const tail = focused && f.kind !== "choice" ? "▏" : "";
        const help = focused ? helpOf(form, f) : undefined;
        const value = [...shown].length + tail.length > valueWidth ? "…" + [...shown].slice(-(valueWidth - 2)).join("") : shown;
        return (
          <Text key={f.name} wrap="truncate">
            <Text color={focused ? "cyan" : undefined}>{focused ? "›" : " "} {fit(f.label + (f.required ? "*" : ""), labelWidth)}</Text>
            <Text inverse={focused && f.kind === "choice"}>{value}</Text>
            <Text color="cyan">{tail}</Text>
            {help ? <Text dimColor>  {help}</Text> : null}
          </Text>
        );
      })}
      {form.error ? <Text color="red" wrap="truncate">{form.error}</Text> : null}
      <Text dimColor>{form.busy ? "sending…" : "tab/↓ next · enter on the last field: submit · esc: cancel"}</Text>
    </Box>
  );
}
