import { useCallback, useEffect, useRef, useState } from "react";
import { describeError } from "../state/status";

export type Poll<T> = { data: T | undefined; error: string | null; refresh: () => void };

/**
 * Loads now and then every `intervalMs`, never two loads at once. State changes only when the loaded
 * JSON differs from the last one, so an unchanged list does not re-render (no flicker). Errors are
 * kept as a message next to the last good data.
 */
export function usePoll<T>(load: () => Promise<T>, intervalMs: number, deps: readonly unknown[] = [], enabled = true): Poll<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const loadRef = useRef(load);
  loadRef.current = load;
  const tickRef = useRef<() => void>(() => {});

  useEffect(() => {
    setData(undefined);
    setError(null);
    if (!enabled) return;
    let alive = true;
    let running = false;
    let again = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let last = "";
    const tick = async () => {
      if (!alive) return;
      if (running) {
        again = true;
        return;
      }
      running = true;
      clearTimeout(timer);
      try {
        const next = await loadRef.current();
        const json = JSON.stringify(next);
        if (alive && json !== last) {
          last = json;
          setData(next);
        }
        if (alive) setError(null);
      } catch (e) {
        if (alive) setError(describeError(e));
      } finally {
        running = false;
        if (alive) {
          if (again) {
            again = false;
            void tick();
          } else timer = setTimeout(() => void tick(), intervalMs);
        }
      }
    };
    tickRef.current = () => void tick();
    void tick();
    return () => {
      alive = false;
      clearTimeout(timer);
      tickRef.current = () => {};
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `deps` are the caller's reload triggers
  }, [intervalMs, enabled, ...deps]);

  const refresh = useCallback(() => tickRef.current(), []);
  return { data, error, refresh };
}
