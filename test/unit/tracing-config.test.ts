// Tracing is off unless an OTLP endpoint is configured; the environment's variables (ours and
// OpenTelemetry's standard ones) set it, ours winning; and what a span carries out is scrubbed to
// the allowed attributes.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../schemas/config.js';
import { otlpTracesUrl, startTracing, tracingOff } from '../../observability/tracing/provider.js';
import { AllowedAttributesProcessor } from '../../observability/tracing/allowed-attributes.js';

const root = mkdtempSync(path.join(tmpdir(), 'provisioner-tracing-'));

describe('tracing configuration', () => {
  it('is off by default: no endpoint, nothing registered, the global tracer records nothing', () => {
    const cfg = loadConfig({ env: {}, root });
    expect(cfg.tracing).toEqual({ sampleRatio: 1 });
    expect(otlpTracesUrl(cfg.tracing)).toBeUndefined();
    expect(startTracing(cfg.tracing, 'provisioner-test')).toBe(tracingOff);
    expect(trace.getTracer('test').startSpan('nothing').isRecording()).toBe(false);
  });

  it('takes PROVISIONER_OTLP_ENDPOINT as the collector and sends to its /v1/traces', () => {
    const cfg = loadConfig({ env: { PROVISIONER_OTLP_ENDPOINT: 'http://collector:4318/', PROVISIONER_TRACE_SAMPLE_RATIO: '0.25' }, root });
    expect(cfg.tracing).toEqual({ otlpEndpoint: 'http://collector:4318/', sampleRatio: 0.25 });
    expect(otlpTracesUrl(cfg.tracing)).toBe('http://collector:4318/v1/traces');
  });

  it("honours OpenTelemetry's standard variables, the traces URL as is, and ours over both", () => {
    expect(otlpTracesUrl(loadConfig({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318' }, root }).tracing)).toBe('http://otel:4318/v1/traces');
    expect(otlpTracesUrl(loadConfig({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://otel:4318/custom/traces' }, root }).tracing)).toBe('https://otel:4318/custom/traces');
    const ours = loadConfig({ env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://otel:4318/custom/traces', PROVISIONER_OTLP_ENDPOINT: 'http://ours:4318' }, root });
    expect(otlpTracesUrl(ours.tracing)).toBe('http://ours:4318/v1/traces');
  });

  it('refuses an endpoint that is not an http(s) URL and a ratio outside 0..1, naming the variable', () => {
    expect(() => loadConfig({ env: { PROVISIONER_OTLP_ENDPOINT: 'collector:4318' }, root })).toThrow(/tracing\.otlpEndpoint \(set by PROVISIONER_OTLP_ENDPOINT\)/);
    expect(() => loadConfig({ env: { PROVISIONER_TRACE_SAMPLE_RATIO: '2' }, root })).toThrow(ConfigError);
  });
});

describe('span attributes', () => {
  it('leave the process only when allowed: no workflow id, no exception message, no status message', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new AllowedAttributesProcessor(new SimpleSpanProcessor(exporter))] });
    const span = provider.getTracer('test').startSpan('RunActivity:ensureScimUser', { attributes: { temporalWorkflowId: 'identity/E1234567', run_id: 'r-1', 'provisioner.app': 'chat', searchAttributes: 'E1234567' } });
    span.recordException(new Error('chat: create user answered 409 (uniqueness: alice@example.com)'));
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'alice@example.com' });
    span.end();
    await provider.forceFlush();
    const [done] = exporter.getFinishedSpans();
    expect(done!.attributes).toEqual({ run_id: 'r-1', 'provisioner.app': 'chat' });
    expect(done!.events[0]!.attributes).toEqual({ 'exception.type': 'Error' });
    expect(done!.status).toEqual({ code: SpanStatusCode.ERROR });
    expect(JSON.stringify(done!.attributes) + JSON.stringify(done!.events)).not.toMatch(/E1234567|alice/);
  });
});
