// The OpenAPI document (apps/replica/openapi.yaml) cannot drift silently:
// the committed generated types must be what openapi-typescript makes of it
// today, and every route server.ts registers must be in its `paths`, and
// every path in it must be a route of server.ts.

import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';
import { describe, expect, it } from 'vitest';

const yamlUrl = new URL('../../openapi.yaml', import.meta.url);
const generatedUrl = new URL('../generated/api-types.ts', import.meta.url);
const serverUrl = new URL('./server.ts', import.meta.url);

// js-yaml is what openapi-typescript's parser (@redocly/openapi-core) uses; it ships no types.
const yaml = createRequire(import.meta.url)('js-yaml') as { load: (text: string) => unknown };

type Method = 'get' | 'post';
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Partial<Record<string, { parameters?: unknown[] }>>>;
}

const trimEnd = (text: string) =>
  text
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .trimEnd();

/** server.ts and the route files it mounts (http/*-routes.ts). */
function serverRoutes(): { method: Method; path: string }[] {
  const routeFiles = readdirSync(new URL('.', serverUrl)).filter((f) => f.endsWith('-routes.ts'));
  const source = [readFileSync(serverUrl, 'utf8'), ...routeFiles.map((f) => readFileSync(new URL(f, serverUrl), 'utf8'))].join('\n');
  const routes = [...source.matchAll(/app\.(get|post)\('([^']+)'/g)].map((m) => ({
    method: m[1] as Method,
    path: (m[2] as string).replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}'),
  }));
  return routes;
}

describe('openapi.yaml', () => {
  it('matches the committed generated types (src/generated/api-types.ts)', async () => {
    const expected = `${COMMENT_HEADER}${astToString(await openapiTS(yamlUrl, { silent: true }))}`;
    const committed = readFileSync(generatedUrl, 'utf8');
    if (trimEnd(committed) !== trimEnd(expected)) {
      expect.fail('src/generated/api-types.ts is stale: run `npm run gen:api -w @vcr/replica` and commit the result');
    }
  }, 60_000);

  it('describes every route of server.ts, and no other', () => {
    const doc = yaml.load(readFileSync(yamlUrl, 'utf8')) as OpenApiDocument;
    expect(doc.openapi).toBe('3.1.0');
    const routes = serverRoutes();
    expect(routes.length).toBeGreaterThanOrEqual(12);

    const missing = routes.filter((r) => doc.paths[r.path]?.[r.method] === undefined).map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect(missing, 'routes registered in server.ts but missing from openapi.yaml').toEqual([]);

    const registered = new Set(routes.map((r) => `${r.method} ${r.path}`));
    const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
    const documented = Object.entries(doc.paths).flatMap(([path, item]) => methods.filter((m) => item[m] !== undefined).map((m) => `${m} ${path}`));
    const extra = documented.filter((d) => !registered.has(d));
    expect(extra, 'operations in openapi.yaml that server.ts does not register').toEqual([]);
  });

  it('declares every path parameter of a templated route', () => {
    const doc = yaml.load(readFileSync(yamlUrl, 'utf8')) as OpenApiDocument & {
      components: { parameters: Record<string, { name: string; in: string }> };
    };
    const resolve = (p: unknown): { name: string; in: string } | undefined => {
      const ref = (p as { $ref?: string }).$ref;
      if (ref === undefined) return p as { name: string; in: string };
      return doc.components.parameters[ref.replace('#/components/parameters/', '')];
    };
    for (const route of serverRoutes()) {
      const names = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const declared = (doc.paths[route.path]?.[route.method]?.parameters ?? [])
        .map(resolve)
        .filter((p) => p?.in === 'path')
        .map((p) => p?.name);
      expect(declared.sort(), `path parameters of ${route.method.toUpperCase()} ${route.path}`).toEqual(names.sort());
    }
  });
});
