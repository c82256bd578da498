// An absurd sequence: a snapshot whose `sequence` jumps further ahead of the person's last applied
// one than `lifecycle.maxSequenceJump` is held for an operator. Applied, it would become the
// person's baseline and every later event of the feed (with its ordinary numbers) would be ignored
// as older: the person frozen. An HRIS renumbering is accepted by `provisioner identity resequence`.

/** Why a snapshot at `sequence` is held, or undefined when it may be applied. A person's first snapshot has no baseline to jump from. */
export function sequenceJumpHold(input: { appliedSequence: number; sequence: number; maxJump: number }): string | undefined {
  const { appliedSequence, sequence, maxJump } = input;
  if (appliedSequence < 0) return undefined;
  const jump = sequence - appliedSequence;
  if (jump <= maxJump) return undefined;
  return (
    `sequence ${sequence} jumps ${jump} ahead of the applied sequence ${appliedSequence} (lifecycle.maxSequenceJump is ${maxJump}): held, nothing applied. ` +
    'If the HRIS renumbered its events, accept it with `provisioner identity resequence <employeeId>`; later events with ordinary sequences still apply'
  );
}
