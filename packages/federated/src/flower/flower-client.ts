import { decodeProto, encodeProto, type ProtoMessage } from '@edgeml/core';
import type { FederatedClient, LocalTrainingOptions } from '../client.js';
import { runClientApp, HANDLED_TYPES } from './client-app.js';
import { FlowerConnectionError, FlowerProtocolError } from './errors.js';
import {
  messageFromObjects,
  messageToObjects,
  metadataFrom,
  metadataProto,
  type FlowerMessage,
} from './message-objects.js';
import { NodeIdentity } from './node-auth.js';
import { postOrder, treeFrom } from './objects.js';
import { FLEET_RPCS, type FleetRpc } from './proto.js';
import type { ConfigValue } from './records.js';
import type { FleetTransport } from './transport.js';

/** Flower's `ErrorCode.CLIENT_APP_RAISED_EXCEPTION`: what a reply's error says when handling failed. */
export const CLIENT_APP_RAISED_EXCEPTION = 2;

/** How a {@link FlowerClient} behaves. */
export interface FlowerClientOptions {
  /** The connection to the SuperLink's Fleet API (e.g. `grpcFleetTransport('127.0.0.1:9092', { insecure: true })`). */
  transport: FleetTransport;
  /** Local training for "train" messages; the message's ConfigRecord (`lr`, `local-epochs`, `batch-size`, `proximal-mu`) overrides it. Default 1 epoch, batch 32, lr 1e-3. */
  training?: Partial<LocalTrainingOptions>;
  /** Seconds between heartbeats the node promises the SuperLink (Flower's default 30). */
  heartbeatInterval?: number;
  /** Milliseconds to wait after PullMessages found nothing (default 1000). */
  pollInterval?: number;
  /** Milliseconds to keep asking for an object the SuperLink has not received yet (default 60 000). */
  objectTimeout?: number;
  /** The node's key pair (default: a fresh one, registered on connect). */
  identity?: NodeIdentity;
}

/** What handling one message did. */
export interface FlowerMessageReport {
  messageId: string;
  messageType: string;
  runId: bigint;
  /** Flower's round number for messages from its strategies (`group_id`). */
  groupId: string;
  /** The message's ConfigRecord. */
  config: Record<string, ConfigValue>;
  /** The figures replied (`train_loss`, `eval_loss`, `eval_acc`, `num-examples`). */
  metrics: Record<string, number>;
  replyId: string;
  /** Bytes of objects pulled and pushed. */
  bytesReceived: number;
  bytesSent: number;
}

/** When {@link FlowerClient.run} stops. */
export interface FlowerRunOptions {
  /** Stop after this many messages (default: no limit). */
  maxMessages?: number;
  /** Stop after this many milliseconds without a message (default: never). */
  idleTimeout?: number;
  /** Stop when aborted (e.g. on Ctrl-C). */
  signal?: AbortSignal;
  /** Called after each message is answered. */
  onMessage?: (report: FlowerMessageReport) => void;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/**
 * A Flower SuperNode in TypeScript: connects an EdgeML {@link FederatedClient} to a Flower
 * SuperLink's Fleet API (Flower 1.26.1's protocol) so a Flower `ServerApp` — FedAvg or any
 * strategy speaking Flower's Message API — drives it. It registers and activates a node (with
 * Flower's node authentication), sends heartbeats, pulls messages and their objects, trains or
 * evaluates, pushes the reply and its objects, and deactivates and unregisters on close.
 * A message it cannot handle is answered with a Flower error reply, then reported as a
 * {@link FlowerProtocolError}; transport failures are `FlowerConnectionError`s.
 *
 * @example
 * ```ts
 * import { FederatedClient, FlowerClient } from '@edgeml/federated';
 * import { grpcFleetTransport } from '@edgeml/federated/node';
 *
 * const flower = new FlowerClient(new FederatedClient(trainable, localData), {
 *   transport: grpcFleetTransport('127.0.0.1:9092', { insecure: true }),
 * });
 * await flower.connect();
 * const reports = await flower.run({ idleTimeout: 60_000 });
 * await flower.close();
 * ```
 */
export class FlowerClient {
  /** The node id the SuperLink gave this client (after {@link connect}). */
  nodeId?: bigint;
  private identity?: NodeIdentity;
  /** Whether connect() registered the key (then close() unregisters it, as flower-supernode does). */
  private registered = false;
  private heartbeat?: ReturnType<typeof setTimeout>;
  private readonly training: LocalTrainingOptions;

  constructor(
    readonly client: FederatedClient,
    readonly options: FlowerClientOptions,
  ) {
    this.identity = options.identity;
    this.training = { epochs: 1, batchSize: 32, learningRate: 1e-3, ...options.training };
  }

