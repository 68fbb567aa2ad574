import { defineConfig } from 'vitest/config';

/**
 * The tests whose numbers depend on the TensorFlow.js backend (training steps, scoring, artifacts, the scorer's
 * model). The default project runs them on the backend TF_BACKEND=auto picks — tfjs-node once
 * `npm run tfjs-node:setup` has built it — and the `wasm` project runs them again on the wasm fallback.
 */
const backendSensitive = [
  'packages/pncf/test/{tower,inference,artifact,artifact-recommender,history,parallel-scorer,contract,pncf}.test.ts',
  'packages/evaluation/test/{tf-backend,models}.test.ts',
  'services/scorer/test/serving-model.test.ts',
];

export default defineConfig({
  test: {
    // Integration tests share one broker and a 2-core machine: a few files at a time is faster than many.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    hookTimeout: 180_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'default',
          include: [
            '{packages,services,infra}/*/test/**/*.test.ts',
            'infra/kafka/test/**/*.test.ts',
            'test/**/*.test.ts',
          ],
          globalSetup: ['test/setup/kafka.ts'],
        },
      },
      {
        extends: true,
        test: { name: 'wasm', include: backendSensitive, env: { TF_BACKEND: 'wasm' } },
      },
    ],
  },
});
