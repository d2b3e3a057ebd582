import { useWindowSize } from "ink";

export type Size = { columns: number; rows: number };

/** The terminal's size, following resizes; `override` pins it (tests). Clamped so layout maths never goes negative. */
export function useTerminalSize(override?: Partial<Size>): Size {
  const size = useWindowSize();
  return {
    columns: Math.max(40, override?.columns ?? size.columns),
    rows: Math.max(12, override?.rows ?? size.rows),
  };
}
