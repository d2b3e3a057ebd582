import { expect, test } from "bun:test";
import { startRelay } from "./support/harness";
import { createAdminApp } from "../server/admin/app";

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
    // Every route the admin app registers is documented with its method (a price's model is a wildcard path).
    const routes = createAdminApp(h.ctx, () => ({ listen: h.url })).routes;
    expect(routes.length).toBeGreaterThan(35);
    for (const r of routes) {
      const path = r.path.replace(/:(\w+)/g, "{$1}").replace("/prices/*", "/prices/{model}");
      expect({ route: `${r.method} ${path}`, documented: doc.paths[path]?.[r.method.toLowerCase()] !== undefined }).toEqual({ route: `${r.method} ${path}`, documented: true });
    }
    // Request bodies come from the schemas the routes parse with: the org fields are there.
    expect(Object.keys(doc.components.schemas.CreateKey.properties)).toEqual(expect.arrayContaining(["org", "service", "member", "rpm", "tpm", "scopes"]));
    expect(doc.components.schemas.AddMember.properties.role.enum).toEqual(["owner", "admin", "member", "billing"]);
  } finally {
    await h.close();
  }
});
