/**
 * A loopback HTTP server that answers 500 to everything and counts the requests: point
 * `--endpoint` at it to prove that bad input is refused before any call to AWS.
 */
import {createServer, type Server} from 'node:http'

export class CountingServer {
  requests = 0
  private server?: Server

  get endpoint(): string {
    const addr = this.server?.address()
    return `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`
  }

  async start(): Promise<void> {
    this.server = createServer((_req, res) => {
      this.requests++
      res.statusCode = 500
      res.end()
    })
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
  }
}
