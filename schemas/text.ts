// Person text from other systems (names, titles, departments, justifications): one rule, applied at
// the boundary before any application sees it. Refused: C0 controls (NUL, CR, LF, TAB ...), DEL, C1
// controls, the bidirectional embeddings, overrides and isolates (Unicode UAX #9 §2: U+202A-U+202E,
// U+2066-U+2069, which can make "evil.exe" read as "exe.live" in a console) and lone surrogates (not
// Unicode scalar values, so not UTF-8: Unicode §3.9 D76). Then surrounding white space is trimmed and
// the text is NFC-normalised (UAX #15), so one name has one spelling; the length bound counts the
// result in UTF-16 code units.
import { z } from 'zod';

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const REFUSED = /[\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]|\p{Cs}/u;

const codePoint = (ch: string): string => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** The first refused character of `text` as `U+XXXX`, or undefined when there is none. */
export function refusedCharacter(text: string): string | undefined {
  const m = REFUSED.exec(text);
  return m ? codePoint(m[0]) : undefined;
}

/** Text a person may read: no controls, bidi overrides or lone surrogates; trimmed, NFC; `min`-`max` characters. */
export const personText = (max: number, min = 0) => {
  const text = z
    .string()
    .check((ctx) => {
      const ch = refusedCharacter(ctx.value);
      if (ch !== undefined) {
        ctx.issues.push({ code: 'custom', input: ctx.value, message: `contains ${ch}, a control, bidirectional-override or lone-surrogate character: remove it` });
      }
    })
    .trim()
    .normalize('NFC')
    .max(max);
  return min > 0 ? text.min(min) : text;
};
