/**
 * A TCP round-robin load balancer on loopback, for the cluster tests: each client connection goes to
 * the next backend (a relay instance's port) and bytes are copied both ways untouched, so HTTP
 * keep-alive, streaming and aborts behave as through a real L4 balancer. A backend that refuses the
 * connection (killed, restarting) is skipped for the next one; a test can add and remove backends.
 *
 * Backpressure: when `write` takes less than it was given, the rest waits in that side's queue, the
 * sending side is paused, and the `drain` handler flushes the queue and resumes it, so a slow reader
 * never makes the balancer buffer a whole stream.
 */
import type { Socket, TCPSocketListener } from "bun";

/** One direction of a proxied connection: where bytes go, what `write` has not taken yet, and who sends them. */
type Side = { peer: Socket<Conn> | null; queue: Uint8Array[]; endAfterQueue: boolean };
/**
 * Per socket: its own outgoing side (bytes waiting to be written to it), the socket on the other end,
 * and, on a client socket until its backend connects, the bytes that arrived meanwhile.
 */
type Conn = { out: Side; other: Socket<Conn> | null; backend: number | null; closed: boolean; early: Uint8Array[] | null };

export type Balancer = {
  /** The address clients use: http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Backend ports, in round-robin order. */
  readonly backends: readonly number[];
  add(port: number): void;
  /** Stops routing new connections to `port`; with `drop`, also cuts the connections already open to it. */
  remove(port: number, opts?: { drop?: boolean }): void;
  /** Connections accepted per backend port since start. */
  readonly accepted: ReadonlyMap<number, number>;
  stop(): void;
};

const newConn = (): Conn => ({ out: { peer: null, queue: [], endAfterQueue: false }, other: null, backend: null, closed: false, early: null });

/** Writes `data` to `to`, or queues it behind what is already waiting; pauses `from` while anything waits. */
function forward(to: Socket<Conn>, from: Socket<Conn>, data: Uint8Array): void {
  const side = to.data.out;
  if (to.data.closed) return;
  if (side.queue.length === 0) {
    const n = to.write(data);
    if (n === data.length) return;
    if (n < 0) return; // closing: its close handler ends the other side
    data = data.subarray(n);
  }
  // Bun may reuse the buffer it handed to `data`: keep a copy.
  side.queue.push(new Uint8Array(data));
  side.peer = from;
  from.pause();
}

/** `drain`: writes what waited, and once nothing does, resumes the sender (or ends, if the sender had ended). */
function flush(s: Socket<Conn>): void {
  const side = s.data.out;
  while (side.queue.length > 0) {
    const head = side.queue[0]!;
    const n = s.write(head);
    if (n < 0) return;
    if (n < head.length) {
      side.queue[0] = head.subarray(n);
      return;
    }
    side.queue.shift();
  }
  if (side.endAfterQueue) s.end();
  else side.peer?.resume();
  side.peer = null;
}

/** One side sent its FIN or closed: the other ends once its queue is written. */
function endOther(s: Socket<Conn>, closed: boolean): void {
  if (closed) s.data.closed = true;
  const o = s.data.other;
  if (!o || o.data.closed) return;
  if (o.data.out.queue.length === 0) o.end();
  else o.data.out.endAfterQueue = true;
}

export function startBalancer(initial: number[] = []): Balancer {
  const backends = [...initial];
  const accepted = new Map<number, number>();
  const open = new Set<Socket<Conn>>();
  let next = 0;

  const upstreamHandler = {
    data: (s: Socket<Conn>, data: Uint8Array) => void (s.data.other && forward(s.data.other, s, data)),
    drain: flush,
    end: (s: Socket<Conn>) => endOther(s, false),
    close: (s: Socket<Conn>) => {
      open.delete(s);
      endOther(s, true);
    },
    error: () => {},
    connectError: () => {},
  };

  /** Connects to the next backend that accepts, trying each at most once. */
  async function connect(client: Socket<Conn>): Promise<Socket<Conn> | null> {
    for (let tried = 0; tried < backends.length; tried++) {
      const port = backends[next++ % backends.length]!;
      try {
        const up = await Bun.connect<Conn>({ hostname: "127.0.0.1", port, data: newConn(), socket: upstreamHandler });
        up.data.other = client;
        up.data.backend = port;
        accepted.set(port, (accepted.get(port) ?? 0) + 1);
        return up;
      } catch {
        // refused: a killed or restarting instance; try the next one
      }
    }
    return null;
  }

  const server: TCPSocketListener<Conn> = Bun.listen<Conn>({
    hostname: "127.0.0.1",
    port: 0,
    data: newConn(),
    socket: {
      open(client) {
        client.data = { ...newConn(), early: [] };
        open.add(client);
        // Reading waits for the backend; what arrives before it answers is kept in `early`.
        client.pause();
        void connect(client).then((up) => {
          if (!up) return client.end();
          if (client.data.closed) return up.end();
          open.add(up);
          client.data.other = up;
          client.data.backend = up.data.backend;
          const early = client.data.early ?? [];
          client.data.early = null;
          for (const chunk of early) forward(up, client, chunk);
          if (up.data.out.queue.length === 0) client.resume();
        });
      },
      data(client, data) {
        if (client.data.early) client.data.early.push(new Uint8Array(data));
        else if (client.data.other) forward(client.data.other, client, data);
      },
      drain: flush,
      end: (client) => endOther(client, false),
      close(client) {
        open.delete(client);
        endOther(client, true);
      },
      error: () => {},
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port,
    backends,
    accepted,
    add(port) {
      if (!backends.includes(port)) backends.push(port);
    },
    remove(port, opts = {}) {
      const i = backends.indexOf(port);
      if (i >= 0) backends.splice(i, 1);
      if (opts.drop) for (const s of open) if (s.data.backend === port) s.terminate();
    },
    stop() {
      server.stop(true);
      for (const s of open) s.terminate();
    },
  };
}
