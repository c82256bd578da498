// Temporal's time-skipping test server for the workflow tests (test/workflows/): the Java one,
// `io.temporal.testserver.TestServer <port>` from Maven Central (no other download), gathered once
// into the cache and started by the SDK's TestWorkflowEnvironment.createTimeSkipping through a small
// wrapper script. The SDK gives the server 5 s to come up; a JVM loading 40 jars takes about 4 s
// on two busy cores, so the class-data-sharing archive made here once (about 1 s then) matters.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../schemas/config.js';
import { javaBinary } from './kafka.js';
import { freePort } from './processes.js';
import { requireCommand, run, type Reporter } from './shell.js';

/** io.temporal:temporal-test-server (the Java SDK's release; the newest on Maven Central when written). */
export const TEST_SERVER_VERSION = '1.38.0';

const MAIN_CLASS = 'io.temporal.testserver.TestServer';

/**
 * The wrapper script that runs the test server (`<script> <port>`), for
 * `executable: { type: 'existing-path', path }`. Gathers the jars on first use (Maven), then reuses
 * them from `<cacheDir>/temporal-test-server-<version>`. Safe when two runs share the cache.
 */
export async function obtainTestServer(cacheDir: string, report: Reporter): Promise<string> {
  const home = path.join(cacheDir, `temporal-test-server-${TEST_SERVER_VERSION}`);
  const libs = path.join(home, 'libs');
  const script = path.join(home, 'temporal-test-server');
  if (existsSync(script) && existsSync(libs)) return script;
  const java = javaBinary();
  if (!existsSync(libs)) await gatherJars(libs, report);
  const archive = path.join(home, 'classes.jsa');
  if (!existsSync(archive)) await makeClassArchive(java, libs, archive, report);
  const jvm = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', ...(existsSync(archive) ? [`-XX:SharedArchiveFile=${archive}`, '-Xlog:cds=off'] : [])];
  const tmp = `${script}.${process.pid}`;
  writeFileSync(
    tmp,
    ['#!/bin/sh', `# Temporal's time-skipping test server ${TEST_SERVER_VERSION} (written by stack/temporal-test-server.ts); $1 is the port.`, `exec ${quote(java)} ${jvm.map(quote).join(' ')} -cp ${quote(`${libs}/*`)} ${MAIN_CLASS} "$@"`, ''].join('\n'),
    { mode: 0o755 },
  );
  renameSync(tmp, script);
  return script;
}

async function gatherJars(libs: string, report: Reporter): Promise<void> {
  const mvn = requireCommand('mvn', 'Maven and Java 17 (Debian: apt-get install -y maven openjdk-17-jdk-headless): the workflow tests run on Temporal\'s Java test server from Maven Central');
  report(`temporal-test-server: fetching ${TEST_SERVER_VERSION} and its jars from Maven Central into ${libs}`);
  // Into a folder of our own, then renamed: a run sharing the cache never sees half a folder.
  const tmp = `${libs}.${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  let downloaded = 0;
  await run(mvn, [
    '-B', '-f', path.join(projectRoot, 'stack', 'temporal-test-server', 'pom.xml'),
    `-Dtemporal.version=${TEST_SERVER_VERSION}`,
    'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies',
    '-DincludeScope=runtime', `-DoutputDirectory=${tmp}`,
  ], {
    onLine: (line) => {
      if (/^\[INFO\] Downloaded from/.test(line)) {
        downloaded += 1;
        if (downloaded % 10 === 0) report(`temporal-test-server: ${downloaded} artifacts downloaded...`);
      } else if (/ERROR/.test(line)) report(`temporal-test-server: ${line}`);
    },
  });
  try {
    renameSync(tmp, libs);
  } catch (err) {
    // Another run finished first: its jars are the same.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(libs)) throw err;
  }
  report(`temporal-test-server: ${readdirSync(libs).filter((f) => f.endsWith('.jar')).length} jars ready`);
}

/**
 * Runs the server once, until it listens, with -XX:ArchiveClassesAtExit: the JVM then writes the
 * classes it loaded into an archive that later starts map instead of loading them again. Best
 * effort: without it the server starts more slowly, and the tests retry a start that timed out.
 */
async function makeClassArchive(java: string, libs: string, archive: string, report: Reporter): Promise<void> {
  report('temporal-test-server: writing a class-data-sharing archive for fast starts');
  const tmp = `${archive}.${process.pid}`;
  const port = await freePort();
  const child = spawn(java, ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', `-XX:ArchiveClassesAtExit=${tmp}`, '-cp', `${libs}/*`, MAIN_CLASS, String(port)], { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 60_000;
    while (!(await listening(port))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error('the test server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    // A SIGTERM is an orderly JVM exit: the archive is written then.
    child.kill('SIGTERM');
    await exited;
    if (existsSync(tmp)) renameSync(tmp, archive);
  } catch (err) {
    child.kill('SIGKILL');
    report(`temporal-test-server: no class archive (${err instanceof Error ? err.message : String(err)}); starts are slower`);
  } finally {
    rmSync(tmp, { force: true });
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
