// Source scanning for the architecture tests (purity.test.ts,
// test/dependencies.test.ts): every .ts file of a folder, and the module
// specifiers it imports, with comments and strings blanked so a word in a
// comment is not a use. Test support only: it reads files with node:fs.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

export interface SourceFile {
  /** Path relative to the repository root, with forward slashes, for messages. */
  name: string;
  text: string;
}

/** Every .ts and .tsx file under `dir`, recursively, minus tests and any folder named in `skipDirs`. */
export function sourceFiles(dir: string, repoRoot: string, skipDirs: readonly string[] = []): SourceFile[] {
  const out: SourceFile[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      if (!skipDirs.includes(entry) && entry !== 'node_modules') out.push(...sourceFiles(path, repoRoot, skipDirs));
    } else if (/\.tsx?$/.test(entry) && !/\.test\.tsx?$/.test(entry) && !entry.endsWith('.d.ts')) {
      out.push({ name: relative(repoRoot, path).split(sep).join('/'), text: readFileSync(path, 'utf8') });
    }
  }
  return out;
}

/**
 * Blanks comments (and, with `blankStrings`, the contents of string, template
 * and regex literals) with spaces, keeping every newline, so offsets and line
 * numbers still match the file. A word in a comment is not a use.
 */
export function blankNonCode(text: string, blankStrings: boolean): string {
  const out = text.split('');
  const blank = (from: number, to: number) => {
    for (let i = from; i < to; i++) if (out[i] !== '\n') out[i] = ' ';
  };
  let lastSignificant = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    const next = text[i + 1];
    if (c === '/' && next === '/') {
      const end = text.indexOf('\n', i);
      const stop = end === -1 ? text.length : end;
      blank(i, stop);
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end === -1 ? text.length : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === "'" || c === '"' || c === '`' || (c === '/' && (lastSignificant === '' || '(,=:[!&|?{};+-*%<>~^'.includes(lastSignificant)))) {
      // A string, template or regex literal: skip to its unescaped closing delimiter.
      let j = i + 1;
      let inClass = false;
      while (j < text.length) {
        const d = text[j] as string;
        if (d === '\\') {
          j += 2;
          continue;
        }
        if (c === '/' && d === '[') inClass = true;
        else if (c === '/' && d === ']') inClass = false;
        else if (d === c && !inClass) break;
        else if (d === '\n' && c !== '`') break;
        j++;
      }
      if (blankStrings) blank(i + 1, j);
      lastSignificant = c === '/' ? ')' : 'x';
      i = j + 1;
    } else {
      if (!/\s/.test(c)) lastSignificant = c;
      i++;
    }
  }
  return out.join('');
}

export interface ImportSite {
  specifier: string;
  line: number;
}

/** Module specifiers of static imports and re-exports, side-effect imports, dynamic import() and require(). */
export function importsOf(text: string): ImportSite[] {
  const code = blankNonCode(text, false);
  const patterns = [/\bfrom\s*(['"])([^'"\n]+)\1/g, /\bimport\s*(['"])([^'"\n]+)\1/g, /\bimport\s*\(\s*(['"])([^'"\n]+)\1/g, /\brequire\s*\(\s*(['"])([^'"\n]+)\1/g];
  const sites: ImportSite[] = [];
  for (const pattern of patterns) {
    for (const match of code.matchAll(pattern)) {
      sites.push({ specifier: match[2] as string, line: lineOf(code, match.index ?? 0) });
    }
  }
  return sites.sort((a, b) => a.line - b.line);
}

export function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Where a relative import of `file` (a repository-relative name) points, as an absolute path. */
export function importTarget(repoRoot: string, file: SourceFile, specifier: string): string {
  return resolve(repoRoot, dirname(file.name), specifier);
}
