// The deploy files under ops/deploy/ parse, and say what the code expects:
// the Kubernetes manifests of a replica and of mirrors (js-yaml, as openapi.test.ts uses it), the
// Prometheus rules (every metric an alert names is one the replica exports),
// and the systemd unit's hardening and secret handling.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../apps/replica/src/metrics';

// js-yaml is installed as a dependency of openapi-typescript's parser; it ships no types.
const yaml = createRequire(import.meta.url)('js-yaml') as { load: (text: string) => unknown; loadAll: (text: string) => unknown[] };
const read = (path: string) => readFileSync(new URL(`../ops/deploy/${path}`, import.meta.url), 'utf8');

interface K8sObject {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
}

describe('deploy files', () => {
  it('the Kubernetes manifests parse: one StatefulSet of one replica with a volume claim, probes that do not kill a view change, secrets not readable by others', () => {
    const objects = yaml.loadAll(read('kubernetes/replica-org1.yaml')).filter((o): o is K8sObject => o !== null && o !== undefined) as K8sObject[];
    expect(objects.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Secret', 'Secret', 'Service', 'Service', 'StatefulSet']);
    const config = objects.find((o) => o.kind === 'ConfigMap') as K8sObject;
    const replicaConfig = JSON.parse(config.data?.['config.json'] ?? '') as Record<string, unknown>;
    expect(replicaConfig).toMatchObject({ replicaId: 'r1', host: '0.0.0.0', port: 7001, keystore: { kind: 'encrypted-file' }, tls: { cert: expect.any(String), key: expect.any(String) } });

    const set = objects.find((o) => o.kind === 'StatefulSet') as K8sObject & { spec: { replicas: number; volumeClaimTemplates: unknown[]; template: { spec: { containers: Record<string, unknown>[]; volumes: { secret?: { defaultMode: number } }[] } } } };
    expect(set.spec.replicas).toBe(1);
    expect(set.spec.volumeClaimTemplates).toHaveLength(1);
    const container = set.spec.template.spec.containers[0] as Record<string, { httpGet?: { path: string } } | unknown>;
    expect((container.readinessProbe as { httpGet: { path: string } }).httpGet.path).toBe('/healthz');
    // /healthz answers 503 during a view change: liveness must not use it.
    expect((container.livenessProbe as { httpGet: { path: string } }).httpGet.path).not.toBe('/healthz');
    expect(container.env).toEqual([{ name: 'VCR_KEY_PASSPHRASE_FILE', value: expect.stringMatching(/^\/etc\/vcr\/passphrase\//) }]);
    expect(container.resources).toMatchObject({ requests: { cpu: expect.any(String), memory: expect.any(String) } });
    // Kubernetes reads `0440` as YAML 1.1 octal; js-yaml (YAML 1.2) reads the digits as decimal 440: read them back as octal.
    for (const volume of set.spec.template.spec.volumes) if (volume.secret) expect(Number.parseInt(String(volume.secret.defaultMode), 8) & 0o007).toBe(0);

    const peer = objects.find((o) => o.kind === 'Service' && o.metadata.name.endsWith('-peer')) as K8sObject;
    expect(peer.spec?.publishNotReadyAddresses).toBe(true);
  });

  it('the mirror manifest parses: a scalable Deployment of read-only mirrors, no keystore and no secrets, probes as for a replica', () => {
    const objects = yaml.loadAll(read('kubernetes/mirror.yaml')).filter((o): o is K8sObject => o !== null && o !== undefined) as K8sObject[];
    expect(objects.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'Service']);
    const config = JSON.parse((objects.find((o) => o.kind === 'ConfigMap') as K8sObject).data?.['config.json'] ?? '') as Record<string, unknown>;
    expect(config).toMatchObject({ mirror: { upstream: expect.arrayContaining([expect.stringMatching(/^https:\/\//)]), ca: expect.any(String) } });
    expect(config).not.toHaveProperty('keystore');
    expect(config).not.toHaveProperty('tls');
    const deployment = objects.find((o) => o.kind === 'Deployment') as K8sObject & { spec: { replicas: number; template: { spec: { containers: Record<string, unknown>[]; volumes: { secret?: unknown }[] } } } };
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(deployment.spec.template.spec.volumes.some((v) => v.secret !== undefined)).toBe(false);
    const container = deployment.spec.template.spec.containers[0] as Record<string, unknown>;
    expect((container.readinessProbe as { httpGet: { path: string } }).httpGet.path).toBe('/healthz');
    expect((container.livenessProbe as { httpGet: { path: string } }).httpGet.path).not.toBe('/healthz');
    expect(container.env).toBeUndefined();
  });

  it('the Prometheus rules parse, and every metric they name is one the replica exports', async () => {
    const rules = yaml.load(read('prometheus/vcr-alerts.yaml')) as { groups: { rules: { alert: string; expr: string }[] }[] };
    const alerts = rules.groups.flatMap((g) => g.rules);
    expect(alerts.map((a) => a.alert)).toEqual(expect.arrayContaining(['VcrNoCommits', 'VcrFrequentViewChanges', 'VcrPeerUnreachable', 'VcrRejectedMessages', 'VcrEquivocationEvidence']));
    const metrics = new Metrics();
    metrics.rejected('bad-signature');
    metrics.peerError('r2');
    metrics.peerIntakeDropped('r2');
    const exported = new Set([...(await metrics.render({ replica: 'r1', view: 0, height: 0, connectedPeers: 3, membershipSize: 4 })).matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]));
    expect(exported.has('vcr_connected_peers')).toBe(true);
    for (const { alert, expr } of alerts) {
      for (const [name] of expr.matchAll(/\bvcr_[a-z_]+/g)) expect(exported.has(name.replace(/_(bucket|sum|count)$/, '')), `${alert} names ${name}`).toBe(true);
    }
  });

  it('the systemd unit is hardened, restarts on failure and takes its secrets as credentials', () => {
    const unit = read('systemd/vcr-replica.service');
    const settings = unit.split('\n').filter((l) => /^[A-Za-z]+=/.test(l));
    for (const line of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'ReadWritePaths=/var/lib/vcr-replica', 'Restart=on-failure', 'PrivateTmp=yes', 'CapabilityBoundingSet=', 'User=vcr']) expect(settings).toContain(line);
    expect(settings).toContain('Environment=VCR_KEY_PASSPHRASE_FILE=%d/key-passphrase');
    expect(settings.some((l) => l.startsWith('LoadCredential=key-passphrase:'))).toBe(true);
    // V8's JIT needs writable and executable memory.
    expect(settings.some((l) => l.startsWith('MemoryDenyWriteExecute='))).toBe(false);
  });
});
