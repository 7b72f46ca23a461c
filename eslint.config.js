// ESLint: typescript-eslint's type-checked rules, and one house rule — only src/render/ and
// src/cli/ print. Core code reports through events and results (see src/events.ts).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const printing = {
  'no-console': 'error',
  'no-restricted-properties': [
    'error',
    { object: 'process', property: 'stdout', message: 'Only src/render/ and src/cli/ print: emit an event or return a result.' },
    { object: 'process', property: 'stderr', message: 'Only src/render/ and src/cli/ print: emit an event or return a result.' },
  ],
  'no-restricted-imports': [
    'error',
    {
      paths: [
        { name: 'chalk', message: 'Colour belongs to src/render/.' },
        { name: 'ora', message: 'Spinners belong to src/render/.' },
      ],
    },
  ],
};

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'node_modules/', '.gadugi/', 'templates/', 'demo/example-repo/', '.ci/node-*/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: ['./tsconfig.dev.json'], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/require-await': 'off',
      eqeqeq: ['error', 'always'],
    },
  },
  { files: ['src/**/*.ts'], rules: printing },
  {
    files: ['src/render/**/*.ts', 'src/cli/**/*.ts'],
    rules: { 'no-console': 'off', 'no-restricted-properties': 'off', 'no-restricted-imports': 'off' },
  },
  // Tests read JSON that orch printed: its shape is what the assertions check.
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: globals.node } },
  prettier,
);
