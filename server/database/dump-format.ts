import { z } from "zod";

/*
 * The dump: JSON lines. The first is the header; each further line is one row, `{"t":"<table>","r":{…}}`,
 * keyed by SQL column name, tables in foreign-key order, rows in primary-key order. Values are
 * dialect-neutral: integers as numbers, booleans as booleans, JSON columns as JSON (keys sorted), SQL NULL
 * as null. Secrets stay what the database holds: keyring ciphertexts, so the target needs the same master key.
 */

export const DUMP_FORMAT = "relay-export";
/** Bumped when a reader of the previous version would misread a dump. */
export const DUMP_VERSION = 1;

export const headerSchema = z.object({
  format: z.literal(DUMP_FORMAT),
  version: z.literal(DUMP_VERSION),
  dialect: z.enum(["sqlite", "postgres"]),
  /** The source's latest applied migration tag (of its own dialect). */
  schema: z.string(),
  /** Every table in the dump, in the order its rows follow; `rows` lets an import tell a truncated file. */
  tables: z.array(z.object({ name: z.string(), columns: z.array(z.string()), rows: z.number().int().min(0) })),
  /** ISO 8601. */
  exportedAt: z.string(),
  /** Master key ids the dump's ciphertexts were made with: the keys the target needs. */
  masterKeys: z.array(z.string()).default([]),
});

export type DumpHeader = z.infer<typeof headerSchema>;

export const rowLineSchema = z.object({ t: z.string(), r: z.record(z.string(), z.unknown()) });

/** The lines of a file, streamed; blank lines are skipped. */
export async function* fileLines(path: string): AsyncGenerator<{ n: number; line: string }> {
  const decoder = new TextDecoder();
  let rest = "";
  let n = 0;
  for await (const chunk of Bun.file(path).stream()) {
    const parts = (rest + decoder.decode(chunk, { stream: true })).split("\n");
    rest = parts.pop()!;
    for (const line of parts) {
      n++;
      if (line.trim()) yield { n, line };
    }
  }
  rest += decoder.decode();
  if (rest.trim()) yield { n: n + 1, line: rest };
}
