// How the CLI, the demo and the processes fail: one line that says what failed and where to look,
// a deadline on every demo step, reads with fresh deadlines, a crash noticed at once.
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandFailure, failureLine, kafkaReason, oneLine } from '../../cli/failure.js';
import { read, readCall, step, watchProcesses } from '../../cli/commands/demo-steps.js';
import { InvalidRequestError, TransientError } from '../../connectors/errors.js';
import { DevProcessWatch } from '../../cli/dev-process.js';
import { assertPortFree, listenError, PortInUseError } from '../../runtime/ports.js';
import { run } from '../../stack/shell.js';

/** An error shaped like kafkajs's: a retried request wraps the broker's answer as its cause. */
function kafkaError(type: string, message: string): Error {
  const broker = Object.assign(new Error(message), { name: 'KafkaJSProtocolError', type });
  return Object.assign(new Error(message, { cause: broker }), { name: 'KafkaJSNumberOfRetriesExceeded' });
}

describe('the line a failed command ends with', () => {
  it('is the message of a CommandFailure as it is, on one line', () => {
    expect(failureLine(new CommandFailure('demo: step 3/6 (provisioner dev) failed:\nport 1 is in use'))).toBe('demo: step 3/6 (provisioner dev) failed:; port 1 is in use');
  });

  it("is the broker's reason for a kafkajs error, with what to do about it, not a stack", () => {
    const line = failureLine(kafkaError('UNKNOWN_TOPIC_OR_PARTITION', 'This server does not host this topic-partition'));
    expect(line).toBe(
      'provisioner: Kafka: This server does not host this topic-partition (UNKNOWN_TOPIC_OR_PARTITION): the topic does not exist and the broker does not create topics; `provisioner stack up` creates the configured ones',
    );
    expect(kafkaReason(new Error('not kafka'))).toBeUndefined();
  });

  it('keeps the stack of a programmer error, and puts any other error on one line', () => {
    expect(failureLine(new TypeError('x is not a function'))).toMatch(/^provisioner: TypeError: x is not a function\n\s+at /);
    expect(failureLine(new Error('stack up failed:\nkafka: down\ntemporal: down'))).toBe('provisioner: stack up failed:; kafka: down; temporal: down');
    expect(failureLine(new PortInUseError(9466, 'http.devPort'))).toBe(
      'provisioner: port 9466 is in use (http.devPort); stop the process that holds it, or give http.devPort another port',
    );
    expect(oneLine('  a \n\n b ')).toBe('a; b');
  });
});

describe('a taken port', () => {
  let held: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (held ? held.close(() => resolve()) : resolve())));

  it('is refused before start-up with the port and the setting that chose it', async () => {
    held = createServer();
    await new Promise<void>((resolve) => held!.listen(0, '127.0.0.1', resolve));
    const port = (held.address() as { port: number }).port;
    await expect(assertPortFree(port, 'http.devPort')).rejects.toThrow(new PortInUseError(port, 'http.devPort'));
    await expect(assertPortFree(0, 'http.devPort')).resolves.toBeUndefined();
    const other = new Error('EACCES');
    expect(listenError(other, port, 'x')).toBe(other);
  });
});

