import { existsSync } from 'node:fs'
import type { Browser, Page } from 'playwright-core'
import type { BrowserNodeStatus } from '../src/browser/browser-node.js'
import { CHROMIUM } from './model-helpers.js'
import { sleep } from './helpers.js'

/**
 * Debian's Chromium, headless, with one context (its own storage: IndexedDB, so its own node) per
 * tab; or null, with one line saying so, where it is not installed. Nothing downloads a browser.
 * WebRTC: loopback candidates allowed and local addresses not hidden behind mDNS names (which
 * nothing resolves here); the page configures no STUN server, so ICE never leaves the machine.
 */
export async function launchBrowser (): Promise<Browser | null> {
  if (!existsSync(CHROMIUM)) {
    process.stdout.write(`skipped: ${CHROMIUM} is missing (apt-get install chromium), so the browser node tests do not run\n`)
    return null
  }
  const { chromium } = await import('playwright-core')
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns']
  })
}

/** A browser node's tab: its page and what it reports. */
export class Tab {
  readonly errors: string[] = []

  constructor (readonly page: Page) {
    page.on('pageerror', error => { this.errors.push(error.message) })
  }

  static async open (browser: Browser, url: string): Promise<Tab> {
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 } })
    const tab = new Tab(await context.newPage())
    await tab.page.goto(url)
    return tab
  }

  async status (): Promise<BrowserNodeStatus | null> {
    return this.page.evaluate(() => (globalThis as unknown as { murmur?: { status: () => unknown } }).murmur?.status() ?? null) as Promise<BrowserNodeStatus | null>
  }

  /** The page's error line (a refused start, a failed node), or null. */
  async error (): Promise<string | null> {
    return this.page.evaluate(() => {
      const scope = globalThis as unknown as { murmur?: { error: string | null }; murmurError?: string }
      return scope.murmurError ?? scope.murmur?.error ?? null
    })
  }

  /** Polls the tab's status until the condition holds; fails with the last status after the timeout. */
  async waitFor (condition: (status: BrowserNodeStatus) => boolean, what: string, timeoutMs = 90_000): Promise<BrowserNodeStatus> {
    const deadline = Date.now() + timeoutMs
    let last: BrowserNodeStatus | null = null
    while (Date.now() < deadline) {
      last = await this.status()
      if (last !== null && condition(last)) return last
      const error = await this.error()
      if (error !== null) throw new Error(`the tab failed while waiting for ${what}: ${error}`)
      await sleep(500)
    }
    throw new Error(`${what}: not reached in ${timeoutMs} ms; last status: ${JSON.stringify(last === null ? null : { step: last.step, peers: last.peers, connections: last.connections, exchanges: last.exchanges, updates: last.updates, lastAccuracy: last.lastAccuracy })}; page errors: ${this.errors.join('; ')}`)
  }

  async close (): Promise<void> {
    await this.page.context().close()
  }
}

/** Pixels of the accuracy line's colour (#2563eb) on the page's chart. */
export async function chartLinePixels (page: Page): Promise<number> {
  return page.evaluate(() => {
    const canvas = document.getElementById('chart-accuracy') as HTMLCanvasElement
    const context = canvas.getContext('2d')
    if (context === null) return 0
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height)
    let count = 0
    for (let i = 0; i < data.length; i += 4) {
      if (Math.abs((data[i] ?? 0) - 37) < 12 && Math.abs((data[i + 1] ?? 0) - 99) < 12 && Math.abs((data[i + 2] ?? 0) - 235) < 12 && (data[i + 3] ?? 0) > 200) count++
    }
    return count
  })
}
