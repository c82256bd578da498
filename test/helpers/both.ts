// Two things run at once (e.g. two drills, each with its own pipeline), both awaited to the end even
// when one fails, so neither leaves its processes running behind the test; then the first failure.
export async function both<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}
