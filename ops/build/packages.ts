// `npm run build:packages`: builds the installable libraries (@vcr/proofs,
// @vcr/registry, @vcr/crypto-node, @vcr/client-sdk) into packages/<name>/dist,
// each a complete package that `npm pack packages/<name>/dist` turns into a
// tarball a plain Node 20 project or a bundler can install (docs/packaging.md).
//
// Why a separate publishable folder rather than export conditions in the
// workspace's own package.json: inside the monorepo every runner (tsx in
// about twenty spawn sites, vitest, Next, tsc) reads the TypeScript sources
// through `exports` with no build step, and tsx passes no export condition
// that could select them; pointing the workspace manifest at dist/ would make
// a forgotten rebuild run stale code silently. So the workspace manifest keeps
// the sources, and the build writes the manifest a consumer gets.
//
// Why esbuild for the JavaScript and tsc for the types: the sources use
// extensionless relative imports (moduleResolution "Bundler"), which plain
// Node's ESM loader does not resolve, so tsc's JavaScript would not run
// without rewriting every import. esbuild bundles each entry (with code
// splitting, so classes shared by two entries, e.g. RegistryError, keep one
// identity) and leaves every package import external. tsc writes the .d.ts
// files; a declaration transformer adds the `.js` extension to their relative
// imports so that consumers on moduleResolution "NodeNext" resolve them too.

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import ts from 'typescript';

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

interface LibrarySpec {
  dir: string;
  /**
   * 'neutral': runs in browsers and Node; node: imports are allowed only in
   * Node-only entries (`@vcr/client-sdk/node`), which the purity tests keep
   * apart from the browser entries. 'node' for a Node-only package.
   */
  platform: 'neutral' | 'node';
}

/** In dependency order: a package's declarations are built before those that import it. */
export const libraries: readonly LibrarySpec[] = [
  { dir: 'packages/proofs', platform: 'neutral' },
  { dir: 'packages/registry', platform: 'neutral' },
  { dir: 'packages/crypto-node', platform: 'node' },
  { dir: 'packages/client-sdk', platform: 'neutral' },
];

interface Manifest {
  name: string;
  version: string;
  description?: string;
  exports: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional: boolean }>;
}

function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(repoRoot, dir, 'package.json'), 'utf8')) as Manifest;
}

/** `./src/node.ts` -> `node` (the output's base name). */
function entryName(subpath: string, source: string): string {
  const match = /^\.\/src\/(.+)\.ts$/.exec(source);
  if (!match?.[1]) throw new Error(`export ${subpath} -> ${source}: a workspace export must name a .ts file under src/`);
  return match[1].replaceAll('/', '-');
}

/** The versions the other workspace libraries are published at, for `"@vcr/x": "*"` dependencies. */
function workspaceVersions(): Map<string, string> {
  return new Map(libraries.map((l) => {
    const m = readManifest(l.dir);
    return [m.name, m.version];
  }));
}

function publishedDependencies(deps: Record<string, string> | undefined, versions: Map<string, string>): Record<string, string> | undefined {
  if (!deps) return undefined;
  return Object.fromEntries(Object.entries(deps).map(([name, range]) => {
    const version = versions.get(name);
    if (range !== '*') return [name, range];
    if (!version) throw new Error(`${name}: a "*" dependency must be one of the built libraries`);
    return [name, version];
  }));
}

async function buildJavaScript(spec: LibrarySpec, manifest: Manifest, outDir: string): Promise<void> {
  await build({
    absWorkingDir: join(repoRoot, spec.dir),
    entryPoints: Object.fromEntries(Object.entries(manifest.exports).map(([subpath, source]) => [entryName(subpath, source), source])),
    outdir: outDir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: spec.platform,
    target: spec.platform === 'node' ? 'node20' : 'es2022',
    // Every package import stays an import: dependencies are the consumer's to install and dedupe.
    packages: 'external',
    external: ['node:*'],
    chunkNames: 'chunks/[hash]',
    sourcemap: true,
    logLevel: 'warning',
  });
}

/** Adds `.js` (or `/index.js`) to a relative module specifier that names a source file without its extension. */
function withJsExtension(fromFile: string, specifier: string): string {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return specifier;
  if (/\.(js|mjs|cjs|json)$/.test(specifier)) return specifier;
  const base = resolve(dirname(fromFile), specifier);
  if (existsSync(`${base}.ts`)) return `${specifier}.js`;
  if (existsSync(join(base, 'index.ts'))) return `${specifier}/index.js`;
  throw new Error(`${fromFile}: cannot resolve ${specifier}`);
}

