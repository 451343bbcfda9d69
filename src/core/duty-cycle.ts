/** Duty cycle: after training for t, idle t × (1 − share) / share, so training takes that share of the time. */
export function dutyCycleIdleMs (trainingMs: number, maxCpu: number): number {
  return maxCpu >= 1 ? 0 : trainingMs * (1 - maxCpu) / maxCpu
}
