// The replica process: `tsx apps/replica/src/main.ts --config <file>`.
// Loads and validates the config and genesis, opens the keystore and the
// SQLite store, recovers from disk, and serves HTTP until SIGINT/SIGTERM
// (all in replica-process.ts).

import { runOrExit } from './replica-process';

runOrExit(process.argv);
