import { describe, expect, it } from 'vitest';
import { fenceLimit, fenceWindowMs } from '../../../policy/fencing.js';
import { loadPolicyDir } from '../../../policy/loader.js';

describe('fencing thresholds', () => {
  const result = loadPolicyDir('examples/policy');
  if (!result.ok) throw new Error('example policy does not load');
  const { fencing } = result.policy.model;

  it('is max(absolute, share × population) per window, per source and per application', () => {
    expect(fenceWindowMs(fencing)).toBe(15 * 60_000);
    expect(fenceLimit(fencing, { scope: 'source', source: 'hr.lifecycle' }, 'disableAccount', 500)).toBe(50);
    expect(fenceLimit(fencing, { scope: 'source', source: 'hr.lifecycle' }, 'disableAccount', 10_000)).toBe(200);
    // The directory has its own, stricter threshold; other applications use the default.
    expect(fenceLimit(fencing, { scope: 'application', app: 'directory' }, 'disableAccount', 10_000)).toBe(100);
    expect(fenceLimit(fencing, { scope: 'application', app: 'crm' }, 'revoke', 500)).toBe(200);
  });
});
