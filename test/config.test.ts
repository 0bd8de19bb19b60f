import path from 'node:path';
import { ConfigError, loadConfig } from '../src/config';

describe('loadConfig', () => {
  it('starts with sane defaults on an empty environment: embedded database, port 4000 on loopback', () => {
    const config = loadConfig({}, '/srv/registry');

    expect(config).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      dataDir: path.resolve('/srv/registry', '.data'),
      heartbeatIntervalMs: 15_000,
      staleAfterMs: 45_000,
      selfPreservationShare: 0.5,
      workers: 1,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reports every problem at once, naming each variable', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        LOG_LEVEL: 'loud',
        SELF_PRESERVATION_SHARE: '2',
        BOOTSTRAP: 'maybe',
        OPERATOR_KEY: 'short',
      });
    } catch (e) {
      error = e;
    }

    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const key of ['PORT', 'DATABASE_URL', 'LOG_LEVEL', 'SELF_PRESERVATION_SHARE', 'BOOTSTRAP', 'OPERATOR_KEY']) {
      expect(problems).toContain(key);
    }
    expect((error as ConfigError).problems).toHaveLength(6);
  });

  it('refuses a stale timeout that is not longer than the heartbeat interval', () => {
    expect(() => loadConfig({ HEARTBEAT_INTERVAL_MS: '5000', STALE_AFTER_MS: '5000' })).toThrow(ConfigError);
  });

  it('reads the scaling knobs with their defaults, and refuses a target utilisation outside (0, 1]', () => {
    expect(loadConfig({})).toMatchObject({
      scalingTargetUtilisation: 0.7,
      scalingTolerance: 0.1,
      scalingStabilisationMs: 300_000,
      scalingIntervalMs: 15_000,
    });
    expect(loadConfig({ SCALING_TARGET_UTILISATION: '0.5', SCALING_TOLERANCE: '0' })).toMatchObject({
      scalingTargetUtilisation: 0.5,
      scalingTolerance: 0,
    });
    for (const value of ['0', '1.5', 'high']) {
      expect(() => loadConfig({ SCALING_TARGET_UTILISATION: value })).toThrow(/SCALING_TARGET_UTILISATION/);
    }
    expect(() => loadConfig({ SCALING_TOLERANCE: '-0.1' })).toThrow(/SCALING_TOLERANCE/);
  });

  it('reads the routing and circuit knobs with their defaults, and refuses values out of range', () => {
    // variable, config field, default, a value to set, values refused
    const knobs: [string, string, number, number, string[]][] = [
      ['ROUTING_AFFINITY_EPSILON', 'routingAffinityEpsilon', 0.25, 0.5, ['0', '11', 'wide']],
      ['CIRCUIT_FAILURE_THRESHOLD', 'circuitFailureThreshold', 5, 3, ['0', '2.5', '1001']],
      ['CIRCUIT_BASE_EJECTION_MS', 'circuitBaseEjectionMs', 30_000, 1000, ['0', '-5']],
      ['CIRCUIT_MAX_EJECTION_MS', 'circuitMaxEjectionMs', 300_000, 600_000, ['0']],
      ['CIRCUIT_MAX_EJECTED_SHARE', 'circuitMaxEjectedShare', 0.1, 0.5, ['1.5', '-0.1']],
      ['CIRCUIT_PROBE_TIMEOUT_MS', 'circuitProbeTimeoutMs', 10_000, 2000, ['0', 'soon']],
    ];
    const defaults = loadConfig({}) as unknown as Record<string, number>;
    for (const [name, field, byDefault, value, refused] of knobs) {
      expect([name, defaults[field]]).toEqual([name, byDefault]);
      expect([name, (loadConfig({ [name]: String(value) }) as unknown as Record<string, number>)[field]]).toEqual([name, value]);
      for (const bad of refused) expect(() => loadConfig({ [name]: bad })).toThrow(new RegExp(name));
    }
    // the ejection grows from the base up to the maximum: a maximum below the base is refused
    expect(() => loadConfig({ CIRCUIT_BASE_EJECTION_MS: '60000', CIRCUIT_MAX_EJECTION_MS: '30000' })).toThrow(
      /CIRCUIT_MAX_EJECTION_MS must be at least CIRCUIT_BASE_EJECTION_MS/,
    );
  });

  it('spaces outcome statements 200 ms apart by default; 0 writes each as soon as the previous committed', () => {
    expect(loadConfig({})).toMatchObject({ outcomeBatchIntervalMs: 200, outcomeBatchMax: 2000 });
    expect(loadConfig({ OUTCOME_BATCH_INTERVAL_MS: '0' }).outcomeBatchIntervalMs).toBe(0);
    for (const value of ['-1', '10001', 'soon', '1.5']) {
      expect(() => loadConfig({ OUTCOME_BATCH_INTERVAL_MS: value })).toThrow(/OUTCOME_BATCH_INTERVAL_MS/);
    }
  });

  it('runs several API workers only on PostgreSQL', () => {
    expect(() => loadConfig({ WORKERS: '2' })).toThrow(/WORKERS > 1 needs DATABASE_URL/);
    expect(loadConfig({ WORKERS: '2', DATABASE_URL: 'postgresql://localhost/registry' }).workers).toBe(2);
  });
});
