import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/, lowest first. A folder may import its own files and the folders of lower layers, never a
 * folder of its own layer or of a higher one; src/index.ts (the public API) may import anything.
 */
const LAYERS = [['config'], ['backend'], ['codec'], ['model', 'data'], ['demo'], ['io'], ['viz'], ['eval'], ['train'], ['cli', 'web']];

/** `import-x/no-restricted-paths` zones: for each folder, the folders it must not import. */
const layerZones = LAYERS.flatMap((layer, rank) =>
  layer
    .map((folder) => ({ folder, forbidden: [...layer.filter((f) => f !== folder), ...LAYERS.slice(rank + 1).flat()] }))
    .filter(({ forbidden }) => forbidden.length > 0)
    .map(({ folder, forbidden }) => ({
      target: `./src/${folder}`,
      from: forbidden.map((f) => `./src/${f}`),
      message: `src/${folder} may not import ${forbidden.map((f) => `src/${f}`).join(', ')}: they are not below it in the layers of eslint.config.mjs (move the shared code down, or pass it in)`,
    })),
);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'checkpoints/**', 'data/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones: layerZones }],
    },
  },
  {
    // The codec is bundled for web pages: no Node-only modules.
    files: ['src/codec/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['fs', 'path', 'os', 'worker_threads', 'child_process', 'node:*', 'sharp'],
              message: 'src/codec runs in web pages too: keep Node-only modules out of it',
            },
          ],
        },
      ],
    },
  },
);
