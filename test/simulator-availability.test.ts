import { describe, expect, it } from 'vitest'
import { availabilityActions, formatAvailabilityCsv, parseAvailabilityTrace, parseSmartphoneChurn, smartphoneSessions } from '../src/simulator/availability.js'
import { errorOf } from './helpers.js'

const HOUR = 3_600_000

describe('availability traces', () => {
  it('reads a CSV trace, deals its devices to nodes in order of appearance, and cuts sessions at the end of the run', () => {
    const text = 'device,online_from,online_to\nphone-b,0,100\nphone-a,50.5,70\n# a comment\nphone-b,200,9000\n'
    const trace = parseAvailabilityTrace(text, 'csv', 3, 600_000, 'trace.csv')
    expect(trace.sessions).toEqual([
      { node: 1, from: 0, to: 100_000 }, { node: 1, from: 200_000, to: 600_000 },
      { node: 2, from: 50_500, to: 70_000 },
      // more nodes than devices: node 3 follows the first device again
      { node: 3, from: 0, to: 100_000 }, { node: 3, from: 200_000, to: 600_000 }
    ])
  })

  it('takes devices labelled with node numbers as those nodes', () => {
    const trace = parseAvailabilityTrace('device,online_from,online_to\n3,0,10\n1,5,6\n', 'csv', 4, HOUR, 'numbered.csv')
    expect(trace.sessions).toEqual([{ node: 1, from: 5_000, to: 6_000 }, { node: 3, from: 0, to: 10_000 }])
  })

  it('reads the same trace as JSON', () => {
    const csv = parseAvailabilityTrace('device,online_from,online_to\n7,0,10\n9,5,6\n', 'csv', 2, HOUR, 'x.csv')
    const json = parseAvailabilityTrace(JSON.stringify({ sessions: [{ device: 7, from: 0, to: 10 }, { device: '9', from: 5, to: 6 }] }), 'json', 2, HOUR, 'x.json')
    expect(json.sessions).toEqual(csv.sessions)
  })

  it('refuses malformed traces, naming the problem', () => {
    const refusals: Array<[string, 'csv' | 'json', RegExp]> = [
      ['node,from,to\n1,0,1\n', 'csv', /header device,online_from,online_to/],
      ['device,online_from,online_to\n', 'csv', /holds no sessions/],
      ['device,online_from,online_to\na,0\n', 'csv', /line 2: expected/],
      ['device,online_from,online_to\na,-1,5\n', 'csv', /line 2: "-1" is not a number of seconds/],
      ['device,online_from,online_to\na,abc,5\n', 'csv', /line 2/],
      ['device,online_from,online_to\na,10,5\n', 'csv', /ends \(5 s\) before it starts \(10 s\)/],
      ['device,online_from,online_to\na,0,10\na,5,20\n', 'csv', /device a has overlapping sessions/],
      ['{"sessions": [', 'json', /not JSON/],
      ['{"devices": []}', 'json', /needs a "sessions" list/],
      ['{"sessions": [{"device": "a", "from": 0}]}', 'json', /sessions\[0\]\.to/],
      ['{"sessions": [{"device": {}, "from": 0, "to": 1}]}', 'json', /sessions\[0\]\.device/]
    ]
    for (const [text, format, message] of refusals) {
      const error = errorOf(() => parseAvailabilityTrace(text, format, 4, HOUR, 'bad'))
      expect(String(error)).toMatch(/availability trace bad/)
      expect(String(error)).toMatch(message)
    }
  })

  it('generates smartphone sessions online about the share asked for, the same for the same seed', () => {
    const churn = parseSmartphoneChurn('smartphone:0.3:5m')
    expect(churn).toEqual({ online: 0.3, meanSessionMs: 300_000 })
    const first = smartphoneSessions(churn!, 2000, HOUR, 5)
    expect(smartphoneSessions(churn!, 2000, HOUR, 5)).toEqual(first)
    expect(smartphoneSessions(churn!, 2000, HOUR, 6)).not.toEqual(first)
    const online = first.sessions.reduce((total, session) => total + session.to - session.from, 0) / (2000 * HOUR)
    expect(online).toBeGreaterThan(0.22)
    expect(online).toBeLessThan(0.38)
    // Sessions of one phone never overlap, and lie within the run.
    const byNode = new Map<number, Array<{ from: number; to: number }>>()
    for (const session of first.sessions) byNode.set(session.node, [...byNode.get(session.node) ?? [], session])
    for (const sessions of byNode.values()) {
      for (let i = 1; i < sessions.length; i++) expect(sessions[i]!.from).toBeGreaterThanOrEqual(sessions[i - 1]!.to)
    }
    expect(first.sessions.every(session => session.from >= 0 && session.to <= HOUR && session.to > session.from)).toBe(true)
    // What the generator writes, the trace reader reads back.
    expect(parseAvailabilityTrace(formatAvailabilityCsv(first), 'csv', 2000, HOUR, 'round-trip').sessions).toEqual(first.sessions)
    expect(parseSmartphoneChurn('trace.csv')).toBeNull()
    for (const bad of ['smartphone:1.5', 'smartphone:0', 'smartphone:0.3:soon', 'smartphone:0.3:5m:x']) expect(String(errorOf(() => parseSmartphoneChurn(bad)))).toMatch(/invalid churn/)
  })

  it('turns sessions into joins, leaves and restarts', () => {
    const { actions, heldBack } = availabilityActions({ source: 't', sessions: [{ node: 1, from: 0, to: 10 }, { node: 2, from: 5, to: 8 }, { node: 2, from: 12, to: 20 }] }, 3)
    expect([...heldBack].sort()).toEqual([2, 3])
    expect(actions).toEqual([
      { atMs: 5, kind: 'join', nodes: [2] },
      { atMs: 8, kind: 'leave', nodes: [2] },
      { atMs: 10, kind: 'leave', nodes: [1] },
      { atMs: 12, kind: 'restart', nodes: [2] },
      { atMs: 20, kind: 'leave', nodes: [2] }
    ])
  })
})
