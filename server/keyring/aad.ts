/**
 * The AAD each ciphertext is bound to: a ciphertext moved to another row (or another purpose) fails to
 * decrypt instead of yielding someone else's secret.
 */
export const keyAad = (id: number, accountId: number) => `api_key:${id}:${accountId}`;
export const channelAad = (id: number) => `channel:${id}`;
/** A webhook's signing secrets (the current one, and the previous one a rotation keeps as it was). */
export const webhookAad = (id: number) => `webhook:${id}`;
