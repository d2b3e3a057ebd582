const utf8 = new TextDecoder();
/** The first event of a Responses stream (response.created) names the response; it comes in the first few kB. */
const ID = /"id"\s*:\s*"(resp_[^"\\]+)"/;
const LOOK_BYTES = 16 * 1024;

/**
 * A streamed stored response: the upstream's body, passed on unchanged, except that the chunk carrying the
 * response's id is held back until `record(id)` has finished, so a client that reads the id from the
 * stream and follows it up at once finds the object already recorded. Only the first 16 kB are looked at;
 * a stream that names no id there passes through unrecorded.
 */
export function recordingIdOf(body: ReadableStream<Uint8Array>, record: (id: string) => Promise<void>): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let seen = "";
  let looking = true;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      if (looking) {
        seen += utf8.decode(value, { stream: true });
        const m = ID.exec(seen);
        if (m) {
          looking = false;
          await record(m[1]!).catch(() => {});
        } else if (seen.length > LOOK_BYTES) looking = false;
      }
      controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
