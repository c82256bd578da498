// Saga compensations: registered BEFORE each step (a step that succeeded remotely but timed out
// is still undone), run in reverse, in a non-cancellable scope, every failure recorded.
import { CancellationScope } from '@temporalio/workflow';

export type Compensation = { label: string; undo: () => Promise<void> };
export type CompensationReport = { label: string; ok: boolean; error?: string };

export class Saga {
  private readonly stack: Compensation[] = [];

  /** Registers a compensation and returns it, so that exactly this one can be forgotten later. */
  register(compensation: Compensation): Compensation {
    this.stack.push(compensation);
    return compensation;
  }

  /**
   * Drops the compensation registered last. Only right when steps run one at a time: with steps of
   * several applications in flight, the last one registered can be another step's. Kept for
   * histories recorded before `forget`.
   */
  forgetLast(): void {
    this.stack.pop();
  }

  /** Drops this compensation (its step turned out to change nothing). */
  forget(compensation: Compensation): void {
    const at = this.stack.lastIndexOf(compensation);
    if (at >= 0) this.stack.splice(at, 1);
  }

  get size(): number {
    return this.stack.length;
  }

  /** Runs every compensation in reverse; never throws: each failure is reported. */
  async compensate(): Promise<CompensationReport[]> {
    const reports: CompensationReport[] = [];
    await CancellationScope.nonCancellable(async () => {
      for (const c of [...this.stack].reverse()) {
        try {
          await c.undo();
          reports.push({ label: c.label, ok: true });
        } catch (err) {
          reports.push({ label: c.label, ok: false, error: err instanceof Error ? err.message : String(err) });
        }
      }
    });
    this.stack.length = 0;
    return reports;
  }
}
