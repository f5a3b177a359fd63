/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.(t|j|mj)s$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'commonjs' },
      },
    ],
  },
  // jose is ESM-only: let swc turn it into CommonJS like our own code.
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  globalSetup: '<rootDir>/tests/support/global-setup.ts',
  globalTeardown: '<rootDir>/tests/support/global-teardown.ts',
  setupFiles: ['reflect-metadata'],
  testTimeout: 60_000,
  maxWorkers: 2,
  // Every test file loads the whole app into its own module registry; what a finished file leaves is
  // garbage V8 collects late, so a worker's heap grew past 1 GB by the end of the suite and the worker
  // took longer than jest's half second to exit (jest then killed it and printed a leak warning). A
  // worker past this much heap after a file is replaced by a fresh one.
  workerIdleMemoryLimit: '512MB',
};
