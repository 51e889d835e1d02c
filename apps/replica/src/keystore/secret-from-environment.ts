// A keystore secret (a passphrase, a PIN) from the environment: the variable
// itself, or `<VARIABLE>_FILE` naming a file that holds it (a mounted secret),
// trailing newlines removed. Never from a config file. Setting both is
// refused, since it is unclear which one the operator meant.

import { readFileSync } from 'node:fs';
import { KeyStoreError } from './keystore';

export function secretFromEnvironment(env: NodeJS.ProcessEnv, variable: string, what: string): string {
  const fileVariable = `${variable}_FILE`;
  const direct = env[variable];
  const filePath = env[fileVariable];
  const hasDirect = direct !== undefined && direct !== '';
  const hasFile = filePath !== undefined && filePath !== '';
  if (hasDirect && hasFile) throw new KeyStoreError('config', `both ${variable} and ${fileVariable} are set: set only one`);
  if (hasDirect) return direct;
  if (hasFile) {
    let text: string;
    try {
      text = readFileSync(filePath, 'utf8');
    } catch (error) {
      throw new KeyStoreError('io', `cannot read the ${what} file named by ${fileVariable} (${filePath})`, { cause: error });
    }
    const secret = text.replace(/[\r\n]+$/, '');
    if (secret.length === 0) throw new KeyStoreError('config', `the ${what} file ${filePath} is empty`);
    return secret;
  }
  throw new KeyStoreError('config', `no ${what}: set ${variable}, or ${fileVariable} to a file that contains it`);
}
