import { Command } from 'commander'
import { MurmurError } from '../../errors.js'
import { generateSwarmKey } from '../../p2p/swarm-key.js'
import { writePrivateFile } from '../../private-files.js'

export function keygenCommand (): Command {
  return new Command('keygen')
    .description('make a swarm key for a private swarm: give the same file to every node with --swarm-key; a peer without it completes no connection')
    .option('--out <file>', 'write the key to this file (mode 600) instead of standard output')
    .option('--force', 'overwrite an existing file (it is made mode 600 whatever its mode was)', false)
    .action(async (flags: { out?: string; force: boolean }) => {
      const key = generateSwarmKey()
      if (flags.out === undefined) {
        process.stdout.write(key)
        process.stdout.write('\n')
        return
      }
      try {
        await writePrivateFile(flags.out, key, { overwrite: flags.force })
      } catch (error) {
        const exists = error instanceof Error && 'code' in error && error.code === 'EEXIST'
        throw new MurmurError('ERR_INVALID_ARGUMENT', exists ? `--out: ${flags.out} exists; add --force to replace it (nodes holding the old key will no longer connect)` : `--out: cannot write ${flags.out}: ${error instanceof Error ? error.message : String(error)}`)
      }
      process.stderr.write(`wrote a swarm key to ${flags.out}: keep it secret, and give it to every node of the swarm (--swarm-key ${flags.out})\n`)
    })
}
