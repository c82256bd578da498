// The trace of one hire, received over OTLP/HTTP by a receiver this test runs: the real worker and
// ingress (one process here, as `provisioner dev` runs them) export to it, and the hire's Kafka
// message carries an upstream W3C traceparent. Every span of the hire is in that trace, linked from
// the Kafka message to the SCIM call, and no span carries the person's id, name or e-mail.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger } from '../../observability/logger.js';
import { startTracing, type Tracing } from '../../observability/tracing/provider.js';
import { identityWorkflowId } from '../../workflows/messages.js';
import { hrEvent } from '../helpers/hr-events.js';
import { eventually, startPipeline, type Pipeline } from '../helpers/pipeline.js';

// OTLP JSON (opentelemetry-proto's JSON mapping, ids in hex), the part this test reads.
const anyValue = z.object({ stringValue: z.string().optional(), intValue: z.union([z.string(), z.number()]).optional(), boolValue: z.boolean().optional(), doubleValue: z.number().optional() }).loose();
const keyValue = z.object({ key: z.string(), value: anyValue });
const span = z.object({
  traceId: z.string().regex(/^[0-9a-f]{32}$/),
  spanId: z.string().regex(/^[0-9a-f]{16}$/),
  parentSpanId: z.string().optional(),
  name: z.string(),
  kind: z.number(),
  attributes: z.array(keyValue).default([]),
  events: z.array(z.object({ name: z.string(), attributes: z.array(keyValue).default([]) }).loose()).default([]),
  status: z.object({ code: z.number().optional(), message: z.string().optional() }).loose().optional(),
}).loose();
const exportRequest = z.object({
  resourceSpans: z.array(z.object({
    resource: z.object({ attributes: z.array(keyValue) }).loose(),
    scopeSpans: z.array(z.object({ spans: z.array(span) }).loose()),
  }).loose()),
});
type ReceivedSpan = z.infer<typeof span> & { service: string };

const SPAN_KIND = { CLIENT: 3, CONSUMER: 5 };
const attribute = (s: ReceivedSpan, key: string) => {
  const v = s.attributes.find((a) => a.key === key)?.value;
  return v?.stringValue ?? (v?.intValue !== undefined ? Number(v.intValue) : undefined);
};

/** A minimal OTLP/HTTP receiver: POST /v1/traces with a JSON body, every span kept with its service. */
function startReceiver(): Promise<{ server: Server; url: string; spans: ReceivedSpan[]; bodies: string[] }> {
  const spans: ReceivedSpan[] = [];
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !String(req.headers['content-type']).startsWith('application/json')) {
        res.writeHead(415).end();
        return;
      }
      bodies.push(body);
      for (const rs of exportRequest.parse(JSON.parse(body)).resourceSpans) {
        const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
        for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, service });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, bodies })));
}

let receiver: Awaited<ReturnType<typeof startReceiver>>;
let tracing: Tracing;
let p: Pipeline;
const logLines: Array<Record<string, unknown>> = [];
beforeAll(async () => {
  receiver = await startReceiver();
  tracing = startTracing({ otlpEndpoint: receiver.url, sampleRatio: 1 }, 'provisioner-traces-test');
  const logger = createLogger({ level: 'debug', name: 'traces-test', destination: new Writable({ write: (chunk: Buffer, _e, done) => (logLines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) }) });
  p = await startPipeline({ appNames: ['chat'], tracing, logger });
});
afterAll(async () => {
  await p?.close();
  await tracing?.shutdown();
  await new Promise((r) => receiver?.server.close(r));
});

const inTrace = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);

/**
 * The first SCIM client span of the trace that `matches`, once it and its ancestors up to a Kafka
 * consumer span are exported (an activity's spans end, and are exported, after its calls' spans).
 */
const scimSpan = (traceId: string, matches: (s: ReceivedSpan) => boolean) =>
  eventually(`a SCIM call exported in trace ${traceId}, linked up to its Kafka message`, async () => {
    await tracing.flush();
    return inTrace(traceId).find((s) => s.kind === SPAN_KIND.CLIENT && attribute(s, 'http.request.method') !== undefined && matches(s) && chainOf(s).at(-1)!.kind === SPAN_KIND.CONSUMER);
  }, 90_000);

/** The span and its ancestors in its trace, up to the first whose parent is not in the trace (the upstream span). */
function chainOf(span: ReceivedSpan): ReceivedSpan[] {
  const byId = new Map(inTrace(span.traceId).map((s) => [s.spanId, s]));
  const chain: ReceivedSpan[] = [];
  for (let s: ReceivedSpan | undefined = span; s; s = s.parentSpanId ? byId.get(s.parentSpanId) : undefined) chain.push(s);
  return chain;
}

