#!/usr/bin/env node
import { Command, CommanderError } from 'commander'
import { isMurmurError } from '../errors.js'
import { benchCommand } from './commands/bench.js'
import { exportCommand } from './commands/export.js'
import { keygenCommand } from './commands/keygen.js'
import { manifestCommand } from './commands/manifest.js'
import { predictCommand } from './commands/predict.js'
import { simulateCommand } from './commands/simulate.js'
import { startCommand } from './commands/start.js'
import { swarmCommand } from './commands/swarm.js'
import { testbedCommand } from './commands/testbed.js'
import { webCommand } from './commands/web.js'

const program = new Command('murmur')
  .description('murmur: a serverless peer-to-peer learning network. Nodes train on their own data and gossip-average one model over libp2p.')
  .version('0.1.0')
  .showHelpAfterError('(add --help for usage)')
  .exitOverride()

for (const command of [manifestCommand(), startCommand(), swarmCommand(), simulateCommand(), testbedCommand(), keygenCommand(), benchCommand(), exportCommand(), predictCommand(), webCommand()]) {
  program.addCommand(command.showHelpAfterError('(add --help for usage)').exitOverride())
}

try {
  await program.parseAsync(process.argv)
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has already printed the message (help and version end up here too, with code 0).
    process.exitCode = error.exitCode
  } else if (isMurmurError(error)) {
    process.stderr.write(`murmur: error: ${error.message} [${error.code}]\n`)
    process.exitCode = 1
  } else {
    throw error
  }
}
