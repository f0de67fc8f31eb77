/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
  testTimeout: 120000,
  // The software Vulkan driver for the WebGPU tests, in the real environment (see the file).
  globalSetup: '<rootDir>/test/global-setup.ts',
  // tfjs keeps one engine per module registry; files run in separate workers.
  maxWorkers: 2,
  // A full garbage collection after each test file (Jest runs it under this option where Node exposes `gc`:
  // `npm test` starts Jest with --expose-gc, which its workers inherit), which also prints each file's heap.
  // A worker runs some 37 files; without it, it ends holding what they left for the collector (300-400 MB of
  // heap and up to 360 MB of TF.js's WebAssembly memories), and its exit, which unmaps all of it, took
  // 0.3-0.6 s on two busy cores: past the 0.5 s Jest gives a worker to exit, hence "A worker process has failed
  // to exit gracefully and has been force exited". With it a worker ends at about 100 MB of heap and exits in
  // about 0.25 s. (No handle is left open: the worker's event loop is empty when Jest asks it to exit.)
  logHeapUsage: true,
};