  private async call(rpc: FleetRpc, request: ProtoMessage): Promise<ProtoMessage> {
    const [requestDesc, responseDesc] = FLEET_RPCS[rpc];
    const auth = await this.identity!.sign();
    const bytes = await this.options.transport.unary(rpc, encodeProto(request, requestDesc), auth);
    return decodeProto(bytes, responseDesc, `Fleet.${rpc} response`);
  }

  private get node(): ProtoMessage {
    if (this.nodeId === undefined) throw new FlowerProtocolError('the client is not connected: call connect() first');
    return { nodeId: this.nodeId };
  }

  /** Register (when the identity is fresh) and activate the node; starts heartbeats. Returns the node id. */
  async connect(): Promise<bigint> {
    const fresh = !this.identity;
    this.identity ??= await NodeIdentity.generate();
    const publicKey = this.identity.publicKey;
    if (fresh) await this.call('RegisterNode', { publicKey });
    this.registered = fresh;
    const interval = this.options.heartbeatInterval ?? 30;
    const res = await this.call('ActivateNode', { publicKey, heartbeatInterval: interval });
    this.nodeId = (res.nodeId as bigint | undefined) ?? 0n;
    if (!this.nodeId) throw new FlowerProtocolError('ActivateNode answered without a node id');
    this.scheduleHeartbeat(interval);
    return this.nodeId;
  }

  private scheduleHeartbeat(interval: number): void {
    // Flower's HeartbeatSender beats at 0.8 × the interval it promised.
    this.heartbeat = setTimeout(() => {
      this.call('SendNodeHeartbeat', { node: this.node, heartbeatInterval: interval })
        .catch(() => undefined) // a missed beat is retried next time; the SuperLink tolerates a few
        .finally(() => this.heartbeat && this.scheduleHeartbeat(interval));
    }, interval * 800);
    (this.heartbeat as { unref?: () => void }).unref?.();
  }

  private async pullObject(runId: bigint, objectId: string, messageId: string): Promise<Uint8Array> {
    const deadline = Date.now() + (this.options.objectTimeout ?? 60_000);
    for (let wait = 50; ; wait = Math.min(2 * wait, 2000)) {
      const res = await this.call('PullObject', { node: this.node, runId, objectId });
      if (!res.objectFound)
        throw new FlowerProtocolError(`the SuperLink does not know object ${objectId} of message ${messageId}`, {
          messageId,
          objectId,
        });
      if (res.objectAvailable) return (res.objectContent as Uint8Array | undefined) ?? new Uint8Array(0);
      if (Date.now() > deadline)
        throw new FlowerProtocolError(`object ${objectId} of message ${messageId} did not become available`, {
          messageId,
          objectId,
        });
      await sleep(wait);
    }
  }

  /** Pull the next message and its objects; undefined when the SuperLink has none for this node. */
  private async receive(): Promise<{ message: FlowerMessage; bytes: number } | undefined> {
    const res = await this.call('PullMessages', { node: this.node });
    const [first] = (res.messagesList ?? []) as ProtoMessage[];
    if (!first) return undefined;
    const metadata = metadataFrom(first.metadata as ProtoMessage | undefined);
    const [treeProto] = (res.messageObjectTrees ?? []) as ProtoMessage[];
    if (!treeProto) throw new FlowerProtocolError(`message ${metadata.messageId} came without its object tree`);
    const tree = treeFrom(treeProto);
    if (tree.objectId !== metadata.messageId)
      throw new FlowerProtocolError(`message ${metadata.messageId}'s object tree is rooted at ${tree.objectId}`);
    const objects = new Map<string, Uint8Array>();
    for (const node of postOrder(tree))
      if (!objects.has(node.objectId))
        objects.set(node.objectId, await this.pullObject(metadata.runId, node.objectId, metadata.messageId));
    const message = await messageFromObjects(metadata.messageId, objects);
    await this.call('ConfirmMessageReceived', {
      node: this.node,
      runId: metadata.runId,
      messageObjectId: metadata.messageId,
    });
    let bytes = 0;
    for (const b of objects.values()) bytes += b.byteLength;
    return { message: { ...message, metadata: { ...message.metadata, ...metadata } }, bytes };
  }

