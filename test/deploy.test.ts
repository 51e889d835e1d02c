// The deploy files under ops/deploy/ parse, and say what the code expects:
// the Kubernetes manifests of a replica and of mirrors (js-yaml, as openapi.test.ts uses it), the
// Prometheus rules (every metric an alert names is one the replica exports),
// and the systemd unit's hardening and secret handling.

import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
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

// The shape of the rendered objects this test relies on: a schema check of the fields the replica needs.
const k8sObject = z.object({
  apiVersion: z.string().regex(/^(v1|apps\/v1)$/),
  kind: z.enum(['ConfigMap', 'Service', 'StatefulSet']),
  metadata: z.object({ name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/), namespace: z.string(), labels: z.record(z.string(), z.string()).optional() }),
  data: z.record(z.string(), z.string()).optional(),
  spec: z.record(z.string(), z.unknown()).optional(),
});
const probe = z.object({ httpGet: z.object({ path: z.string(), port: z.string(), scheme: z.literal('HTTPS') }) });
const statefulSet = z.object({
  spec: z.object({
    replicas: z.number(),
    serviceName: z.string(),
    selector: z.object({ matchLabels: z.record(z.string(), z.string()) }),
    template: z.object({
      spec: z.object({
        securityContext: z.record(z.string(), z.unknown()),
        containers: z.array(
          z.object({
            image: z.string(),
            command: z.array(z.string()),
            readinessProbe: probe,
            livenessProbe: probe,
            startupProbe: probe,
            securityContext: z.record(z.string(), z.unknown()),
            volumeMounts: z.array(z.object({ name: z.string(), mountPath: z.string() })),
          }),
        ).length(1),
        volumes: z.array(z.object({ name: z.string(), configMap: z.object({ name: z.string() }).optional(), secret: z.object({ secretName: z.string(), defaultMode: z.number() }).optional() })),
      }),
    }),
    volumeClaimTemplates: z.array(z.object({ metadata: z.object({ name: z.string() }) })),
  }),
});

describe('deploy files', () => {
  it('every organization overlay renders with kubectl kustomize: one StatefulSet of one compiled replica, its own id and namespace, /readyz and /livez probes, non-root with a read-only root, data on a volume claim', () => {
    const overlays = readdirSync(new URL('../ops/deploy/kubernetes/overlays/', import.meta.url)).sort();
    expect(overlays).toEqual(['org1', 'org2', 'org3', 'org4']);
    for (const [i, org] of overlays.entries()) {
      const rendered = spawnSync('kubectl', ['kustomize', fileURLToPath(new URL(`../ops/deploy/kubernetes/overlays/${org}`, import.meta.url))], { encoding: 'utf8' });
      expect(rendered.error, 'kubectl is needed (apt-get install kubernetes-client)').toBeUndefined();
      expect(rendered.status, rendered.stderr).toBe(0);
      const objects = yaml.loadAll(rendered.stdout).filter((o) => o !== null && o !== undefined).map((o) => k8sObject.parse(o));
      expect(objects.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Service', 'Service', 'StatefulSet']);
      for (const o of objects) {
        expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe(`vcr-${org}`);
        expect(o.metadata.labels?.['vcr.example/replica']).toBe(`r${i + 1}`);
      }
      const config = objects.find((o) => o.kind === 'ConfigMap');
      const replicaConfig = JSON.parse(config?.data?.['config.json'] ?? '') as Record<string, unknown>;
      expect(replicaConfig).toMatchObject({ replicaId: `r${i + 1}`, host: '0.0.0.0', port: 7001, dataDir: '/var/lib/vcr', keystore: { kind: 'encrypted-file' }, tls: { cert: expect.any(String), key: expect.any(String) } });
      expect(Object.keys(config?.data ?? {}).sort()).toEqual(['ca.crt', 'config.json', 'genesis.json']);

      const set = statefulSet.parse(objects.find((o) => o.kind === 'StatefulSet'));
      expect(set.spec.replicas).toBe(1);
      expect(set.spec.volumeClaimTemplates.map((v) => v.metadata.name)).toEqual(['data']);
      // The generated ConfigMap's hashed name is what the pod mounts.
      expect(set.spec.template.spec.volumes.find((v) => v.name === 'config')?.configMap?.name).toBe(config?.metadata.name);
      expect(set.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
      const container = set.spec.template.spec.containers[0];
      expect(container?.image).toMatch(/^registry\.example\.org\/vcr\/replica:/);
      expect(container?.command).toEqual(['node', '/opt/vcr/apps/replica/dist/replica.mjs', '--config', '/etc/vcr/config/config.json']);
      expect(JSON.stringify(container)).not.toMatch(/tsx|\.ts"/);
      expect(container?.readinessProbe.httpGet.path).toBe('/readyz');
      expect(container?.livenessProbe.httpGet.path).toBe('/livez');
      expect(container?.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
      expect(container?.volumeMounts.find((m) => m.name === 'data')?.mountPath).toBe(replicaConfig.dataDir);
      // kustomize writes the base's `0440` (YAML 1.1 octal) back as decimal 288: nothing for other users.
      for (const volume of set.spec.template.spec.volumes) if (volume.secret) expect(volume.secret.defaultMode).toBe(0o440);
      const peer = objects.find((o) => o.kind === 'Service' && o.metadata.name.endsWith('-peer'));
      expect(peer?.spec?.publishNotReadyAddresses).toBe(true);
    }
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
    expect((container.readinessProbe as { httpGet: { path: string } }).httpGet.path).toBe('/readyz');
    expect((container.livenessProbe as { httpGet: { path: string } }).httpGet.path).toBe('/livez');
    expect(container.command).toEqual(['node', '/opt/vcr/apps/replica/dist/replica.mjs', '--config', expect.any(String)]);
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
    // The compiled replica from the production install (npm ci --omit=dev has no tsx).
    expect(settings).toContain('ExecStart=/usr/bin/node /opt/vcr/apps/replica/dist/replica.mjs --config /etc/vcr-replica/config.json');
    expect(unit).not.toMatch(/--import tsx/);
    // V8's JIT needs writable and executable memory.
    expect(settings.some((l) => l.startsWith('MemoryDenyWriteExecute='))).toBe(false);
  });
});
