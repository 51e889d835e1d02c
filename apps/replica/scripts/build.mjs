// Builds the production replica (docs/runbook.md "Production install"):
// apps/replica/dist/replica.mjs, one ESM file for Node 20 with the workspace
// packages (@vcr/*, TypeScript sources) compiled in, and every npm package
// left as an import, so `npm ci --omit=dev -w @vcr/replica` provides them
// and nothing compiles TypeScript at run time (no tsx). Plain JavaScript so
// that it runs with node alone; esbuild is a devDependency of the replica.

import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = `${root}dist/replica.mjs`;

/** Workspace packages are compiled in; npm packages and Node built-ins stay imports. */
const npmPackagesExternal = {
  name: 'npm-packages-external',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@vcr/') ? undefined : { path: args.path, external: true }));
  },
};

rmSync(`${root}dist`, { recursive: true, force: true });
await build({
  entryPoints: [`${root}src/main.ts`],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  // dist/ sits beside src/: openapi-file.ts finds ../openapi.yaml from either.
  plugins: [npmPackagesExternal],
  logLevel: 'warning',
  legalComments: 'none',
  // `bin` in package.json runs it directly.
  banner: { js: '#!/usr/bin/env node' },
});
console.log(`built ${outfile}`);
