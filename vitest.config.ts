import { defineConfig } from 'vitest/config';

// One runner for every workspace: unit tests live beside the code (*.test.ts),
// cross-package tests under test/. Playwright files are *.spec.ts and are not collected.
export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    testTimeout: 60_000,
    pool: 'forks',
  },
});
