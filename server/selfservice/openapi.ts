import { Elysia } from "elysia";
import { components } from "./openapi-components";
import { orgPaths, orgSchemas } from "../orgs/openapi";
import { webhookPaths, webhookSchemas } from "../webhooks/openapi";

const json = (schema: object) => ({ content: { "application/json": { schema } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errors = { default: { $ref: "#/components/responses/Error" } };
const auth = (...scopes: string[]) => [{ bearer: scopes }];
const idParam = { name: "id", in: "path", required: true, schema: { type: "integer", minimum: 1 }, description: "A key id; another user's id is a 404." };

function op(summary: string, security: object[] | [], ok: { status?: string; schema: object }, extra: object = {}) {
  return { summary, security, responses: { [ok.status ?? "200"]: { description: "OK", ...json(ok.schema) }, ...errors }, ...extra };
}

const relayOp = (summary: string) =>
  op(summary, auth("inference"), { schema: ref("OpenAIResponse") }, {
    description: "Relayed to an upstream channel serving the model. Needs the `inference` scope; the key's model allow-list, spend limit and the user's balance, concurrency and monthly quota apply.",
    requestBody: { required: true, ...json(ref("OpenAIRequest")) },
  });

/**
 * The OpenAPI 3.1 description of the public HTTP API. Security requirements list the scope an API key
 * needs (3.1 allows role names on non-OAuth schemes); a session token holds every scope.
 */
export const openApiDocument = {
  openapi: "3.1.0",
  info: {
    title: "relay",
    version: "0.1.0",
    description: "OpenAI-compatible LLM API relay. Every error is `{\"error\":{message,type,code,param}}` and every response carries `x-request-id`. JSON bodies are strict: unknown fields are a 400 `invalid_request`.",
  },
  paths: {
    "/v1/auth/login": {
      post: op("Log in with name and password; returns a short-lived session JWT.", [], { schema: ref("LoginResponse") }, {
        description: "Wrong name or password: 401 `invalid_credentials`. Repeated failures for one name or from one IP are slowed, then refused with 429 `too_many_attempts` and `Retry-After`.",
        requestBody: { required: true, ...json(ref("LoginRequest")) },
      }),
    },
    "/v1/auth/password": {
      post: op("Change your own password (session only); every other session ends and a fresh one is returned.", auth(), { schema: ref("LoginResponse") }, {
        description: "A wrong `current` password is a 401 `invalid_credentials` and counts as a failed login (see /v1/auth/login). An API key gets 403 `session_required`.",
        requestBody: { required: true, ...json(ref("ChangePasswordRequest")) },
      }),
    },
    "/v1/me": { get: op("The caller's user, key, scopes, balance and limits.", auth(), { schema: ref("Me") }) },
    "/v1/keys": {
      get: op("The caller's API keys (never their secrets).", auth("keys:read"), { schema: ref("KeyList") }),
      post: op("Create a key; the plaintext is returned once, under `key`.", auth("keys:write"), { status: "201", schema: ref("NewKey") }, {
        description: "A key cannot grant a scope it lacks (403 `insufficient_scope`); `scopes` defaults to `full`.",
        requestBody: { required: true, ...json(ref("CreateKeyRequest")) },
      }),
    },
    "/v1/keys/revoke-all": {
      post: op("Delete every key of the caller's user at once (session only); their running requests end.", auth(), { schema: ref("RevokedKeys") }, {
        description: "For account recovery: change the password, revoke all keys, create new ones. An API key gets 403 `session_required`.",
      }),
    },
    "/v1/keys/{id}": {
      parameters: [idParam],
      get: op("One of the caller's keys.", auth("keys:read"), { schema: ref("Key") }),
      patch: op("Change a key's label, enabled flag or limits.", auth("keys:write"), { schema: ref("Key") }, {
        requestBody: { required: true, ...json(ref("UpdateKeyRequest")) },
      }),
      delete: op("Delete a key; it stops working on the next request.", auth("keys:write"), { schema: ref("DeletedKey") }),
    },
    "/v1/keys/{id}/rotate": {
      parameters: [idParam],
      post: op("Replace a key with a new one of the same settings; the old one keeps working for `overlap`.", auth("keys:write"), { status: "201", schema: ref("RotatedKey") }, {
        description: "The new key's label gets ` (rotated)`; its plaintext is returned once, under `key`. The old key's expiry becomes now + overlap (default 24h), unless it expires sooner; then it is refused with 401 `key_expired`. A bad overlap is a 400 `invalid_request` with param `overlap`. The caller must hold every scope the key has.",
        requestBody: { required: false, ...json(ref("RotateKeyRequest")) },
      }),
    },
    "/v1/keys/{id}/reveal": {
      parameters: [idParam],
      post: op("Show a key's plaintext again (audited).", auth(), { schema: ref("RevealedKey") }, {
        description: "Only with a session token; an API key gets 403 `session_required`.",
      }),
    },
    "/v1/usage": {
      get: op("The caller's usage rows and per-day totals.", auth("usage:read"), { schema: ref("Usage") }, {
        parameters: [
          { name: "from", in: "query", schema: { type: "string" }, description: "ISO date or date-time, inclusive; default 30 days before `to`." },
          { name: "to", in: "query", schema: { type: "string" }, description: "ISO date-time (exclusive) or date (through the end of that UTC day); default now." },
          { name: "key_id", in: "query", schema: { type: "integer", minimum: 1 }, description: "Only this key's rows; another user's key is a 404." },
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 }, description: "Rows returned, newest first." },
        ],
      }),
    },
    "/v1/models": {
      get: op("The model catalog: without a token every served model, with one only those it may use.", [{}, { bearer: [] }], { schema: ref("OpenAIResponse") }),
    },
    "/v1/models/{model}": {
      parameters: [{ name: "model", in: "path", required: true, schema: { type: "string" } }],
      get: op("One model, or 404 `model_not_found`.", [{}, { bearer: [] }], { schema: ref("OpenAIResponse") }),
    },
    "/v1/chat/completions": { post: relayOp("OpenAI chat completions, streamed or not.") },
    "/v1/completions": { post: relayOp("OpenAI legacy text completions.") },
    "/v1/embeddings": { post: relayOp("OpenAI embeddings.") },
    "/v1/responses": { post: relayOp("OpenAI Responses API; relayed to a Responses-capable channel or translated.") },
    "/v1/messages": {
      post: op("Anthropic Messages API, streamed or not; any channel type, translated where the shapes differ.", auth("inference"), { schema: ref("OpenAIResponse") }, {
        description: "Authenticates with `x-api-key` or a bearer token. Errors here use Anthropic's envelope: `{\"type\":\"error\",\"error\":{type,message}}` with the stable code under `error.code`.",
        requestBody: { required: true, ...json(ref("OpenAIRequest")) },
      }),
    },
    "/v1/messages/count_tokens": {
      post: op("Anthropic token count for a Messages request (not billed).", auth("inference"), { schema: { type: "object", properties: { input_tokens: { type: "integer" } } } }, {
        requestBody: { required: true, ...json(ref("OpenAIRequest")) },
      }),
    },
    ...orgPaths,
    ...webhookPaths,
    "/v1/openapi.json": { get: op("This document (no authentication needed).", [], { schema: { type: "object" } }) },
  },
  components: { ...components, schemas: { ...components.schemas, ...orgSchemas, ...webhookSchemas } },
};

/** GET /v1/openapi.json, public. */
export const openApiRoutes = () => new Elysia({ name: "selfservice-openapi" }).get("/v1/openapi.json", () => openApiDocument);
