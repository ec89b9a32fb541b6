import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'lib/',
      'action/dist/',
      'action/app-dist/',
      'src/core/generated/',
      'action/cli.js',
      'coverage/',
      'test/fixtures/',
      '.tmp/',
      'bench-results/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-control-regex': 'off',
    },
  },
  ...[
    ['app', ['action', 'cli']],
    ['action', ['app', 'cli']],
    ['cli', ['app', 'action']],
  ].map(([entry, others]) => ({
    // Entries only wire things together; what two of them share lives in src/engine or below.
    files: [`src/${entry}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: others.map((o) => ({
            group: [`../${o}/*`, `../../${o}/*`],
            message: `src/${entry} must not import another entry (src/${o}); move shared code to src/engine or src/core`,
          })),
        },
      ],
    },
  })),
  {
    // Jest loads reporters with require(): this one file is CommonJS on purpose.
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
