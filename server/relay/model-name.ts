/**
 * Puts the model name the client asked for back into an upstream's answer, when a channel maps it to
 * another id (`--map alias=upstream`): clients must never see the upstream's id, only their alias.
 *
 * Works on the bytes, so a stream's events need not be parsed. It rewrites the value of every `"model"`
 * key with a string value, whatever the upstream put there (an upstream may answer with a dated snapshot
 * id rather than the id it was asked for). The sequence `"model":"` cannot occur inside a JSON string
 * (a quote in a string is escaped), so only real keys match. Both compact and `": "` spacing are handled.
 */
export type ModelRewriter = {
  bytes(input: Uint8Array): Uint8Array;
  text(input: string): string;
};

const COMPACT = Buffer.from('"model":"');
const SPACED = Buffer.from('"model": "');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

const indexOf = (bytes: Uint8Array, what: Uint8Array, from: number): number => Buffer.prototype.indexOf.call(bytes, what, from);

/** The index of the quote that closes a JSON string whose content starts at `from`, or -1. */
function closingQuote(bytes: Uint8Array, from: number): number {
  for (let i = from; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === BACKSLASH) i++;
    else if (b === QUOTE) return i;
  }
  return -1;
}

/** A rewriter to `clientModel`, or null when there is nothing to rewrite (the names are the same). */
export function modelRewriter(clientModel: string, upstreamModel: string): ModelRewriter | null {
  if (clientModel === upstreamModel) return null;
  const value = Buffer.from(JSON.stringify(clientModel).slice(1, -1));
  const textPattern = /("model"\s?:\s?")((?:[^"\\]|\\.)*)"/g;
  const textValue = JSON.stringify(clientModel).slice(1, -1).replace(/\$/g, "$$$$");
  return {
    bytes(input) {
      let parts: Uint8Array[] | null = null;
      let from = 0;
      for (let at = next(input, 0); at !== -1; at = next(input, from)) {
        const start = at + (input[at + 8] === 0x20 ? SPACED.length : COMPACT.length);
        const end = closingQuote(input, start);
        if (end === -1) break;
        (parts ??= []).push(input.subarray(from, start), value);
        from = end;
      }
      if (parts === null) return input;
      parts.push(input.subarray(from));
      return Buffer.concat(parts);
    },
    text(input) {
      return input.includes('"model"') ? input.replace(textPattern, `$1${textValue}"`) : input;
    },
  };
}

function next(bytes: Uint8Array, from: number): number {
  const a = indexOf(bytes, COMPACT, from);
  const b = indexOf(bytes, SPACED, from);
  return a === -1 ? b : b === -1 ? a : Math.min(a, b);
}
