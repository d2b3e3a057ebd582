import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BINDINGS, bindingsMarkdown, commandFor, fitHints, hintsFor, keyName, SCOPE_TITLES, type Scope } from "../../tui/keybindings";

describe("the keybinding table", () => {
  test("no key means two things in one scope, nor in a view's scope and the list scope", () => {
    const scopes = Object.keys(SCOPE_TITLES) as Scope[];
    for (const scope of scopes) {
      const keys = BINDINGS.filter((b) => b.scope === scope).flatMap((b) => [...b.keys]);
      expect(new Set(keys).size).toBe(keys.length);
    }
    const keysOf = (scope: Scope) => new Set<string>(BINDINGS.filter((b) => b.scope === scope).flatMap((b) => [...b.keys]));
    const list = keysOf("list");
    const global = keysOf("global");
    for (const view of ["users", "keys", "channels", "ledger"] as Scope[]) {
      for (const b of BINDINGS.filter((x) => x.scope === view)) for (const k of b.keys) expect(list.has(k) || global.has(k)).toBe(false);
    }
    for (const k of list) expect(global.has(k)).toBe(false);
  });

  test("commands are looked up scope by scope", () => {
    expect(commandFor(["users", "list"], "n")).toBe("user-create");
    expect(commandFor(["keys", "list"], "n")).toBe("key-create");
    expect(commandFor(["keys", "list"], "j")).toBe("down");
    expect(commandFor(["confirm"], "n")).toBe("confirm-no");
    expect(commandFor(["list"], "n")).toBeUndefined();
  });

  test("keyName names special keys like the table does", () => {
    expect(keyName("", { upArrow: true })).toBe("up");
    expect(keyName("", { tab: true, shift: true })).toBe("shift+tab");
    expect(keyName("", { return: true })).toBe("enter");
    expect(keyName("", { escape: true })).toBe("esc");
    expect(keyName("", { delete: true })).toBe("backspace");
    expect(keyName("G", { shift: true })).toBe("G");
    expect(keyName("u", { ctrl: true })).toBe("ctrl+u");
    expect(keyName("", { pageDown: true })).toBe("pgdn");
  });

  test("footer hints come from the table and always keep help and quit", () => {
    const hints = hintsFor(["users", "list", "global"]);
    expect(hints.map((h) => h.hint)).toEqual(["new", "edit", "credits", "on/off", "details", "filter", "quit", "help"]);
    const narrow = fitHints(hints, 30);
    expect(narrow.slice(-2).map((h) => h.hint)).toEqual(["quit", "help"]);
    expect(narrow.length).toBeLessThan(hints.length);
  });

  test("README lists every binding exactly as the table does", () => {
    const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8");
    expect(readme).toContain(bindingsMarkdown());
  });
});
