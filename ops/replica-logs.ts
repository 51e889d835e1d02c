// Where `npm start` keeps each process's log: <data>/logs/<id>.log, appended
// across restarts (the replica writes JSON lines with levels to its stdout,
// docs/runbook.md "Logs"). VCR_VERBOSE=1 also echoes them to the terminal.

import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';

export interface LogSink {
  file: string;
  /** One line from the process (without its newline). */
  write: (line: string) => void;
  close: () => void;
}

export function replicaLogSink(dataDir: string, id: string, echo?: (line: string) => void): LogSink {
  const folder = join(dataDir, 'logs');
  mkdirSync(folder, { recursive: true });
  const file = join(folder, `${id}.log`);
  const stream: WriteStream = createWriteStream(file, { flags: 'a', mode: 0o600 });
  return {
    file,
    write: (line) => {
      stream.write(`${line}\n`);
      echo?.(line);
    },
    close: () => stream.end(),
  };
}
