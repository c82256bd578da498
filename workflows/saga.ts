// Saga compensations: registered BEFORE each step (a step that succeeded remotely but timed out
// is still undone), run in reverse, in a non-cancellable scope, every failure recorded.
import { CancellationScope } from '@temporalio/workflow';

export type Compensation = { label: string; undo: () => Promise<void> };
export type CompensationReport = { label: string; ok: boolean; error?: string };

export class Saga {
  private readonly stack: Compensation[] = [];

  register(compensation: Compensation): void {
    this.stack.push(compensation);
  }

  /** Drops the compensation registered last (its step turned out to change nothing). */
  forgetLast(): void {
    this.stack.pop();
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
