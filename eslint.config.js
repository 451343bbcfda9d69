// @ts-check
import eslint from '@eslint/js'
import tseslint from 'typescript-eslint'
import globals from 'globals'

export default tseslint.config(
  { ignores: ['dist/', 'runs/', 'node_modules/', 'src/core/wire/update-message.ts', '**/*.d.ts'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js', 'scripts/*.mjs', 'examples/*.mjs', 'test/fixtures/*.mjs'] },
        tsconfigRootDir: import.meta.dirname
      }
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // Methods implementing a Promise-returning interface may be async without awaiting.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }]
    }
  },
  {
    // The node core runs in a process, a browser, a simulator and tests alike: the world is injected
    // (src/core/transport.ts, node-state.ts, node-trainer.ts, clock.ts, logger.ts), never imported.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['libp2p', '@libp2p/*', '@chainsafe/*', '@multiformats/*', 'it-*'], message: 'the core imports no libp2p: a transport port (transport.ts) carries its messages' },
          { group: ['@tensorflow/*'], message: 'the core imports no TF.js: training goes through the trainer port (node-trainer.ts)' },
          { group: ['node:*', 'fs', 'fs/*', 'worker_threads', 'crypto', 'perf_hooks', 'timers', 'timers/*', 'classic-level', 'level'], message: 'the core runs in browsers and simulators: storage, threads, hashing and time are injected' },
          { group: ['**/node/*', '**/p2p/*', '**/swarm/*', '**/cli/*', '**/testbed/*', '**/attacks/*', '**/learning/local-trainer.js', '**/learning/worker-trainer.js', '**/learning/training-worker.js', '**/learning/backend.js', '**/learning/layers-model.js', '**/learning/manifest.js'], allowTypeImports: true, message: 'the core depends only on learning (pure parts) and data: cli → swarm → node → core → learning → data' }
        ]
      }],
      'no-restricted-globals': ['error',
        { name: 'setTimeout', message: 'use the injected Clock (clock.ts)' },
        { name: 'setInterval', message: 'use the injected Clock (clock.ts)' },
        { name: 'setImmediate', message: 'use the injected Clock (clock.ts)' },
        { name: 'process', message: 'the core runs outside Node.js too' },
        { name: 'Buffer', message: 'use Uint8Array: the core runs outside Node.js too' }
      ],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: 'use the injected Clock (clock.ts)' },
        { object: 'AbortSignal', property: 'timeout', message: 'use withTimeout (clock.ts): it runs on the injected clock' },
        { object: 'performance', property: 'now', message: 'use the injected Clock (clock.ts)' }
      ]
    }
  },
  {
    files: ['eslint.config.js', 'scripts/*.mjs', 'examples/*.mjs', 'test/fixtures/*.mjs'],
    ...tseslint.configs.disableTypeChecked
  }
)
