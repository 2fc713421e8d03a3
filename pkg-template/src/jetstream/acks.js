// Publishes the store's saves to JetStream and hears their acknowledgements on
// one inbox subscription of its own, instead of a client request per save
// (js.publish). The client's request makes two Error objects per call (stack
// traces kept in case it fails), a timer and an entry in its request mux: at
// 2,000 concurrent saves that cost more than the rest of the save together.
// Here a publish is one map entry and one message; one timer, armed while
// acknowledgements are awaited, times them out.

const decoder = new TextDecoder();

/** How often the publishes still waiting for their acknowledgement are checked against their timeout. */
const SWEEP_MS = 100;

/** The JetStream API error of a refused publish, with the server's `code` (err_code) and `status`, as the client's errors have them. */
function apiError({ err_code: code, code: status, description }) {
  return Object.assign(new Error(description ?? `JetStream refused the publish (${code})`), { name: 'JetStreamApiError', code, status });
}

/** Publishes on one connection and hands each publish its acknowledgement, heard on an inbox of its own. */
export class AckInbox {
  #connection;
  #createInbox;
  #inbox = '';
  /** The subscription on `<inbox>.*`, made at the first publish and again after it ends (the connection closed, a permission error). */
  #subscription = null;
  /** @type {Map<string, { resolve: (ack: { seq: number, duplicate?: boolean }) => void, reject: (error: Error) => void, due: number }>} in publish order, so in order of `due` */
  #waiting = new Map();
  #sent = 0;
  #timer = null;
  #timeoutMs;

  /**
   * `createInbox(prefix)` is the NATS client's; the inbox takes the connection's
   * prefix, as the client's requests do (permissions may allow only that one).
   * Every publish times out after the same `timeoutMs`.
   */
  constructor(connection, createInbox, timeoutMs) {
    this.#connection = connection;
    this.#createInbox = createInbox;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Publishes `body` on `subject` with `headers` (the client's MsgHdrs), and
   * resolves with the server's acknowledgement `{ stream, seq, duplicate }`;
   * rejects with the server's refusal (`code` = its err_code), an Error named
   * `NoRespondersError` when no server answers for the subject (a stream without
   * a leader, say), or one named `TimeoutError` after the timeout.
   */
  publish(subject, body, headers) {
    return new Promise((resolve, reject) => {
      const token = (++this.#sent).toString(36);
      try {
        this.#listen();
        this.#waiting.set(token, { resolve, reject, due: Date.now() + this.#timeoutMs });
        this.#timer ??= setTimeout(() => this.#sweep(), SWEEP_MS);
        // Throws at once for a closed connection or a message above the server's max_payload.
        this.#connection.publish(subject, body, { reply: `${this.#inbox}.${token}`, headers });
      } catch (error) {
        this.#waiting.delete(token);
        reject(error);
      }
    });
  }

  #listen() {
    if (this.#subscription) return;
    this.#inbox = this.#createInbox(this.#connection.options?.inboxPrefix);
    const subscription = this.#connection.subscribe(`${this.#inbox}.*`, { callback: (error, message) => this.#hear(error, message) });
    this.#subscription = subscription;
    subscription.closed.then((error) => {
      if (this.#subscription === subscription) this.#subscription = null;
      this.#failAll(error instanceof Error ? error : new Error('the connection to NATS closed before the acknowledgement came'));
    });
  }

  #hear(error, message) {
    if (error) {
      this.#failAll(error);
      return;
    }
    const token = message.subject.slice(this.#inbox.length + 1);
    const waiting = this.#waiting.get(token);
    if (!waiting) return; // timed out already
    this.#waiting.delete(token);
    if (message.data.length === 0 && message.headers?.code === 503) {
      waiting.reject(Object.assign(new Error(`jetstream is not enabled: no server answered for ${message.subject}`), { name: 'NoRespondersError' }));
      return;
    }
    let ack;
    try {
      ack = JSON.parse(decoder.decode(message.data));
    } catch (cause) {
      waiting.reject(new Error('JetStream answered the publish with something that is not JSON', { cause }));
      return;
    }
    if (ack?.error) waiting.reject(apiError(ack.error));
    else if (!Number.isSafeInteger(ack?.seq) || typeof ack.stream !== 'string' || ack.stream === '') waiting.reject(new Error('invalid ack response'));
    else waiting.resolve(ack);
  }

  /** Rejects the publishes whose time is up; runs while any is waiting. */
  #sweep() {
    this.#timer = null;
    const now = Date.now();
    for (const [token, waiting] of this.#waiting) {
      if (waiting.due > now) break;
      this.#waiting.delete(token);
      waiting.reject(Object.assign(new Error('timeout'), { name: 'TimeoutError' }));
    }
    if (this.#waiting.size > 0) this.#timer = setTimeout(() => this.#sweep(), SWEEP_MS);
  }

  #failAll(error) {
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const { reject } of waiting) reject(error);
  }

  /** Stops listening; publishes still waiting reject. */
  close() {
    clearTimeout(this.#timer);
    this.#timer = null;
    this.#subscription?.unsubscribe();
    this.#subscription = null;
    this.#failAll(new Error('the store was closed before the acknowledgement came'));
  }
}
