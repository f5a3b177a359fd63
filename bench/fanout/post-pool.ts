/**
 * Keep-alive HTTP/1.1 connections to one server for the fan-out's open-loop driver: it writes each POST
 * as one prepared string and reads the answer by its Content-Length, one request at a time per
 * connection. The driver shares the machine's two cores with the servers it measures, and Node's
 * `http` client (an agent, a parser, request and response streams per call) cost it 0.35-0.5 ms of CPU
 * per change: a third of what a server spends on that change, taken from the same cores.
 */
import net from 'node:net';

/** The answer to one POST: its status and body (an empty body and status 0 when the connection failed). */
export interface Answer {
  status: number;
  body: string;
  error?: string;
}

interface Conn {
  socket: net.Socket;
  /** The answer being read, and whom it goes to. */
  pending: ((a: Answer) => void) | null;
  buffer: Buffer;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * A pool of connections to `host:port`, sending POSTs to `path`; connections are reused last-in
 * first-out, and one is opened whenever none is free, so it holds as many as the caller keeps requests
 * in flight (the driver bounds those).
 */
export class PostPool {
  private readonly idle: Conn[] = [];
  private readonly all = new Set<Conn>();

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly path: string,
  ) {}

  /** Opens `n` connections ahead, so the measured requests do not pay for connecting. */
  async open(n: number): Promise<void> {
    const conns = await Promise.all(Array.from({ length: n }, () => this.connect()));
    this.idle.push(...conns);
  }

  /** Sends `body` (JSON) with `authorization`; `onAnswer` gets the answer, or status 0 and an error. */
  post(body: string, authorization: string, onAnswer: (a: Answer) => void): void {
    const request =
      `POST ${this.path} HTTP/1.1\r\nhost: ${this.host}:${this.port}\r\ncontent-type: application/json\r\n` +
      `authorization: ${authorization}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const go = (c: Conn) => {
      c.pending = onAnswer;
      c.socket.write(request);
    };
    const free = this.idle.pop();
    if (free) go(free);
    else this.connect().then(go, (e: Error) => onAnswer({ status: 0, body: '', error: e.message }));
  }

  close(): void {
    for (const c of this.all) c.socket.destroy();
    this.all.clear();
    this.idle.length = 0;
  }

  private connect(): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: this.host, port: this.port, noDelay: true });
      const conn: Conn = { socket, pending: null, buffer: Buffer.alloc(0) };
      socket.once('connect', () => {
        this.all.add(conn);
        resolve(conn);
      });
      socket.on('data', (chunk: Buffer) => this.read(conn, chunk));
      const gone = (why: string) => {
        this.all.delete(conn);
        const i = this.idle.indexOf(conn);
        if (i >= 0) this.idle.splice(i, 1);
        const pending = conn.pending;
        conn.pending = null;
        pending?.({ status: 0, body: '', error: why });
        reject(new Error(why));
      };
      socket.on('error', (e) => gone(e.message));
      socket.on('close', () => gone('connection closed'));
    });
  }

  private read(conn: Conn, chunk: Buffer): void {
    conn.buffer = conn.buffer.length ? Buffer.concat([conn.buffer, chunk]) : chunk;
    const headEnd = conn.buffer.indexOf(HEADER_END);
    if (headEnd < 0) return;
    const head = conn.buffer.toString('latin1', 0, headEnd);
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!length) {
      // The API answers with a length; anything else is a failure of the run, not something to guess at.
      conn.socket.destroy(new Error(`answer without content-length: ${head.slice(0, 200)}`));
      return;
    }
    const bodyStart = headEnd + HEADER_END.length;
    const bodyEnd = bodyStart + Number(length[1]);
    if (conn.buffer.length < bodyEnd) return;
    const answer: Answer = { status: Number(head.slice(9, 12)), body: conn.buffer.toString('utf8', bodyStart, bodyEnd) };
    conn.buffer = conn.buffer.subarray(bodyEnd);
    const pending = conn.pending;
    conn.pending = null;
    if (/\r\nconnection:\s*close/i.test(head)) conn.socket.end();
    else this.idle.push(conn);
    pending?.(answer);
  }
}
