// @ts-check
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {ignores: ['dist/**', 'examples/*/dist/**', 'node_modules/**', 'oclif.manifest.json', 'bench/out/**', '.stryker-tmp/**', 'reports/**']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', URL: 'readonly', fetch: 'readonly', Buffer: 'readonly'},
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-empty': ['error', {allowEmptyCatch: true}],
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none'}],
    },
  },
  {
    // The core must not depend on the CLI framework, colours or task lists.
    files: ['src/lib/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {patterns: ['@oclif/*', 'chalk', 'listr2', '../cli/*', '../commands/*', '../hooks/*', '@inquirer/*']}],
    },
  },
)
