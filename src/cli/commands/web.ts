import { resolve } from 'node:path'
import { Command } from 'commander'
import { MurmurError } from '../../errors.js'
import { webFiles } from '../../web/web-files.js'
import { writeWebFiles } from '../../web/web-server.js'
import { collect, withFlag } from '../parsers.js'
import { readManifest } from './start.js'

interface WebFlags {
  manifest: string
  out: string
  bootstrap?: string[]
  private: boolean
}

export function webCommand (): Command {
  return new Command('web')
    .description('write a browser node\'s page as static files for any web host: opened in a browser, it joins the swarm through the --bootstrap nodes (WebSockets addresses); `murmur start --web` serves the same page from a node')
    .requiredOption('--manifest <file>', 'swarm manifest (JSON, from `murmur manifest`)')
    .requiredOption('--out <dir>', 'folder to write the page into')
    .option('--bootstrap <multiaddr>', 'a node\'s WebSockets address with /p2p/PEER_ID (e.g. /dns4/node.example/tcp/4002/wss/p2p/12D3…), repeatable', collect)
    .option('--private', 'the swarm has a swarm key: the page asks for it (the key is never written into the page)', false)
    .action(async (flags: WebFlags) => {
      const manifest = await withFlag('--manifest', readManifest(flags.manifest))
      const bootstrap = flags.bootstrap ?? []
      for (const address of bootstrap) {
        if (!/\/wss?(\/|$)/.test(address) || !address.includes('/p2p/')) throw new MurmurError('ERR_INVALID_ARGUMENT', `--bootstrap: "${address}" is not a WebSockets multiaddr with /p2p/PEER_ID; a tab can join only through one`)
      }
      if (bootstrap.length === 0) process.stderr.write('warning: no --bootstrap: the page knows no node to join through\n')
      const written = await writeWebFiles(resolve(flags.out), await webFiles({ manifest, bootstrap: () => bootstrap, privateSwarm: flags.private }))
      process.stdout.write(`wrote ${written.length} files to ${resolve(flags.out)}; serve that folder over HTTP(S) and open index.html (add ?join to join at load)\n`)
    })
}
