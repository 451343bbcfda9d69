import { Counter, Gauge, Registry } from 'prom-client'
import type { NodeStatus } from './status.js'

const SNAPSHOT_MS = 100

/**
 * Prometheus metrics for one node, read from the same status snapshot as GET /status so the two
 * never disagree. Each node has its own registry: several nodes may share a process.
 */
export function createMetricsRegistry (readStatus: () => NodeStatus): Registry {
  const registry = new Registry()
  // One scrape collects every metric: take one snapshot for all of them, not one each.
  let snapshot: { status: NodeStatus; at: number } | null = null
  const status = (): NodeStatus => {
    const now = Date.now()
    if (snapshot === null || now - snapshot.at > SNAPSHOT_MS) snapshot = { status: readStatus(), at: now }
    return snapshot.status
  }
  const counter = (name: string, help: string, read: (s: NodeStatus) => number): void => {
    registry.registerMetric(new Counter({
      name,
      help,
      registers: [],
      collect () { this.reset(); this.inc(read(status())) }
    }))
  }
  const gauge = (name: string, help: string, read: (s: NodeStatus) => number | null): void => {
    registry.registerMetric(new Gauge({
      name,
      help,
      registers: [],
      // Prometheus has no null: an unknown value is NaN, which queries skip, rather than a false 0.
      collect () { this.set(read(status()) ?? Number.NaN) }
    }))
  }
  counter('murmur_training_steps_total', 'Local training steps taken, across restarts', s => s.step)
  counter('murmur_samples_processed_total', 'Training samples processed, across restarts', s => s.samplesProcessed)
  counter('murmur_exchanges_total', 'Times this node shared its model', s => s.exchanges)
  counter('murmur_updates_received_total', 'Model updates received from peers', s => s.updates.received)
  counter('murmur_updates_accepted_total', 'Model updates that passed validation', s => s.updates.accepted)
  counter('murmur_update_bytes_sent_total', 'Payload bytes of model updates sent', s => s.bytes.sent)
  counter('murmur_update_bytes_received_total', 'Payload bytes of model updates received', s => s.bytes.received)
  registry.registerMetric(new Counter({
    name: 'murmur_updates_rejected_total',
    help: 'Model updates rejected, by reason',
    labelNames: ['reason'],
    registers: [],
    collect () {
      this.reset()
      for (const [reason, count] of Object.entries(status().updates.rejectedByReason)) this.inc({ reason }, count)
    }
  }))
  gauge('murmur_peers', 'Peers connected now', s => s.peers)
  counter('murmur_sends_relayed_total', 'Model pushes sent over a relayed connection (they fit in its data limit)', s => s.exchange.sendsRelayed)
  counter('murmur_sends_skipped_relayed_total', 'Model pushes not sent: the peer was reachable only through a relay and the model did not fit', s => s.exchange.sendsSkippedRelayed)
  registry.registerMetric(new Gauge({
    name: 'murmur_connections',
    help: 'Open connections, by transport and whether a relay carries them',
    labelNames: ['transport', 'relayed'],
    registers: [],
    collect () {
      this.reset()
      for (const connection of status().connections) this.inc({ transport: connection.transport, relayed: String(connection.relayed) })
    }
  }))
  registry.registerMetric(new Gauge({
    name: 'murmur_reachability',
    help: 'Whether peers can dial this node directly: 1 for the current state (public, private or unknown)',
    labelNames: ['state'],
    registers: [],
    collect () {
      const current = status().reachability
      for (const state of ['public', 'private', 'unknown']) this.set({ state }, state === current ? 1 : 0)
    }
  }))
  registry.registerMetric(new Counter({
    name: 'murmur_admission_connections_total',
    help: 'Connections judged by a private swarm\'s admission, by outcome (no series outside a private swarm)',
    labelNames: ['outcome'],
    registers: [],
    collect () {
      this.reset()
      const admission = status().admission
      if (admission === null) return
      this.inc({ outcome: 'admitted' }, admission.admitted)
      this.inc({ outcome: 'refused' }, admission.refused)
      this.inc({ outcome: 'timed_out' }, admission.timedOut)
    }
  }))
  gauge('murmur_accuracy', 'Last accuracy on the node\'s held-out data', s => s.lastAccuracy)
  gauge('murmur_event_loop_lag_p50_seconds', 'Median event-loop delay of the thread serving libp2p', s => s.eventLoop.lagP50Ms / 1000)
  gauge('murmur_event_loop_lag_p99_seconds', '99th percentile event-loop delay of the thread serving libp2p', s => s.eventLoop.lagP99Ms / 1000)
  return registry
}
