import { expect } from "bun:test";

/**
 * Asserts that a response is one of relay's errors: the status and code, a request id, and the whole
 * OpenAI envelope {"error":{"message","type","code","param"}} as JSON. Returns the parsed body.
 */
export async function expectError(res: Response, status: number, code: string): Promise<any> {
  expect(res.headers.get("x-request-id")).toMatch(/^req_/);
  expect(res.headers.get("content-type")).toContain("application/json");
  const body = (await res.json()) as any;
  expect({ status: res.status, code: body.error.code }).toEqual({ status, code });
  expect(typeof body.error.message).toBe("string");
  expect(typeof body.error.type).toBe("string");
  expect(body.error).toHaveProperty("param");
  return body;
}
