// `npm run build:cli`: compiles the CLI (ops/cli.ts) to dist/cli/vcr.js, the
// `vcr` bin. Plain JavaScript so it runs before anything is compiled and
// costs about a tenth of a second (npm run cli builds first, every time).
//
// esbuild bundles the CLI with the workspace packages it uses (their exports
// are TypeScript sources) and the libraries, so the bin starts without a
// TypeScript loader and without resolving hundreds of files: a cold `vcr get`
// is dominated by Node's own start. Code splitting keeps what only some
// commands need (verify, epochs, witness, the keystore behind --as) in chunks
// loaded on demand. Native addons stay external; only those commands load them.

import { chmodSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const cliOutDir = join(repoRoot, 'dist/cli');

/** Builds into `outDir` (default dist/cli; tests build their own copy, so parallel test files never share one) and returns the bin's path. */
export async function buildCli(outDir = cliOutDir) {
  rmSync(outDir, { recursive: true, force: true });
  await build({
    absWorkingDir: repoRoot,
    entryPoints: { vcr: 'ops/cli.ts' },
    outdir: outDir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outExtension: { '.js': '.js' },
    chunkNames: 'chunks/[name]-[hash]',
    external: ['better-sqlite3', 'pkcs11js'],
    // Less to parse at every start; the source map keeps stack traces readable (node --enable-source-maps).
    minify: true,
    sourcemap: true,
    // Bundled CommonJS libraries may call require(); give the ESM bundle one.
    banner: { js: "#!/usr/bin/env node\nimport { createRequire as __vcrCreateRequire } from 'node:module'; const require = __vcrCreateRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  chmodSync(join(outDir, 'vcr.js'), 0o755);
  return join(outDir, 'vcr.js');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildCli();
}
