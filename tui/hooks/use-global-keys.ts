import { useInput } from "ink";
import { commandFor, keyName, type Command } from "../keybindings";

type Options = {
  /** A view's form, question, picker or filter has every key now. */
  isCaptured: () => boolean;
  helpOpen: () => boolean;
  onCommand: (command: Command, name: string) => void;
  /** Keys while the help screen is open: its own scrolling (list keys) and closing. */
  onHelpKey: (command: Command | undefined) => void;
  isActive: boolean;
};

/**
 * The keys that work everywhere (quit, help, switching views). A chunk of several characters is pasted
 * text, never a command, so pasting never quits or switches views.
 */
export function useGlobalKeys(o: Options): void {
  useInput(
    (input, key) => {
      const name = keyName(input, key);
      if (name === input && [...input].length > 1) return;
      if (o.helpOpen()) return o.onHelpKey(commandFor(["global", "list"], name));
      if (o.isCaptured()) return;
      const c = commandFor(["global"], name);
      if (c) o.onCommand(c, name);
    },
    { isActive: o.isActive },
  );
}
