// Types of ops/build/cli.mjs (plain JavaScript so it runs before anything is compiled).
export declare const cliOutDir: string;
/** Builds the `vcr` bin into `outDir` (default dist/cli) and returns its path. */
export declare function buildCli(outDir?: string): Promise<string>;
