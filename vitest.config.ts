import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Integration tests start real node processes; two cores do not run several suites of them well at once.
    fileParallelism: false,
    pool: 'forks'
  }
})
