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
};
