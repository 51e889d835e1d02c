// Strict command-line parsing for the CLI (node:util parseArgs): an unknown
// flag, a flag without its value, a bad value or a missing or extra argument
// is a usage error (exit 2) naming what was wrong; every command has --help.
// The command table here is also the source of the help text (docs/cli.md).

import { parseArgs } from 'node:util';

export const outputFormats = ['text', 'json', 'table'] as const;
export type OutputFormat = (typeof outputFormats)[number];

type OptionName = 'replica' | 'as' | 'allow-stale' | 'max-staleness-ms' | 'from' | 'from-revision';

interface OptionSpec {
  type: 'string' | 'boolean';
  value?: string;
  help: string;
}

const commandOptions: Record<OptionName, OptionSpec> = {
  replica: { type: 'string', value: 'N', help: 'ask replica N (1..n) only; the epoch chain is still learned from all replicas' },
  as: { type: 'string', value: 'orgN', help: "sign as organization N's admin (the local cluster's keys), e.g. to approve a change" },
  'allow-stale': { type: 'boolean', help: 'print an answer certified longer ago than the bound, marked STALE, and exit 0' },
  'max-staleness-ms': { type: 'string', value: 'MS', help: 'how old a certified answer may be (default 30000)' },
  from: { type: 'string', value: 'INDEX', help: 'replay from this log index (default: from now, the newest verified head)' },
  'from-revision': { type: 'string', value: 'R', help: 'the prefix names one key: replay from the verified change that made its revision R' },
};

const globalOptions = {
  output: { type: 'string', short: 'o', value: 'FORMAT', help: 'text, json or table (what each command offers is in its help)' },
  'data-dir': { type: 'string', value: 'DIR', help: 'the local cluster data folder with genesis.json (default $VCR_DATA_DIR, else ./data); never created' },
  'base-port': { type: 'string', value: 'PORT', help: 'replica i listens on PORT+i-1 (default $VCR_BASE_PORT, else 7001)' },
  help: { type: 'boolean', short: 'h', help: 'this help' },
} as const;

export type CommandName = 'get' | 'put' | 'delete' | 'list' | 'history' | 'watch' | 'pending' | 'verify' | 'status' | 'epochs';

interface CommandSpec {
  summary: string;
  /** Positional arguments in order; `?` marks an optional one. */
  positionals: readonly string[];
  options: readonly OptionName[];
  /** The first is the default. */
  outputs: readonly OutputFormat[];
}

export const commands: Record<CommandName, CommandSpec> = {
  get: { summary: 'verified read: value, revision, certified height and time (or a verified proof of absence)', positionals: ['key'], options: ['replica', 'allow-stale', 'max-staleness-ms'], outputs: ['text', 'json', 'table'] },
  put: { summary: 'signed write; prints what the registry decided (applied, refused or pending approval), from a verified receipt', positionals: ['key', 'value'], options: ['replica', 'as'], outputs: ['text', 'json', 'table'] },
  delete: { summary: 'signed delete; prints what the registry decided, from a verified receipt', positionals: ['key'], options: ['replica', 'as'], outputs: ['text', 'json', 'table'] },
  list: { summary: 'live keys under a prefix, each verified by its map proof', positionals: ['prefix?'], options: ['replica', 'allow-stale', 'max-staleness-ms'], outputs: ['text', 'json', 'table'] },
  history: { summary: 'every change to a key, each verified (certificate, signed request, inclusion)', positionals: ['key'], options: ['replica'], outputs: ['text', 'json', 'table'] },
  watch: { summary: 'follows changes under a prefix from now on, printing each verified change as it commits (json: one object per line)', positionals: ['prefix?'], options: ['replica', 'from', 'from-revision'], outputs: ['text', 'json'] },
  pending: { summary: 'changes waiting for approvals: what each does, who approved, when it expires, each verified; exits 4 while one waits', positionals: [], options: ['replica'], outputs: ['text', 'json', 'table'] },
  verify: { summary: 're-verifies the whole chain from genesis, and that the log extends the head verified last time', positionals: [], options: ['replica'], outputs: ['text', 'json'] },
  status: { summary: "each replica's view, primary, height, lag, epoch and verified certificate age", positionals: [], options: [], outputs: ['table', 'json'] },
  epochs: { summary: 'the epoch chain from genesis, each link verified, with its change and approvals', positionals: [], options: ['replica'], outputs: ['text'] },
};

export interface ParsedCommand {
  command: CommandName;
  /** By name: `key`, `value`, `prefix`. */
  args: Record<string, string | undefined>;
  output: OutputFormat;
  replica?: string;
  as?: string;
  allowStale: boolean;
  maxStalenessMs?: string;
  from?: string;
  fromRevision?: string;
  dataDir?: string;
  basePort?: string;
}

export type ParseOutcome =
  | { kind: 'run'; parsed: ParsedCommand }
  | { kind: 'help'; text: string }
  /** `witness` has its own parser (ops/witness/cli.ts). */
  | { kind: 'witness'; argv: string[] }
  | { kind: 'usage'; message: string; help: string };

function isCommand(name: string | undefined): name is CommandName {
  return name !== undefined && Object.hasOwn(commands, name);
}

