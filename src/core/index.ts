/**
 * `murmur/core`: the node's protocol with the world injected, for other runtimes (a browser, a
 * simulator, tests): implement the ports (Transport, NodeStatePort, NodeTrainer, Clock, Logger) and
 * hand them to NodeCore. See docs/architecture.md, section "The node core and its ports".
 */
export { NodeCore, DEFAULT_CHECKPOINT_INTERVAL_MS, DEFAULT_EVALUATION_INTERVAL_MS, type NodeCoreComponents, type NodeCoreInit, type ModelSnapshot } from './node-core.js'
export { NODE_EVENT_NAMES, type NodeCoreEvents, type ExchangeDetail } from './node-events.js'
export type { CoreStatus } from './core-status.js'
export type { Transport, TransportHandlers, GossipTopic, GossipVerdict, PushCandidate, PushOutcome, PushReply } from './transport.js'
export { emptyCounters, type NodeStatePort, type Checkpoint, type CheckpointReading, type NodeCounters } from './node-state.js'
export type { NodeTrainer } from './node-trainer.js'
export { systemClock, idle, withTimeout, isoTime, type Clock } from './clock.js'
export { silentLogger, type Logger } from './logger.js'
export { PeerGate } from './peer-gate.js'
export type { Exchange, ExchangeDecorator, ExchangeDecoratorContext, ExchangeStats, Outgoing, Progress, ShareResult } from './exchange.js'
export { DEFAULT_INTAKE_LIMITS, type IntakeLimits } from './intake-guard.js'
export { encodeUpdate, validateUpdate, maxUpdateBytes, type ModelUpdate, type UpdateExpectations } from './update-codec.js'
