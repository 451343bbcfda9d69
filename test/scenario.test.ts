import { describe, it, expect } from 'vitest'
import { isMurmurError } from '../src/errors.js'
import { planScenario, splitIntoGroups, type ScenarioFile } from '../src/swarm/scenario.js'

const churn: ScenarioFile = {
  name: 'churn',
  events: [{ kind: 'churn', fraction: 0.3, from: '15s', to: '90s', downtime: ['5s', '15s'] }]
}

describe('scenario plans', () => {
  it('expand random churn into kills and restarts, the same for the same seed', () => {
    const plan = planScenario(churn, 10, 42)
    const kills = plan.actions.filter(action => action.kind === 'kill')
    const restarts = plan.actions.filter(action => action.kind === 'restart')
    expect(kills).toHaveLength(3)
    expect(restarts).toHaveLength(3)
    for (const kill of kills) {
      expect(kill.atMs).toBeGreaterThanOrEqual(15_000)
      expect(kill.atMs).toBeLessThanOrEqual(90_000)
      const node = kill.kind === 'kill' ? kill.nodes[0] : -1
      const restart = restarts.find(action => action.kind === 'restart' && action.nodes[0] === node)
      expect(restart).toBeDefined()
      const downtime = (restart?.atMs ?? 0) - kill.atMs
      expect(downtime).toBeGreaterThanOrEqual(5_000)
      expect(downtime).toBeLessThanOrEqual(15_000)
    }
    expect(plan.actions.map(action => action.atMs)).toEqual([...plan.actions.map(action => action.atMs)].sort((a, b) => a - b))
    expect(planScenario(churn, 10, 42)).toEqual(plan)
    expect(planScenario(churn, 10, 43).actions).not.toEqual(plan.actions)
  })

  it('split a swarm into groups and mark late joiners', () => {
    expect(splitIntoGroups(8, 2)).toEqual([[1, 2, 3, 4], [5, 6, 7, 8]])
    expect(splitIntoGroups(5, 2)).toEqual([[1, 2], [3, 4, 5]])
    const plan = planScenario({
      name: 'mixed',
      events: [
        { at: '60s', kind: 'heal' },
        { at: 30, kind: 'partition', groups: 2 },
        { at: '40s', kind: 'join', nodes: [4] }
      ]
    }, 4, 1)
    expect(plan.actions.map(action => [action.atMs, action.kind])).toEqual([[30_000, 'partition'], [40_000, 'join'], [60_000, 'heal']])
    expect(plan.actions[0]).toMatchObject({ groups: [[1, 2], [3, 4]] })
    expect([...plan.lateJoiners]).toEqual([4])
  })

  it('refuses malformed scenarios with a message naming the field', () => {
    const bad: Array<[unknown, string]> = [
      [{ name: 'x', events: [{ at: 'soon', kind: 'heal' }] }, 'events[0].at'],
      [{ name: 'x', events: [{ at: '1s', kind: 'kill', nodes: [9] }] }, 'events[0].nodes'],
      [{ name: 'x', events: [{ at: '1s', kind: 'explode' }] }, 'events[0].kind'],
      [{ name: 'x', events: [{ kind: 'churn', fraction: 2, from: '1s', to: '2s', downtime: ['1s', '2s'] }] }, 'events[0].fraction'],
      [{ name: 'x', events: [{ at: '1s', kind: 'partition', groups: 1 }] }, 'events[0].groups'],
      [{ events: [] }, 'name']
    ]
    for (const [file, field] of bad) {
      let caught: unknown
      try { planScenario(file as ScenarioFile, 4, 1, 'test.json') } catch (error) { caught = error }
      expect(isMurmurError(caught, 'ERR_INVALID_ARGUMENT'), field).toBe(true)
      expect((caught as Error).message).toContain(field)
    }
  })
})
