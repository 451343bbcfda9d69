import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Generous: tests wait on events and counters, not on time; the limit only ends a hang. They must
    // pass with two CPU-bound processes beside them (issue #10), where a 12 s CPU-bound test took > 120 s.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // Integration tests start real node processes; two cores do not run several suites of them well at once.
    fileParallelism: false,
    pool: 'forks'
  }
})
