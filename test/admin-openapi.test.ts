import { expect, test } from "bun:test";
import { startRelay } from "./support/harness";

test("the admin socket serves an OpenAPI document that lists every admin route it answers", async () => {
  const h = await startRelay();
  try {
    const doc = (await h.admin.openApi()) as any;
    expect(doc.openapi).toBe("3.1.0");
    // Every documented GET without parameters really answers on the socket.
    for (const [path, ops] of Object.entries<any>(doc.paths)) {
      if (ops.get && !path.includes("{")) {
        const res = await fetch(`http://relay${path}`, { unix: h.socketPath } as RequestInit);
        expect({ path, status: res.status }).toEqual({ path, status: 200 });
      }
    }
    for (const p of ["/users", "/keys/{id}/reveal", "/channels/{id}/test", "/prices/{model}", "/master-key/rotate", "/users/{name}/credits"]) {
      expect(doc.paths[p]).toBeDefined();
    }
  } finally {
    await h.close();
  }
});