  /** Push a reply and the objects the SuperLink asks for; returns the reply's id and the bytes pushed. */
  private async send(reply: FlowerMessage, runtime: number): Promise<{ id: string; bytes: number }> {
    const { messageId, tree, objects } = await messageToObjects(reply);
    const proto: ProtoMessage = { metadata: metadataProto({ ...reply.metadata, messageId }) };
    if (reply.error) proto.error = { code: reply.error.code, reason: reply.error.reason };
    else proto.content = {};
    const res = await this.call('PushMessages', {
      node: this.node,
      messagesList: [proto],
      messageObjectTrees: [tree as unknown as ProtoMessage],
      clientappRuntimeList: [runtime],
    });
    const wanted = new Set((res.objectsToPush ?? []) as string[]);
    let bytes = 0;
    for (const node of postOrder(tree)) {
      if (!wanted.delete(node.objectId)) continue;
      const content = objects.get(node.objectId)!;
      const pushed = await this.call('PushObject', {
        node: this.node,
        runId: reply.metadata.runId,
        objectId: node.objectId,
        objectContent: content,
      });
      if (!pushed.stored) throw new FlowerProtocolError(`the SuperLink did not store object ${node.objectId}`);
      bytes += content.byteLength;
    }
    return { id: messageId, bytes };
  }

  /** The reply's metadata (Flower's `Message(content, reply_to=message)`). */
  private replyTo(m: FlowerMessage): FlowerMessage['metadata'] {
    const now = Date.now() / 1000;
    const { metadata } = m;
    return {
      runId: metadata.runId,
      messageId: '',
      srcNodeId: this.nodeId!,
      dstNodeId: metadata.srcNodeId,
      replyToMessageId: metadata.messageId,
      groupId: metadata.groupId,
      ttl: metadata.createdAt + metadata.ttl - now,
      messageType: metadata.messageType,
      createdAt: now,
    };
  }

  /**
   * Handle one message if there is one: pull it, train / evaluate / answer the query, push the
   * reply. Resolves undefined when the SuperLink had nothing for this node. A message that
   * fails (unknown type, wrong model, bad content) is answered with an error reply and then
   * rejects with the error.
   */
  async poll(): Promise<FlowerMessageReport | undefined> {
    const received = await this.receive();
    if (!received) return undefined;
    const { message } = received;
    const started = Date.now();
    const { metadata } = message;
    try {
      const category = metadata.messageType.split('.')[0];
      if (!(HANDLED_TYPES as readonly string[]).includes(category))
        throw new FlowerProtocolError(
          `message ${metadata.messageId} has type '${metadata.messageType}'; this client handles ${HANDLED_TYPES.join(', ')}`,
          { messageId: metadata.messageId },
        );
      if (!message.content)
        throw new FlowerProtocolError(
          `message ${metadata.messageId} carries an error (${message.error?.reason}), not content`,
          { messageId: metadata.messageId },
        );
      const result = await runClientApp(this.client, metadata.messageType, message.content, this.training);
      const reply = { metadata: this.replyTo(message), content: result.reply };
      const sent = await this.send(reply, (Date.now() - started) / 1000);
      return {
        messageId: metadata.messageId,
        messageType: metadata.messageType,
        runId: metadata.runId,
        groupId: metadata.groupId,
        config: result.config,
        metrics: result.metrics,
        replyId: sent.id,
        bytesReceived: received.bytes,
        bytesSent: sent.bytes,
      };
    } catch (e) {
      if (!(e instanceof FlowerConnectionError)) {
        const reason = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
        const error = { code: CLIENT_APP_RAISED_EXCEPTION, reason };
        await this.send({ metadata: this.replyTo(message), error }, (Date.now() - started) / 1000);
      }
      throw e;
    }
  }

  /** Answer messages until a stop condition of `options` holds; returns what each message did. */
  async run(options: FlowerRunOptions = {}): Promise<FlowerMessageReport[]> {
    const reports: FlowerMessageReport[] = [];
    let idleSince = Date.now();
    while (!options.signal?.aborted && reports.length < (options.maxMessages ?? Infinity)) {
      const report = await this.poll();
      if (report) {
        reports.push(report);
        options.onMessage?.(report);
        idleSince = Date.now();
        continue;
      }
      if (options.idleTimeout !== undefined && Date.now() - idleSince >= options.idleTimeout) break;
      await sleep(this.options.pollInterval ?? 1000, options.signal);
    }
    return reports;
  }

  /** Stop heartbeats, deactivate and unregister the node, close the transport. */
  async close(): Promise<void> {
    clearTimeout(this.heartbeat);
    this.heartbeat = undefined;
    try {
      if (this.nodeId !== undefined) {
        await this.call('DeactivateNode', { nodeId: this.nodeId });
        if (this.registered) await this.call('UnregisterNode', { nodeId: this.nodeId });
      }
    } finally {
      this.nodeId = undefined;
      this.options.transport.close();
    }
  }
}
