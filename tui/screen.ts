/**
 * The terminal's alternate screen (what vim and htop use): entered at start, left exactly once on any
 * exit — quit, crash, signal — so the shell's screen comes back intact.
 */
export function enterAlternateScreen(out: NodeJS.WriteStream = process.stdout): { leave: () => void } {
  let inside = true;
  out.write("\x1b[?1049h\x1b[H");
  const leave = () => {
    if (!inside) return;
    inside = false;
    try {
      out.write("\x1b[?25h\x1b[?1049l");
    } catch {
      /* the terminal is gone: nothing to restore */
    }
  };
  process.once("exit", leave);
  return { leave };
}
