import type { RequestRecord, Settlement } from "./settlement";

/*
 * The request journal's lines, kept small and cheap to write because one or three go out per request on
 * the hot path: tab-separated text, a null as `-`, and in strings only a tab, newline, backslash or NUL
 * escaped (`\t`, `\n`, `\\`, `\0`), which most never need. JSON.stringify of the whole record was most
 * of the journal's cost and twice its bytes.
 *
 *   A <request id> <account> <org> <user> <key> <stream> <at> <key label> <key prefix> <ip> <endpoint> <model>
 *   S|P <request id> <channel> <status> <prompt> <completion> <cached> <cache write> <estimated> <ttfb> <total ms> <cost> <tokens> <at> <shortfall> <upstream model> <error code> <error detail>
 *
 * An outcome line (S: the settlement; P: a stream's answer before its last event) names only what the
 * request's A line does not; recovery joins them by request id.
 */

/** A request as admitted: enough for its usage row if nothing else of it survives. */
export type Admitted = Pick<RequestRecord, "requestId" | "accountId" | "orgId" | "userId" | "keyId" | "keyLabel" | "keyPrefix" | "sourceIp" | "endpoint" | "model" | "stream">;
export type AdmittedLine = Admitted & { at: number };

const num = (v: number | null): string | number => (v === null ? "-" : v);
const numOf = (s: string | undefined): number | null => (s === undefined || s === "-" ? null : Number(s));
const SPECIAL = /[\t\n\\\0]/;
const ESCAPES: Record<string, string> = { "\t": "\\t", "\n": "\\n", "\\": "\\\\", "\0": "\\0" };
const UNESCAPES: Record<string, string> = { t: "\t", n: "\n", "\\": "\\", "0": "\0" };
const str = (v: string): string => (SPECIAL.test(v) ? v.replace(/[\t\n\\\0]/g, (c) => ESCAPES[c]!) : v);
/** A string field, or null written as a lone `-` (a string "-" is written `\-`). */
const nstr = (v: string | null): string => (v === null ? "-" : v === "-" ? "\\-" : str(v));
const strOf = (s: string): string => (s.includes("\\") ? s.replace(/\\(.)/g, (_, c: string) => UNESCAPES[c] ?? c) : s);
const nstrOf = (s: string): string | null => (s === "-" ? null : strOf(s));

export function admittedLine(a: Admitted, at: number): string {
  return `A\t${a.requestId}\t${a.accountId}\t${num(a.orgId)}\t${num(a.userId)}\t${num(a.keyId)}\t${a.stream ? 1 : 0}\t${at}\t${str(a.keyLabel)}\t${str(a.keyPrefix)}\t${str(a.sourceIp)}\t${str(a.endpoint)}\t${str(a.model)}\n`;
}

export function outcomeLine(kind: "S" | "P", s: Settlement): string {
  const r = s.record;
  return `${kind}\t${r.requestId}\t${num(r.channelId)}\t${r.status}\t${r.promptTokens}\t${r.completionTokens}\t${r.cachedTokens}\t${r.cacheWriteTokens}\t${r.tokensEstimated ? 1 : 0}\t${num(r.ttfbMs)}\t${r.totalMs}\t${s.cost}\t${s.tokens}\t${s.at}\t${s.shortfall}\t${str(r.upstreamModel)}\t${nstr(r.errorCode)}\t${nstr(r.errorDetail)}\n`;
}

export type Parsed =
  | { kind: "A"; admitted: AdmittedLine }
  | { kind: "S" | "P"; requestId: string; outcome: Omit<Settlement, "record"> & { record: Omit<RequestRecord, keyof Admitted | "refused"> } };

/** One line back, or null for anything not whole (a line a kill cut short has too few fields). */
export function parseLine(line: string): Parsed | null {
  const f = line.split("\t");
  const kind = f[0];
  if (kind === "A" && f.length === 13) {
    return {
      kind, admitted: {
        requestId: f[1]!, accountId: Number(f[2]), orgId: numOf(f[3]), userId: numOf(f[4]), keyId: numOf(f[5]), stream: f[6] === "1", at: Number(f[7]),
        keyLabel: strOf(f[8]!), keyPrefix: strOf(f[9]!), sourceIp: strOf(f[10]!), endpoint: strOf(f[11]!), model: strOf(f[12]!),
      },
    };
  }
  if ((kind === "S" || kind === "P") && f.length === 18) {
    return {
      kind, requestId: f[1]!, outcome: {
        record: {
          channelId: numOf(f[2]), status: Number(f[3]), promptTokens: Number(f[4]), completionTokens: Number(f[5]), cachedTokens: Number(f[6]),
          cacheWriteTokens: Number(f[7]), tokensEstimated: f[8] === "1", ttfbMs: numOf(f[9]), totalMs: Number(f[10]),
          upstreamModel: strOf(f[15]!), errorCode: nstrOf(f[16]!), errorDetail: nstrOf(f[17]!),
        },
        cost: Number(f[11]), tokens: Number(f[12]), at: Number(f[13]), shortfall: Number(f[14]),
      },
    };
  }
  return null;
}