describe('a demo step', () => {
  const quiet = () => undefined;

  it('that passes its deadline fails with one line naming the step and its log', async () => {
    const never = new Promise<never>(() => undefined);
    await expect(step(5, 'waiting until each hire has converged', { name: 'waiting', deadlineMs: 50, log: '/x/dev.log' }, quiet, () => never)).rejects.toThrow(
      new CommandFailure('demo: step 5/8 (waiting) failed: no result after 0 s; see /x/dev.log'),
    );
  });

  it('whose reason names a log already does not name a second one', async () => {
    const failing = () => Promise.reject(new Error('kafka: not healthy after 90 s; see /x/kafka.log'));
    await expect(step(1, 'the local stack (Kafka, ...)', { name: 'the stack', deadlineMs: 1000, log: '/x' }, quiet, failing)).rejects.toThrow(
      new CommandFailure('demo: step 1/8 (the stack) failed: kafka: not healthy after 90 s; see /x/kafka.log'),
    );
  });

  it('fails within the watch interval when a process it depends on dies', async () => {
    let alive = true;
    const watch = watchProcesses([{ name: 'the code app', alive: () => alive, logFile: '/x/app-code.log' }], undefined, 20);
    const started = Date.now();
    setTimeout(() => (alive = false), 50);
    const never = new Promise<never>(() => undefined);
    await expect(step(6, 'an access request', { name: 'the request', deadlineMs: 60_000, log: '/x/dev.log', watch }, quiet, () => never)).rejects.toThrow(
      new CommandFailure('demo: step 6/8 (the request) failed: the code app is no longer running; see /x/app-code.log'),
    );
    expect(Date.now() - started).toBeLessThan(2000);
    watch.stop();
  });
});

describe("the demo's reads of the apps", () => {
  it('get a deadline counted from the read, not from the start of the command (a cold first stack up takes minutes)', async () => {
    const early = readCall(20);
    await new Promise((r) => setTimeout(r, 60));
    expect(early.signal.aborted).toBe(true); // what a context made at start-up was by the time of the read-back
    expect(readCall(20).signal.aborted).toBe(false);
  });

  it('are retried with a fresh deadline while the app times out, and not when the request is wrong', async () => {
    const signals: AbortSignal[] = [];
    let calls = 0;
    const value = await read(
      async (call) => {
        signals.push(call.signal);
        calls += 1;
        if (calls < 3) throw new TransientError('code: getAccount: GET /Users timed out after 10000 ms', 'code');
        return 'account';
      },
      { initialDelayMs: 1 },
    );
    expect(value).toBe('account');
    expect(new Set(signals).size).toBe(3);

    let wrong = 0;
    await expect(read(async () => ((wrong += 1), Promise.reject(new InvalidRequestError('bad filter', 'code'))), { initialDelayMs: 1 })).rejects.toThrow('bad filter');
    expect(wrong).toBe(1);
  });
});

describe("the watch on provisioner dev's log", () => {
  it("reports the supervisor's exit line with the process's last words, and only what was written after the watch began", () => {
    const log = path.join(mkdtempSync(path.join(tmpdir(), 'dev-watch-')), 'dev.log');
    writeFileSync(log, 'supervisor: provisioner dev exited with 1; restarting in 2 s\n');
    const watch = new DevProcessWatch(log);
    expect(watch.exited()).toBeUndefined();
    appendFileSync(log, `${JSON.stringify({ level: 30, msg: 'worker ready' })}\n`);
    expect(watch.exited()).toBeUndefined();
    appendFileSync(log, `${JSON.stringify({ level: 60, msg: 'the worker stopped with an error', err: { message: 'boom' } })}\nsupervisor: provisioner dev exited`);
    expect(watch.exited()).toBeUndefined(); // a line not yet complete
    appendFileSync(log, ' with 1; restarting in 2 s\n');
    expect(watch.exited()).toBe('provisioner dev exited with 1 (the worker stopped with an error: boom)');
  });
});

describe('an installer or helper command that fails', () => {
  it('fails with one line (command, status, last line) and leaves its whole output in a log file', async () => {
    const logFile = path.join(mkdtempSync(path.join(tmpdir(), 'run-')), 'build.log');
    const err = (await run('sh', ['-c', 'echo step one; echo step two >&2; echo the real reason >&2; exit 3'], { logFile }).catch((e: Error) => e)) as Error;
    expect(err.message).toBe(`sh -c echo step one; echo step two >&2; echo the real reason >&2; exit 3 exited with 3: the real reason; output in ${logFile}`);
    expect(readFileSync(logFile, 'utf8')).toContain('step one');
    expect(readFileSync(logFile, 'utf8')).toContain('step two');
  });
});
