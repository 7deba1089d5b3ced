/** advkit's version, kept equal to package.json's by version.test.ts (browser code cannot read package.json). */
export const ADVKIT_VERSION = '0.1.0';
