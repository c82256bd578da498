import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../../store/canonical-json.js';

describe('canonical JSON (RFC 8785 style)', () => {
  it('sorts keys at every depth and leaves no whitespace', () => {
    expect(canonicalize({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } })).toBe('{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}');
  });

  it('orders keys by UTF-16 code units, as RFC 8785 §3.2.3 does', () => {
    // Code units, not code points: "€" is 0x20AC, "😀" is the surrogate pair 0xD83D 0xDE00.
    expect(canonicalize({ '\u20ac': 1, '\ud83d\ude00': 2, '\r': 3, '1': 4, a: 5, A: 6 })).toBe('{"\\r":3,"1":4,"A":6,"a":5,"€":1,"😀":2}');
  });

  it('serialises numbers as ECMAScript does (RFC 8785 §3.2.2.3)', () => {
    expect(canonicalize([1e21, 1e-7, 0.000001, -0, 333333333.3333333, 5e-324, 100])).toBe('[1e+21,1e-7,0.000001,0,333333333.3333333,5e-324,100]');
  });

  it('escapes strings minimally', () => {
    expect(canonicalize('a"b\\c\n\u0001é')).toBe('"a\\"b\\\\c\\n\\u0001é"');
  });

  it('leaves out undefined properties and writes undefined array items as null', () => {
    expect(canonicalize({ a: undefined, b: [undefined] })).toBe('{"b":[null]}');
  });

  it('refuses what JSON cannot represent exactly', () => {
    expect(() => canonicalize({ a: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalize({ a: Infinity })).toThrow(TypeError);
    expect(() => canonicalize({ at: new Date(0) })).toThrow(/Date/);
    expect(() => canonicalize({ n: 1n })).toThrow(TypeError);
  });

  it('is stable: parsing and re-serialising gives the same bytes', () => {
    const text = canonicalize({ z: [1, 2.5, 'x'], a: { m: null, b: false } });
    expect(canonicalize(JSON.parse(text))).toBe(text);
  });
});
