import { useCallback, useRef, useState } from "react";

/**
 * `useReducer` whose current state can also be read synchronously (`get`). Key handlers read it, so
 * several keys arriving in one chunk ("alice\r") each see the state the previous one produced.
 */
export function useSyncReducer<S, A>(reducer: (s: S, a: A) => S, initial: S) {
  const ref = useRef(initial);
  const [state, setState] = useState(initial);
  const dispatch = useCallback(
    (a: A) => {
      const next = reducer(ref.current, a);
      if (next === ref.current) return;
      ref.current = next;
      setState(next);
    },
    [reducer],
  );
  const get = useCallback(() => ref.current, []);
  return [state, dispatch, get] as const;
}
