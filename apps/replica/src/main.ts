// The replica process: `tsx apps/replica/src/main.ts --config <file>`.
// Loads and validates the config and genesis, opens the keystore and the
// SQLite store, recovers from disk, and serves HTTP until SIGINT/SIGTERM
// (all in replica-process.ts). A config with a `mirror` section starts a
// read-only mirror instead (mirror-process.ts, docs/mirror.md).

import { isMirrorConfig, runMirrorOrExit } from './mirror-process';
import { runOrExit } from './replica-process';

if (isMirrorConfig(process.argv)) runMirrorOrExit(process.argv);
else runOrExit(process.argv);
