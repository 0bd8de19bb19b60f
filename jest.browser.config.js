/**
 * The dashboard's browser tests (`npm run test:browser`): Debian's Chromium driven by
 * playwright-core against a real server on PostgreSQL (TEST_DATABASE_URL, default the
 * local server). Not part of `npm test`: Chromium takes a core of its own, and beside the
 * timing-sensitive end-to-end tests it made them miss their deadlines. `.ci/run` runs
 * this suite after the others and counts it in its final line. One file at a time.
 * @type {import('jest').Config}
 */
const base = require('./jest.config.js');

process.env.TEST_DATABASE_URL ??= 'postgresql://postgres@127.0.0.1:5432/postgres';

module.exports = {
  ...base,
  roots: ['<rootDir>/test/browser'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: [],
  testTimeout: 180_000,
  maxWorkers: 1,
  verbose: true,
};
