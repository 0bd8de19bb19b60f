/**
 * The resilience suite (`npm run test:resilience`): fault scenarios against the production
 * build in child processes on real PostgreSQL (TEST_DATABASE_URL, default the local server).
 * Not part of `npm test`. One scenario at a time: they load the machine.
 * @type {import('jest').Config}
 */
const base = require('./jest.config.js');

process.env.TEST_DATABASE_URL ||= 'postgresql://postgres@127.0.0.1:5432/postgres';

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/resilience'],
  testMatch: ['**/*.resilience.ts'],
  transform: base.transform,
  setupFiles: base.setupFiles,
  globalSetup: '<rootDir>/test/resilience/global-setup.ts',
  globalTeardown: '<rootDir>/test/resilience/global-teardown.ts',
  testTimeout: 600_000,
  maxWorkers: 1,
  verbose: true,
};
