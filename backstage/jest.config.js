// ts-jest runs the TypeScript sources as they are; the tests are offline (a loopback server,
// a fake fetch, files of this folder and of the repository).
/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/src'],
};
