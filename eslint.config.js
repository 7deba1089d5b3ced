import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'dist-check/', 'dist-web/', 'node_modules/', 'models/', 'coverage/', '.advkit-tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Plain-JS entry points and bench scripts run in Node.
    files: ['bin/**/*.js', 'bench/**/*.mjs', 'bench/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        ['process', 'console', 'performance', 'setTimeout', 'clearTimeout', 'URL', 'Buffer'].map((g) => [
          g,
          'readonly',
        ]),
      ),
    },
  },
);
