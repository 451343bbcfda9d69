import type { ScenarioAction } from './scenario.js'
import type { EventLog } from './scenario-timeline.js'
import type { SwarmNodes } from './swarm-nodes.js'

/**
 * Performs one scenario action on a local swarm's processes and records it in the summary's events:
 * `kill` is SIGKILL, `leave` a clean stop, `restart` and `join` start the node again (a `join` is
 * timed, for the summary's lateJoins), `partition` and `heal` set what each node's connection gater
 * refuses, and `attack` restarts a running node as an attacker (at 0 s the node started as one).
 */
export async function performSwarmAction (swarm: SwarmNodes, action: ScenarioAction, events: EventLog): Promise<void> {
  switch (action.kind) {
    case 'kill':
    case 'leave':
      await Promise.all(action.nodes.map(async index => action.kind === 'kill' ? swarm.kill(swarm.node(index)) : swarm.leave(swarm.node(index))))
      events.record({ kind: action.kind, nodes: [...action.nodes] })
      return
    case 'restart':
    case 'join':
      await Promise.all(action.nodes.map(async index => {
        const target = swarm.node(index)
        if (target.state === 'running') return
        await swarm.start(target)
        if (action.kind === 'join') target.joinedAtMs = events.elapsedMs()
      }))
      events.record({ kind: action.kind, nodes: [...action.nodes] })
      return
    case 'partition':
      await swarm.partition(action.groups)
      events.record({ kind: 'partition', groups: action.groups.map(group => [...group]) })
      return
    case 'attack':
      await Promise.all(action.nodes.map(async index => {
        const target = swarm.node(index)
        const wasRunning = target.state === 'running'
        target.attack = action.attack
        if (!wasRunning || action.atMs === 0) return
        await target.process?.stop()
        await swarm.start(target)
      }))
      events.record({ kind: 'attack', nodes: [...action.nodes] })
      return
    case 'heal':
      await swarm.heal()
      events.record({ kind: 'heal' })
  }
}
