import { useInput } from "ink";
import { commandFor, keysOf, type Command } from "../keybindings";

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
      // esc ends whatever takes every key (each of those scopes binds it), so a key that came in the same
      // event right behind it is not captured; the view may not have handled that esc yet.
      let released = false;
      for (const { name, input: text } of keysOf(input, key)) {
        if (name === text && [...text].length > 1) return;
        if (o.helpOpen()) o.onHelpKey(commandFor(["global", "list"], name));
        else if (released || !o.isCaptured()) {
          const c = commandFor(["global"], name);
          if (c) o.onCommand(c, name);
        }
        if (name === "esc") released = true;
      }
    },
    { isActive: o.isActive },
  );
}
