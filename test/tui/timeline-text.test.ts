import { expect, test } from "bun:test";
import { hourlySeries, resample, sparkline } from "../../tui/state/timeline";
import { editText, splitKeys, wrapText } from "../../tui/state/text";
import { fit, fitMiddle, numFit, publicId } from "../../tui/format";

test("hourlySeries places points in hour slots ending now; outside points are dropped", () => {
  const now = Date.parse("2026-01-03T10:30:00Z");
  const s = hourlySeries(
    [
      { hour: "2026-01-03T10:00:00.000Z", requests: 2, tokens: 20 },
      { hour: "2026-01-03T08:00:00.000Z", requests: 1, tokens: 5 },
      { hour: "2025-12-01T00:00:00.000Z", requests: 9, tokens: 9 },
    ],
    4,
    now,
  );
  expect(s.requests).toEqual([0, 1, 0, 2]);
  expect(s.tokens).toEqual([0, 5, 0, 20]);
});

test("resample sums buckets aligned to the newest value", () => {
  expect(resample([1, 2, 3], 5)).toEqual([1, 2, 3]);
  expect(resample([1, 1, 1, 1, 1, 1, 1], 4)).toEqual([1, 2, 2, 2]);
  expect(resample(new Array(72).fill(1), 36)).toEqual(new Array(36).fill(2));
});

test("sparkline: blank for zero, full bar for the maximum", () => {
  expect(sparkline([0, 0])).toBe("  ");
  expect(sparkline([0, 1, 8])).toBe(" ▁█");
  expect(sparkline([5, 10])).toBe("▄█");
});

test("editText types printable text and deletes one character", () => {
  expect(editText("ab", "c", "c")).toBe("abc");
  expect(editText("ab", "backspace", "")).toBe("a");
  expect(editText("", "backspace", "")).toBe("");
  expect(editText("ab", "enter", "")).toBeNull();
  expect(editText("ab", "ctrl+u", "u")).toBeNull();
});

test("splitKeys turns a chunk into single keys, enter and tab included", () => {
  expect(splitKeys("ab\rc", "ab\rc")).toEqual([
    { name: "a", input: "a" },
    { name: "b", input: "b" },
    { name: "enter", input: "" },
    { name: "c", input: "c" },
  ]);
  expect(splitKeys("enter", "")).toEqual([{ name: "enter", input: "" }]);
  expect(splitKeys("x", "x")).toEqual([{ name: "x", input: "x" }]);
});

test("fit cuts with an ellipsis and pads", () => {
  expect(fit("abcdef", 4)).toBe("abc…");
  expect(fit("ab", 4)).toBe("ab  ");
  expect(fit("7", 3, "right")).toBe("  7");
});

test("fitMiddle keeps the start and the end of a long text", () => {
  expect(fitMiddle("claude-sonnet-4-20250514", 24)).toBe("claude-sonnet-4-20250514");
  expect(fitMiddle("claude-sonnet-4-20250514", 16)).toBe("claude-s…0250514");
  expect(fitMiddle("claude-sonnet-4-20250514", 10)).toBe("claud…0514");
  expect(fitMiddle("abc", 2)).toBe("a…");
  expect(fitMiddle("ab", 5)).toBe("ab   ");
});

test("publicId is the last 8 characters of any key prefix; session calls stay session", () => {
  expect(publicId("sk-app-U3abcdEF")).toBe("U3abcdEF");
  expect(publicId("acme-U3abcdEF")).toBe("U3abcdEF");
  expect(publicId("session")).toBe("session");
});

test("numFit keeps the exact number when it fits, else its size in k or M", () => {
  expect(numFit(1210, 6)).toBe("1,210");
  expect(numFit(120_000, 7)).toBe("120,000");
  expect(numFit(120_000, 6)).toBe("120k");
  expect(numFit(1_250_000, 6)).toBe("1.3M");
  expect(numFit(1_250_000, 3)).toBe("1M");
  expect(numFit(999_999, 6)).toBe("1M");
  expect(numFit(12_345, 4)).toBe("12k");
  expect(numFit(null, 6)).toBe("-");
});

test("wrapText breaks after commas, then at spaces, then inside words, and cuts what is left after maxLines", () => {
  const tokens = "1,210 in (1,000 cached, 200 cache write), 50 out";
  expect(wrapText(tokens, 60, 3)).toEqual([tokens]);
  expect(wrapText(tokens, 31, 3)).toEqual(["1,210 in (1,000 cached,", "200 cache write), 50 out"]);
  expect(wrapText("upstream said no thanks", 10, 3)).toEqual(["upstream", "said no", "thanks"]);
  expect(wrapText("abcdefghij", 4, 3)).toEqual(["abcd", "efgh", "ij"]);
  expect(wrapText("one two three four five", 9, 2)).toEqual(["one two", "three fo…"]);
  expect(wrapText("", 9, 2)).toEqual([""]);
});
