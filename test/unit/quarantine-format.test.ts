// What `provisioner quarantine list` and `release` print: quarantined and held applications, the
// applications paused by their Retry-After (with what lifts the pause), and what a release did.
import { describe, expect, it } from 'vitest';
import { formatQuarantine, formatQuarantineChange } from '../../cli/commands/quarantine.js';

const release = (app: string) => `provisioner quarantine release ${app} --reason "<why>"`;

describe('quarantine list and release, as printed', () => {
  it('says when nothing is quarantined or paused', () => {
    expect(formatQuarantine([], [])).toBe('no application is quarantined or paused');
  });

  it('lists a paused application with its end and the command that lifts it', () => {
    const text = formatQuarantine(
      [{ app: 'crm', state: 'quarantined', reason: 'crm: 20 retryable failures in PT5M', since: '2026-12-03T10:00:00.000Z', by: 'system:quarantine', release: release('crm') }],
      [{ app: 'chat', until: '2026-12-03T10:05:00.000Z', remainingSeconds: 42, release: release('chat') }],
    );
    expect(text.split('\n')).toEqual([
      'crm QUARANTINED since 2026-12-03T10:00:00.000Z by system:quarantine',
      '  crm: 20 retryable failures in PT5M',
      `  release: ${release('crm')}`,
      "chat PAUSED until 2026-12-03T10:05:00.000Z (42 s left): it answered Retry-After, and every worker's calls wait for it",
      `  lift it sooner (you answer for calling early): ${release('chat')}`,
    ]);
  });

  it('says what a release lifted', () => {
    expect(formatQuarantineChange('release', { app: 'crm', changed: true, previous: 'quarantined', woken: 3, pauseLifted: '2026-12-03T10:05:00.000Z' })).toBe('crm released (was quarantined), its Retry-After pause until 2026-12-03T10:05:00.000Z lifted: its waiting steps run again (3 workflow(s) signalled)');
    expect(formatQuarantineChange('release', { app: 'chat', changed: true, previous: null, woken: 0, pauseLifted: '2026-12-03T10:05:00.000Z' })).toBe('chat: its Retry-After pause until 2026-12-03T10:05:00.000Z lifted: its waiting steps run again (0 workflow(s) signalled)');
    expect(formatQuarantineChange('release', { app: 'crm', changed: true, previous: 'held', woken: 1 })).toBe('crm released (was held): its waiting steps run again (1 workflow(s) signalled)');
  });
});
