import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{packages,services,infra}/*/test/**/*.test.ts', 'infra/kafka/test/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/setup/kafka.ts'],
    // Integration tests share one broker and a 2-core machine: a few files at a time is faster than many.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
