import { z } from "zod";
import { suggest } from "./suggest";

/**
 * Names people reach for instead of relay's field names, normalised (lower case, no `_` or `-`).
 * A suggestion is offered only when the field it names exists in the schema at hand.
 */
const SYNONYMS: Record<string, string> = {
  name: "label", title: "label", description: "label",
  expires: "expiresAt", expiry: "expiresAt", expiration: "expiresAt", expireat: "expiresAt",
  ips: "allowIps", ip: "allowIps", allowedips: "allowIps", allowlist: "allowIps", cidrs: "allowIps",
  limit: "spendLimit", budget: "spendLimit", spend: "spendLimit",
  scope: "scopes", permissions: "scopes",
  model: "models", key: "apiKey", apikey: "apiKey", url: "baseUrl", baseurl: "baseUrl", endpoint: "baseUrl",
  input: "inputPerMTok", output: "outputPerMTok", maxconcurrency: "concurrency", tokens: "monthlyTokens",
};

/** The message for fields a strict schema does not know, with a "did you mean" for each where one is close. */
export function unknownFieldsMessage(keys: readonly string[], fields: readonly string[]): string {
  const named = keys.map((k) => {
    const near = suggest(k, fields, SYNONYMS);
    return near ? `'${k}' (did you mean '${near}'?)` : `'${k}'`;
  });
  return `unknown field${keys.length > 1 ? "s" : ""} ${named.join(", ")}; the fields are: ${fields.join(", ")}`;
}

/** `z.strictObject` whose unknown-field error names the fields there are and suggests the one meant. */
export function strictObject<T extends z.core.$ZodLooseShape>(shape: T) {
  const fields = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => (issue.code === "unrecognized_keys" ? unknownFieldsMessage(issue.keys, fields) : undefined),
  });
}

/** An ISO 8601 date or date-time, as epoch milliseconds, with an error that shows what is expected. */
export const ISO_DATE_HINT = "expected an ISO 8601 date or date-time, e.g. 2026-12-31 or 2026-12-31T23:59:59Z";
