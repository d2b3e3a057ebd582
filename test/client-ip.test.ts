import { expect, test } from "bun:test";
import { compileCidrs, ipInAny, normalizeIp } from "../server/net/cidr";
import { resolveClientIp } from "../server/net/client-ip";

test("::ffff: mapping is normalised before matching", () => {
  expect(normalizeIp("::ffff:192.0.2.1")).toBe("192.0.2.1");
  expect(ipInAny("::ffff:192.0.2.1", compileCidrs(["192.0.2.0/24"]))).toBe(true);
  expect(ipInAny("2001:db8::1", compileCidrs(["2001:db8::/32"]))).toBe(true);
  expect(ipInAny("2001:db9::1", compileCidrs(["2001:db8::/32"]))).toBe(false);
});

test("X-Forwarded-For only from trusted peers, read right to left", () => {
  const trusted = compileCidrs(["10.0.0.0/8"]);
  expect(resolveClientIp("198.51.100.1", "1.1.1.1", trusted)).toBe("198.51.100.1");
  expect(resolveClientIp("10.0.0.2", "1.1.1.1, 2.2.2.2, 10.0.0.9", trusted)).toBe("2.2.2.2");
  expect(resolveClientIp("::ffff:10.0.0.2", "2.2.2.2", trusted)).toBe("2.2.2.2");
  expect(resolveClientIp("10.0.0.2", null, trusted)).toBe("10.0.0.2");
});
