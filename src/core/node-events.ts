/** What an exchange after a round did. */
export interface ExchangeDetail {
  readonly step: number
  /** peers' models merged in this round */
  readonly merged: number
  /** peers the model went to directly */
  readonly recipients: number
  /** bytes of one broadcast message (0 for pushes, whose bytes are counted per peer in status) */
  readonly bytes: number
}

/** A node's typed events: the core dispatches them, the process node and embedding programs listen. */
export interface NodeCoreEvents {
  /** the node shared its model after merging what it had received */
  exchange: CustomEvent<ExchangeDetail>
  /** an update from a peer passed every check and will be merged (`from`: its sender, in broadcast mode its author) */
  accepted: CustomEvent<{ readonly from: string; readonly samples: number }>
  /** an update from a peer was refused */
  rejected: CustomEvent<{ readonly from: string; readonly reason: string }>
  evaluation: CustomEvent<{ readonly step: number; readonly accuracy: number | null }>
  checkpoint: CustomEvent<{ readonly step: number }>
  /** the node adopted a peer's model because it had none of its own (a late or fresh join) */
  'warm-join': CustomEvent<{ readonly from: string; readonly step: number; readonly samples: number }>
  /** something the operator should know that does not stop the node, e.g. a damaged checkpoint skipped */
  warning: CustomEvent<{ readonly message: string }>
  /** the training loop failed; the node stops */
  error: CustomEvent<Error>
}

export const NODE_EVENT_NAMES = ['exchange', 'accepted', 'rejected', 'evaluation', 'checkpoint', 'warm-join', 'warning', 'error'] as const satisfies ReadonlyArray<keyof NodeCoreEvents>
