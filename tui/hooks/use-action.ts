import { useCallback } from "react";
import { describeError } from "../state/status";
import { useUi } from "./use-ui";

/**
 * Runs an admin action with its progress and outcome on the status line. A failure never escapes:
 * it becomes an error line and the promise resolves to `undefined`.
 */
export function useAction() {
  const ui = useUi();
  return useCallback(
    async <T>(label: string, fn: () => Promise<T>, done?: (result: T) => string | void): Promise<T | undefined> => {
      ui.report({ kind: "busy", text: `${label}…` });
      try {
        const result = await fn();
        ui.report({ kind: "info", text: done?.(result) || `${label}: done` });
        return result;
      } catch (e) {
        ui.report({ kind: "error", text: `${label}: ${describeError(e)}` });
        return undefined;
      }
    },
    [ui],
  );
}
