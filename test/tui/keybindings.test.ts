import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BINDINGS, bindingsMarkdown, commandFor, fitHints, hintsFor, keyName, keysOf, SCOPE_TITLES, type Scope } from "../../tui/keybindings";

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
    const views = scopes.filter((s) => !["global", "list", "filter", "form", "confirm", "secret"].includes(s));
    expect(views).toContain("orgs");
    for (const view of views) {
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

  test("ESC and a key read as one meta key are esc, then that key", () => {
    expect(keysOf("2", { meta: true })).toEqual([{ name: "esc", input: "" }, { name: "2", input: "2" }]);
    expect(keysOf("G", { meta: true, shift: true })).toEqual([{ name: "esc", input: "" }, { name: "G", input: "G" }]);
    expect(keysOf("", { meta: true, escape: true })).toEqual([{ name: "esc", input: "" }, { name: "esc", input: "" }]);
    expect(keysOf("", { meta: true, return: true })).toEqual([{ name: "esc", input: "" }, { name: "enter", input: "" }]);
    expect(keysOf("2", {})).toEqual([{ name: "2", input: "2" }]);
    expect(keysOf("", { escape: true })).toEqual([{ name: "esc", input: "" }]);
    // Alt+arrow and Alt+backspace stay one key: the terminal may send them with a modifier, not an ESC in front.
    expect(keysOf("", { meta: true, upArrow: true })).toEqual([{ name: "up", input: "" }]);
    expect(keysOf("", { meta: true, backspace: true })).toEqual([{ name: "backspace", input: "" }]);
  });

  test("esc leaves every scope that takes all keys, so a key right after it is not captured", () => {
    for (const scope of ["form", "confirm", "secret", "filter"] as Scope[]) expect(commandFor([scope], "esc")).toBeDefined();
    expect(commandFor(["list"], "esc")).toBe("close"); // the picker closes on the list's esc
  });

  test("footer hints come from the table and always keep help and quit", () => {
    const hints = hintsFor(["users", "list", "global"]);
    expect(hints.map((h) => h.hint)).toEqual(["new", "edit", "credits", "on/off", "details", "filter", "quit", "help"]);
    const narrow = fitHints(hints, 30);
    expect(narrow.slice(-2).map((h) => h.hint)).toEqual(["quit", "help"]);
    expect(narrow.length).toBeLessThan(hints.length);
  });

  test("a view may relabel a command that does not apply to the selected row", () => {
    expect(hintsFor(["keys"], { "key-reveal": "write-once" }).find((h) => h.keys === "r")?.hint).toBe("write-once");
    expect(hintsFor(["keys"]).find((h) => h.keys === "r")?.hint).toBe("reveal");
  });

  test("README lists every binding exactly as the table does", () => {
    const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8");
    expect(readme).toContain(bindingsMarkdown());
  });
});
