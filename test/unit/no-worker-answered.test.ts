import { ServiceError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { noWorkerAnswered } from '../../clients/unanswered.js';

/** An error shaped as @grpc/grpc-js throws it. */
const grpc = (code: number, details: string) => Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
const queryFailed = (cause: Error) => new ServiceError('Failed to query Workflow', { cause });

describe('noWorkerAnswered', () => {
  it('is true for each way Temporal says no worker took the query', () => {
    expect(noWorkerAnswered(queryFailed(grpc(4, 'context deadline exceeded')))).toBe(true);
    expect(noWorkerAnswered(queryFailed(grpc(9, 'no poller seen for task queue recently, worker may be down')))).toBe(true);
    expect(noWorkerAnswered(queryFailed(grpc(1, 'Call cancelled')))).toBe(true);
  });

  it('is false for other failures, including other failed preconditions', () => {
    expect(noWorkerAnswered(queryFailed(grpc(9, 'workflow task in failed state')))).toBe(false);
    expect(noWorkerAnswered(queryFailed(grpc(3, 'INVALID_ARGUMENT: bad')))).toBe(false);
    expect(noWorkerAnswered(new Error('context deadline exceeded'))).toBe(false);
    expect(noWorkerAnswered(undefined)).toBe(false);
  });
});
