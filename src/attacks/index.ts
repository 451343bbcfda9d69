import type { Attack, AttackBehaviour } from './attack.js'
import { backdoorAttack } from './backdoor.js'
import { liarAttack } from './liar.js'
import { noiseAttack, signFlipAttack } from './model-poisoning.js'
import { ratchetAttack } from './ratchet.js'
import { sybilAttack } from './sybil.js'
import { takeoverAttack } from './takeover.js'

const BEHAVIOURS: Record<Attack, AttackBehaviour> = {
  'sign-flip': signFlipAttack,
  noise: noiseAttack,
  takeover: takeoverAttack,
  backdoor: backdoorAttack,
  ratchet: ratchetAttack,
  liar: liarAttack,
  sybil: sybilAttack
}

/** What an attacking node does to what it sends (see attack.ts). */
export function attackBehaviour (attack: Attack): AttackBehaviour {
  return BEHAVIOURS[attack]
}
