import { connect, createServer } from 'node:net'

/**
 * Runs inside a node's network namespace and forwards connections from a Unix socket (which any
 * namespace can open: it lives in the file system) to the node's API on that namespace's loopback.
 * The testbed reads the nodes' status this way without any link between its namespaces and the host.
 * Usage: node api-bridge.js SOCKET PORT. It exits when its standard input closes (its parent is gone).
 */
const [socketPath, portText] = process.argv.slice(2)
const port = Number(portText)
if (socketPath === undefined || !Number.isInteger(port)) {
  process.stderr.write('usage: api-bridge SOCKET PORT\n')
  process.exit(2)
}
const server = createServer(client => {
  const upstream = connect(port, '127.0.0.1')
  client.pipe(upstream).pipe(client)
  const close = (): void => { client.destroy(); upstream.destroy() }
  client.on('error', close)
  upstream.on('error', close)
})
server.listen(socketPath)
process.stdin.on('end', () => { server.close(); process.exit(0) })
process.stdin.resume()