function optionLine(flag: string, value: string | undefined, help: string): string {
  const left = `  ${flag}${value ? ` ${value}` : ''}`;
  return `${left.padEnd(28)} ${help}`;
}

export function mainHelp(): string {
  const lines = ['usage: vcr <command> [arguments] [options]   (vcr <command> --help for one command)', '', 'commands:'];
  for (const [name, spec] of Object.entries(commands)) lines.push(`  ${name.padEnd(10)} ${spec.summary}`);
  lines.push(`  ${'witness'.padEnd(10)} C2SP checkpoints and tlog-proof bundles cosigned by 2f+1 replicas (vcr witness --help)`);
  lines.push('', 'options of every command:');
  for (const [name, o] of Object.entries(globalOptions)) lines.push(optionLine(`${'short' in o ? `-${o.short}, ` : ''}--${name}`, 'value' in o ? o.value : undefined, o.help));
  lines.push('', 'exit codes: 0 ok, 1 internal error, 2 usage, 3 refused, 4 pending approval, 5 verification failed, 6 unreachable, 7 stale, 8 setup (docs/cli.md)');
  return lines.join('\n');
}

export function commandHelp(name: CommandName): string {
  const spec = commands[name];
  const args = spec.positionals.map((p) => (p.endsWith('?') ? `[${p.slice(0, -1)}]` : `<${p}>`)).join(' ');
  const lines = [`usage: vcr ${name}${args ? ` ${args}` : ''} [options]`, '', spec.summary, '', 'options:'];
  for (const o of spec.options) lines.push(optionLine(`--${o}`, commandOptions[o].value, commandOptions[o].help));
  for (const [flag, o] of Object.entries(globalOptions)) {
    const help = flag === 'output' ? `${spec.outputs.join(', ')} (default ${spec.outputs[0]})` : o.help;
    lines.push(optionLine(`${'short' in o ? `-${o.short}, ` : ''}--${flag}`, 'value' in o ? o.value : undefined, help));
  }
  return lines.join('\n');
}

/** etcdctl's flag for the output format; named in the error so its users find -o. */
const etcdctlOutputFlags = new Set(['-w', '--write-out']);

export function parseCommandLine(argv: readonly string[]): ParseOutcome {
  const [first, ...rest] = argv;
  if (first === undefined) return { kind: 'usage', message: 'no command given', help: mainHelp() };
  if (first === '--help' || first === '-h' || first === 'help') return { kind: 'help', text: mainHelp() };
  if (first === 'witness') return { kind: 'witness', argv: rest };
  if (!isCommand(first)) return { kind: 'usage', message: `unknown command ${JSON.stringify(first)}`, help: mainHelp() };
  const spec = commands[first];
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, o] of Object.entries(globalOptions)) options[name] = 'short' in o ? { type: o.type, short: o.short } : { type: o.type };
  for (const name of spec.options) options[name] = { type: commandOptions[name].type };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...rest], options, strict: true, allowPositionals: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const etcd = rest.find((a) => etcdctlOutputFlags.has(a.split('=', 1)[0] as string));
    const hint = etcd !== undefined ? ' (the output format is -o/--output text|json|table; etcdctl\'s -w is not accepted)' : '';
    return { kind: 'usage', message: `${first}: ${message}${hint}`, help: commandHelp(first) };
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help === true) return { kind: 'help', text: commandHelp(first) };
  const usage = (message: string): ParseOutcome => ({ kind: 'usage', message: `${first}: ${message}`, help: commandHelp(first) });
  const required = spec.positionals.filter((p) => !p.endsWith('?'));
  if (parsed.positionals.length < required.length) return usage(`missing <${required[parsed.positionals.length]}>`);
  if (parsed.positionals.length > spec.positionals.length) return usage(`unexpected argument ${JSON.stringify(parsed.positionals[spec.positionals.length])} (a key that starts with - goes after --)`);
  const args = Object.fromEntries(spec.positionals.map((p, i) => [p.replace(/\?$/, ''), parsed.positionals[i]]));
  const outputValue = values.output === undefined ? spec.outputs[0] : String(values.output);
  const output = spec.outputs.find((f) => f === outputValue);
  if (output === undefined) return usage(`-o ${outputValue}: ${first} offers ${spec.outputs.join(', ')}`);
  const str = (name: string): string | undefined => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  return {
    kind: 'run',
    parsed: {
      command: first,
      args,
      output,
      allowStale: values['allow-stale'] === true,
      ...(str('replica') === undefined ? {} : { replica: str('replica') }),
      ...(str('as') === undefined ? {} : { as: str('as') }),
      ...(str('max-staleness-ms') === undefined ? {} : { maxStalenessMs: str('max-staleness-ms') }),
      ...(str('from') === undefined ? {} : { from: str('from') }),
      ...(str('from-revision') === undefined ? {} : { fromRevision: str('from-revision') }),
      ...(str('data-dir') === undefined ? {} : { dataDir: str('data-dir') }),
      ...(str('base-port') === undefined ? {} : { basePort: str('base-port') }),
    },
  };
}

/** A positive decimal integer no larger than `max`, or undefined. */
export function parseBoundedInteger(text: string, min: number, max: number): number | undefined {
  if (!/^[0-9]{1,15}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= min && n <= max ? n : undefined;
}
