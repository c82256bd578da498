// A SCIM app's answer, read with a bound on its size: counted while it streams in and cancelled
// at the bound, so an app (or whatever answers in its name) cannot make the worker buffer an
// unbounded body. The same bound covers the OAuth token endpoint's answers.
import type { Response } from 'undici';

/** The default bound of one answer: far above any SCIM page of a sane size. */
export const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/** An answer over the bound: the caller says whose and what (an InvalidRequestError: another try would be as large). */
export class ResponseTooLarge extends Error {
  override readonly name = 'ResponseTooLarge';
  constructor(readonly maxBytes: number) {
    super(`the answer is larger than maxResponseBytes (${maxBytes} bytes)`);
  }
}

/** The body as text, or ResponseTooLarge once more than `maxBytes` arrived (or were announced). */
export async function readBoundedText(res: Response, maxBytes: number): Promise<string> {
  const announced = Number(res.headers.get('content-length'));
  if (Number.isFinite(announced) && announced > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new ResponseTooLarge(maxBytes);
  }
  if (!res.body) return '';
  const decoder = new TextDecoder();
  const reader = res.body.getReader();
  let received = 0;
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.byteLength;
    if (received > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new ResponseTooLarge(maxBytes);
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}