const traceparent = () => ({ traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex') });
const header = (t: { traceId: string; spanId: string }) => ({ traceparent: `00-${t.traceId}-${t.spanId}-01` });

describe('traces', () => {
  it("a hire's trace runs from its Kafka message to the SCIM call, in the HRIS's trace, with no personal value in any span", async () => {
    const canary = `Canary${randomBytes(4).toString('hex')}`;
    const employeeId = `E${Date.now().toString().slice(-7)}${randomBytes(1).toString('hex')}`.toUpperCase();
    const email = `${canary.toLowerCase()}@example.com`;
    const hire = hrEvent(employeeId);
    Object.assign(hire.data, { givenName: canary, familyName: canary, email });
    // The HRIS's own span: the hire's trace continues it.
    const { traceId, spanId: upstreamSpanId } = traceparent();
    await p.produce([{ key: employeeId, value: JSON.stringify(hire), headers: { ...header({ traceId, spanId: upstreamSpanId }), tracestate: 'hris=1', baggage: `hr.email=${encodeURIComponent(email)}` } }]);

    const scimCreate = await scimSpan(traceId, (s) => s.name === 'POST /Users');
    const spans = inTrace(traceId);
    const chain = chainOf(scimCreate);
    const names = chain.map((s) => s.name);
    expect(names).toHaveLength(5);
    expect(names[0]).toBe('POST /Users');
    expect(names[1]).toMatch(/^RunActivity:/);
    expect(names[2]).toBe(names[1]!.replace('RunActivity:', 'StartActivity:'));
    expect(names[3]).toBe('SignalWithStartWorkflow:identityLifecycle');
    expect(names[4]).toBe(`process ${p.cfg.kafka.topics.hrLifecycle}`);
    // The consumer span is the child of the HRIS's span: the trace is the one the event came with.
    const consumer = chain[4]!;
    expect(consumer.parentSpanId).toBe(upstreamSpanId);
    expect(consumer.kind).toBe(SPAN_KIND.CONSUMER);
    expect(attribute(consumer, 'messaging.system')).toBe('kafka');
    expect(attribute(consumer, 'messaging.destination.name')).toBe(p.cfg.kafka.topics.hrLifecycle);
    expect(attribute(consumer, 'messaging.destination.partition.id')).toMatch(/^\d+$/);
    expect(typeof attribute(consumer, 'messaging.kafka.offset')).toBe('number');
    expect(attribute(consumer, 'provisioner.disposition')).toBe('handled');
    // The SCIM client span: method, route template, status, application.
    expect(attribute(scimCreate, 'http.request.method')).toBe('POST');
    expect(attribute(scimCreate, 'url.template')).toBe('/Users');
    expect(attribute(scimCreate, 'http.response.status_code')).toBe(201);
    expect(attribute(scimCreate, 'provisioner.app')).toBe('chat');
    // The workflow received the signal in the same trace; the plan's read ran in it too (GET /Users, a filter never in the span).
    expect(spans.some((s) => s.name === 'HandleSignal:hrEventReceived' && s.parentSpanId === chain[3]!.spanId)).toBe(true);
    expect(spans.filter((s) => s.name.startsWith('StartActivity:')).every((s) => s.parentSpanId === chain[3]!.spanId)).toBe(true);
    expect(spans.some((s) => s.name === 'GET /Users' && attribute(s, 'url.template') === '/Users')).toBe(true);
    // Worker spans and workflow spans (through the sink) are both there, with the process's service name.
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['provisioner-traces-test']));

    // A log line written inside a span carries its trace id.
    expect(logLines.some((l) => l.msg === 'SCIM request' && l.traceId === traceId)).toBe(true);

    // The trace context reached the workflow's headers (they are not encrypted), the HRIS's baggage did not.
    const history = await p.ingress.client.workflow.getHandle(identityWorkflowId(employeeId)).fetchHistory();
    const headerText = (history.events ?? [])
      .flatMap((e) => [e.workflowExecutionStartedEventAttributes?.header, e.workflowExecutionSignaledEventAttributes?.header, e.activityTaskScheduledEventAttributes?.header])
      .flatMap((h) => Object.values(h?.fields ?? {}))
      .map((payload) => Buffer.from(payload.data ?? []).toString())
      .join('\n');
    expect(headerText).toContain(traceId);
    expect(headerText).not.toContain('baggage');
    expect(headerText.toLowerCase()).not.toContain(canary.toLowerCase());

    // Nothing exported (any trace, any span, attribute, event or status) holds the person.
    const exported = receiver.bodies.join('\n').toLowerCase();
    for (const secret of [employeeId, canary, email]) expect(exported).not.toContain(secret.toLowerCase());
  });

  it("a leaver's steps, in the person's running workflow, are in the leaver's trace, not the hire's", async () => {
    const employeeId = `E${Date.now().toString().slice(-7)}${randomBytes(1).toString('hex')}`.toUpperCase();
    const hired = traceparent();
    await p.produce([{ key: employeeId, value: JSON.stringify(hrEvent(employeeId)), headers: header(hired) }]);
    await scimSpan(hired.traceId, (s) => s.name === 'POST /Users');
    // The hire done (its outcome published) before the leaver arrives: work after a later message is traced under that one.
    await eventually('the hire published', async () => (await tracing.flush(), inTrace(hired.traceId).find((s) => s.name === 'RunActivity:publishOutcome')), 90_000);
    const left = traceparent();
    await p.produce([{ key: employeeId, value: JSON.stringify(hrEvent(employeeId, { type: 'hr.worker.terminated', sequence: 2, data: { status: 'terminated' } })), headers: header(left) }]);
    // The leaver's write to the account (the test policy deletes it; a disable is a PATCH or PUT) in the leaver's trace, its chain ending at the leaver's message.
    const disable = await scimSpan(left.traceId, (s) => /^(PATCH|PUT|DELETE) \/Users\/\{id\}$/.test(s.name));
    const names = chainOf(disable).map((s) => s.name);
    expect(names.slice(1, 3).map((n) => n.split(':')[0])).toEqual(['RunActivity', 'StartActivity']);
    expect(names.slice(3)).toEqual(['SignalWithStartWorkflow:identityLifecycle', `process ${p.cfg.kafka.topics.hrLifecycle}`]);
    expect(chainOf(disable).at(-1)!.parentSpanId).toBe(left.spanId);
    // And none of the hire's trace is a write after the create: the leaver's work did not land there.
    expect(inTrace(hired.traceId).some((s) => /^(PATCH|PUT|DELETE) \/Users/.test(s.name))).toBe(false);
  });
});