function extensionTransformer(context: ts.TransformationContext): (node: ts.SourceFile | ts.Bundle) => ts.SourceFile | ts.Bundle {
  const f = context.factory;
  return (root) => {
    if (!ts.isSourceFile(root)) return root;
    const from = root.fileName;
    const visit = (node: ts.Node): ts.Node => {
      if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
        const specifier = f.createStringLiteral(withJsExtension(from, node.moduleSpecifier.text));
        return ts.isImportDeclaration(node)
          ? f.updateImportDeclaration(node, node.modifiers, node.importClause, specifier, node.attributes)
          : f.updateExportDeclaration(node, node.modifiers, node.isTypeOnly, node.exportClause, specifier, node.attributes);
      }
      if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
        const argument = f.createLiteralTypeNode(f.createStringLiteral(withJsExtension(from, node.argument.literal.text)));
        return f.updateImportTypeNode(node, argument, node.attributes, node.qualifier, ts.visitNodes(node.typeArguments, visit, ts.isTypeNode), node.isTypeOf);
      }
      return ts.visitEachChild(node, visit, context);
    };
    return ts.visitNode(root, visit) as ts.SourceFile;
  };
}

const sharedDeclarations = new Map<string, ts.SourceFile>();

/** Declarations with tsc from the package's tsconfig.build.json (which maps sibling libraries to their built declarations). */
function buildDeclarations(spec: LibrarySpec): void {
  const configFile = join(repoRoot, spec.dir, 'tsconfig.build.json');
  const parsed = ts.getParsedCommandLineOfConfigFile(configFile, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } });
  if (!parsed) throw new Error(`cannot read ${configFile}`);
  const host = ts.createCompilerHost(parsed.options);
  const read = host.getSourceFile.bind(host);
  // The TypeScript and @types/node declarations are the bulk of every program and the same in each: parse them once.
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    if (!fileName.includes('/node_modules/')) return read(fileName, languageVersion, onError, shouldCreate);
    const cached = sharedDeclarations.get(fileName);
    if (cached) return cached;
    const file = read(fileName, languageVersion, onError, shouldCreate);
    if (file) sharedDeclarations.set(fileName, file);
    return file;
  };
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options, host });
  const emitted = program.emit(undefined, undefined, undefined, true, { afterDeclarations: [extensionTransformer] });
  // Type errors are `npm run typecheck`'s to find (one strict config for the repo); here only what stops a correct emit.
  const diagnostics = [...program.getOptionsDiagnostics(), ...program.getSyntacticDiagnostics(), ...emitted.diagnostics];
  if (diagnostics.length > 0) {
    throw new Error(ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => repoRoot, getNewLine: () => '\n' }));
  }
}

function writeManifest(spec: LibrarySpec, manifest: Manifest, outDir: string, versions: Map<string, string>): void {
  const exportsMap = Object.fromEntries(Object.entries(manifest.exports).map(([subpath, source]) => {
    const name = entryName(subpath, source);
    return [subpath, { types: `./types/${source.replace(/^\.\/src\//, '').replace(/\.ts$/, '.d.ts')}`, default: `./${name}.js` }];
  }));
  const published = {
    name: manifest.name,
    version: manifest.version,
    description: manifest.description,
    type: 'module',
    engines: { node: '>=20' },
    sideEffects: false,
    exports: exportsMap,
    dependencies: publishedDependencies(manifest.dependencies, versions),
    peerDependencies: manifest.peerDependencies,
    peerDependenciesMeta: manifest.peerDependenciesMeta,
  };
  writeFileSync(join(outDir, 'package.json'), JSON.stringify(published, null, 2) + '\n');
  const readme = join(repoRoot, spec.dir, 'README.md');
  if (existsSync(readme)) copyFileSync(readme, join(outDir, 'README.md'));
}

export async function buildLibraries(): Promise<string[]> {
  const versions = workspaceVersions();
  const outDirs: string[] = [];
  for (const spec of libraries) {
    const manifest = readManifest(spec.dir);
    const outDir = join(repoRoot, spec.dir, 'dist');
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    await buildJavaScript(spec, manifest, outDir);
    buildDeclarations(spec);
    writeManifest(spec, manifest, outDir, versions);
    outDirs.push(outDir);
  }
  return outDirs;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildLibraries().then((dirs) => {
    for (const d of dirs) console.log(`built ${d} (npm pack ${d})`);
  }, (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
