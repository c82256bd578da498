// Where Kafka places a consumer group's coordinator: Java's String.hashCode of the group id, its
// absolute value (Kafka's Utils.abs, where the smallest int is 0), modulo the offsets topic's partitions.
import { describe, expect, it } from 'vitest';
import { javaStringHash, offsetsPartitionOf } from '../../drills/group-coordinator.js';

describe("a consumer group's coordinator partition", () => {
  it("hashes as Java's String.hashCode", () => {
    expect(javaStringHash('')).toBe(0);
    expect(javaStringHash('hello')).toBe(99162322);
    // Overflows wrap as Java's int does.
    expect(javaStringHash('polygenelubricants')).toBe(-2147483648);
  });

  it("takes Kafka's absolute value, the smallest int being 0", () => {
    expect(offsetsPartitionOf('hello', 50)).toBe(99162322 % 50);
    expect(offsetsPartitionOf('polygenelubricants', 50)).toBe(0);
    // A negative hash is made positive, not masked.
    expect(javaStringHash('zzzzzzzz')).toBe(-1910022912);
    expect(offsetsPartitionOf('zzzzzzzz', 50)).toBe(1910022912 % 50);
  });
});
