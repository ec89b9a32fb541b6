/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: { isolatedModules: true } }],
  },
  testTimeout: 30000,
  setupFilesAfterEnv: ['<rootDir>/test/helpers/nock-restore.ts'],
  reporters: ['default', '<rootDir>/test/summary-reporter.cjs'],
};
