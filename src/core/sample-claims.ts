import { median } from '../statistics.js'

/**
 * Sample counts are what peers say about themselves: nothing verifies them. Before they weigh
 * anything (the `mean` and `clipped-mean` rules), each claim is capped by what is plausible:
 *
 *   plausible(claim) = min(claim, factor × median of all claims (the node's own included),
 *                                 factor × the node's own count)
 *
 * One peer, or any minority, cannot move the median, and the node's own count is a fact, not a
 * claim; with `factor` = 4 an honest peer that trained up to 4× more than is typical keeps its
 * weight, and a claim of 2^53 − 1 weighs as much as 4 typical peers, not as the whole swarm. A node
 * with no samples yet (own 0) treats every peer alike: all caps are at least 1.
 */
export const CLAIM_FACTOR = 4

export function plausibleClaims (own: number, claims: readonly number[], factor = CLAIM_FACTOR): number[] {
  const typical = median([own, ...claims].map(value => Number.isFinite(value) && value > 0 ? value : 0))
  const cap = Math.max(1, factor * Math.min(typical, Math.max(own, 0)))
  return claims.map(claim => Number.isFinite(claim) && claim > 0 ? Math.min(claim, cap) : 0)
}
