// Bundled by test/openfeature-view.test.ts (esbuild) and run in headless
// Chromium: the in-process OpenFeature provider on a verified local view,
// under @openfeature/web-sdk, with the SDK's default @noble crypto. The test
// drives it through window.vcr and reads the events it recorded.

import { OpenFeature, ProviderEvents } from '@openfeature/web-sdk';
import { parseMembershipJson } from '@vcr/proofs';
import { RegistryClient } from '@vcr/client-sdk';
import { RegistryWebProvider } from '@vcr/client-sdk/openfeature';

type Recorded = { type: string; flagsChanged?: string[] };

const events: Recorded[] = [];

async function start(config: { membership: unknown; replicas: string[]; prefix: string; context: Record<string, string> }): Promise<string> {
  const membership = parseMembershipJson(config.membership);
  if (!membership.ok) throw new Error('membership refused');
  const client = await RegistryClient.create({ membership: membership.value, replicas: config.replicas, readTimeoutMs: 2_000 });
  for (const type of [ProviderEvents.Ready, ProviderEvents.ConfigurationChanged, ProviderEvents.Stale, ProviderEvents.Error]) {
    OpenFeature.addHandler(type, (details) => events.push({ type, ...(Array.isArray(details?.flagsChanged) ? { flagsChanged: details.flagsChanged as string[] } : {}) }));
  }
  await OpenFeature.setContext(config.context);
  await OpenFeature.setProviderAndWait(new RegistryWebProvider(client, { keyPrefix: config.prefix, view: { waitMs: 1_000, maxStalenessMs: 4_000 } }));
  return 'started';
}

function evaluate(flagKey: string): { value: boolean; reason: string | undefined; errorCode: string | undefined } {
  const d = OpenFeature.getClient().getBooleanDetails(flagKey, false);
  return { value: d.value, reason: d.reason, errorCode: d.errorCode };
}

(globalThis as unknown as { vcr: unknown }).vcr = { start, evaluate, events };
