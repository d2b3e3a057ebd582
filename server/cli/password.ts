import { UsageError } from "./args";

/** Reads a password from stdin when piped, or prompts without echo on a terminal. Never from argv. */
export async function readPassword(): Promise<string> {
  let text: string;
  if (process.stdin.isTTY) {
    process.stderr.write("New password: ");
    process.stdin.setRawMode(true);
    text = await new Promise<string>((resolve) => {
      let buf = "";
      const onData = (d: Buffer) => {
        for (const ch of d.toString("utf8")) {
          if (ch === "\r" || ch === "\n") {
            process.stdin.setRawMode(false);
            process.stdin.off("data", onData);
            process.stdin.pause();
            process.stderr.write("\n");
            return resolve(buf);
          }
          if (ch === "\u0003") process.exit(130);
          buf = ch === "\u007f" ? buf.slice(0, -1) : buf + ch;
        }
      };
      process.stdin.on("data", onData);
    });
  } else {
    text = (await Bun.stdin.text()).replace(/\r?\n$/, "");
  }
  if (text.length < 8) throw new UsageError("the password must be at least 8 characters");
  return text;
}
