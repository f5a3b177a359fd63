// ESLint flat config: typescript-eslint's type-checked rules plus import hygiene (eslint-plugin-import-x).
// `npm run lint` runs it with --max-warnings 0, so every rule here is either worth fixing or turned off
// with the reason next to it. Module boundaries and cycles are dependency-cruiser's job (.dependency-cruiser.cjs).
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores([
    '**/node_modules/',
    'dist/',
    'coverage/',
    '.data/',
    'bench/results/',
    // Written by `npm run codegen`; checked for staleness by tests/foundation/drift.test.ts instead.
    'tests/__generated__/',
    // Written by the MikroORM migrator or `scripts/migration-index.ts`, and never edited once applied.
    'migrations/',
  ]),

  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // One TypeScript program per tsconfig.json, the same one `npm run typecheck` builds.
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },

  {
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' })],
    },
    rules: {
      // The house order: side-effect imports (reflect-metadata) first as written, then packages and node:
      // built-ins alphabetically, then the project's own files alphabetically (parents before siblings
      // falls out of the alphabet). One group each, no blank lines, so a sort never reflows a block.
      'import-x/order': [
        'error',
        {
          groups: [['builtin', 'external'], ['internal', 'parent', 'sibling', 'index']],
          'newlines-between': 'never',
          alphabetize: { order: 'asc', caseInsensitive: true },
        },
      ],
      'import-x/first': 'error',
      'import-x/newline-after-import': 'error',
      // Two imports of one module (e.g. a value import and a later `import type`) become one, types inline.
      'import-x/no-duplicates': ['error', { 'prefer-inline': true }],
      'import-x/no-self-import': 'error',
      'import-x/no-useless-path-segments': 'error',
    },
  },

  {
    files: ['**/*.ts'],
    rules: {
      // Promises: a dropped or misplaced promise is an unhandled rejection or a mutation that runs after
      // its transaction committed. All three come with recommended-type-checked; listed to say they matter.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // Inside try/catch a bare `return promise` escapes the catch (and the unit of work's rollback path).
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      // Closed unions (order and delivery statuses, roles, coupon kinds): a new member must get its own
      // case, even where a `default` exists, so adding a status shows every switch that has to decide.
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      // Type-only imports vanish from the emitted JS, which keeps the runtime module graph honest.
      // Files with decorators are left alone by the rule (emitDecoratorMetadata needs value imports there).
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'inline-type-imports', disallowTypeAnnotations: true },
      ],
      '@typescript-eslint/no-import-type-side-effects': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Apollo plugin hooks, Fastify handlers and the payment gateway implement Promise-returning
      // interfaces; `async` there keeps a throw a rejection even when the body has nothing to await.
      '@typescript-eslint/require-await': 'off',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-console': 'error',
    },
  },

  {
    // Tests read GraphQL answers as JSON and check them with expect(), which verifies the shape at run time;
    // typing every ad-hoc answer would add casts, not safety. Typed documents (tests/__generated__) stay typed.
    files: ['tests/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },

  {
    // The service's own code logs through pino; scripts, the bench and test support print for a person.
    files: ['scripts/**', 'bench/**', 'tests/**', 'src/main.ts', 'src/worker.ts', 'src/config.ts'],
    rules: { 'no-console': 'off' },
  },

  {
    // Plain JavaScript (this file, jest.config.js, the dependency-cruiser config, scripts/*.mjs) is not in
    // tsconfig.json, so it is linted without type information.
    files: ['**/*.{js,mjs,cjs}'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['**/*.cjs', 'jest.config.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
