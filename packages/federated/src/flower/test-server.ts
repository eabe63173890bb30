/**
 * A Fleet API server for tests and examples, in this process, on `@grpc/grpc-js` with the same
 * message declarations the client uses: it does what a Flower 1.26 SuperLink's Fleet service
 * does for one run — registers and activates nodes (verifying Flower's node-authentication
 * signatures with Node's crypto), queues messages a test sends, serves their objects, takes
 * replies and their objects (checking every object's SHA-256 id) — and hands the inflated
 * replies back. It is not a SuperLink (no ServerApp, no persistence); it lets EdgeML's client
 * be exercised without Python.
 */
import { createPublicKey, randomBytes, verify } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { decodeProto, encodeProto, type ProtoMessage } from '@edgeml/core';
import {
  messageFromObjects,
  messageToObjects,
  metadataFrom,
  metadataProto,
  type FlowerMessage,
} from './message-objects.js';
import { objectId, postOrder, treeFrom, type ObjectTree } from './objects.js';
import { FLEET_RPCS, fleetPath, type FleetRpc } from './proto.js';
import type { RecordDict } from './records.js';

/** Flower's `SUPERLINK_NODE_ID`: the source of every instruction message. */
export const SUPERLINK_NODE_ID = 1n;

interface NodeEntry {
  nodeId: bigint;
  publicKey: string;
  active: boolean;
  heartbeats: number;
}

interface Queued {
  metadata: ProtoMessage;
  tree: ObjectTree;
}

class RpcFailure extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

type Handler = (request: ProtoMessage, node: NodeEntry | undefined) => Promise<ProtoMessage> | ProtoMessage;

/**
 * @example
 * ```ts
 * const server = await FleetTestServer.start();
 * // … connect a FlowerClient to server.address …
 * const id = await server.send('train', content);
 * const reply = await server.reply(id);
 * await server.stop();
 * ```
 */
export class FleetTestServer {
  /** Every RPC the server answered, in order (e.g. `RegisterNode`, `ActivateNode`, `PullMessages`, …). */
  readonly calls: FleetRpc[] = [];
  private readonly nodesByKey = new Map<string, NodeEntry>();
  private readonly objects = new Map<string, Uint8Array | undefined>();
  private readonly queue: Queued[] = [];
  private readonly pending = new Map<string, { tree: ObjectTree; replyTo: string }>();
  private readonly replies = new Map<string, FlowerMessage>();
  private readonly waiters = new Map<string, (m: FlowerMessage) => void>();
  /** Message ids whose receipt a node confirmed. */
  readonly confirmed = new Set<string>();

  private constructor(
    private readonly server: grpc.Server,
    /** `host:port` to connect to. */
    readonly address: string,
    readonly runId: bigint,
  ) {}

  /** Start on 127.0.0.1 (port 0: any free one). */
  static async start(options: { port?: number; runId?: bigint } = {}): Promise<FleetTestServer> {
    const server = new grpc.Server();
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    const self = new FleetTestServer(server, `127.0.0.1:${port}`, options.runId ?? 42n);
    self.addService();
    return self;
  }

  /** The nodes that registered, with whether they are active and how many heartbeats they sent. */
  nodes(): { nodeId: bigint; active: boolean; heartbeats: number }[] {
    return [...this.nodesByKey.values()].map(({ nodeId, active, heartbeats }) => ({ nodeId, active, heartbeats }));
  }

  private addService(): void {
    const handlers: Record<FleetRpc, Handler> = {
      RegisterNode: (req) => this.register(req),
      ActivateNode: (req) => this.setActive(req, true),
      DeactivateNode: (_req, node) => (this.setActive(undefined, false, node), {}),
      UnregisterNode: (_req, node) => (this.nodesByKey.delete(node!.publicKey), {}),
      SendNodeHeartbeat: (_req, node) => (node!.heartbeats++, { success: node!.active }),
      PullMessages: (_req, node) => this.pull(node!),
      PullObject: (req) => this.pullObject(req),
      PushMessages: (req, node) => this.push(req, node!),
      PushObject: (req) => this.pushObject(req),
      ConfirmMessageReceived: (req) => (this.confirmed.add(req.messageObjectId as string), {}),
    };
    const definition: Record<string, grpc.MethodDefinition<ProtoMessage, ProtoMessage>> = {};
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const [rpc, [requestDesc, responseDesc]] of Object.entries(FLEET_RPCS) as [
      FleetRpc,
      (typeof FLEET_RPCS)[FleetRpc],
    ][]) {
      definition[rpc] = {
        path: fleetPath(rpc),
        requestStream: false,
        responseStream: false,
        requestSerialize: (v: ProtoMessage) => Buffer.from(encodeProto(v, requestDesc)),
        requestDeserialize: (b: Buffer) => decodeProto(new Uint8Array(b), requestDesc, `Fleet.${rpc} request`),
        responseSerialize: (v: ProtoMessage) => Buffer.from(encodeProto(v, responseDesc)),
        responseDeserialize: (b: Buffer) => decodeProto(new Uint8Array(b), responseDesc),
      };
      implementation[rpc] = (
        call: grpc.ServerUnaryCall<ProtoMessage, ProtoMessage>,
        callback: grpc.sendUnaryData<ProtoMessage>,
      ) => {
        this.calls.push(rpc);
        Promise.resolve()
          .then(() => handlers[rpc](call.request, this.authenticate(rpc, call)))
          .then(
            (res) => callback(null, res),
            (e: unknown) =>
              callback({
                code: e instanceof RpcFailure ? e.code : grpc.status.INTERNAL,
                details: e instanceof Error ? e.message : String(e),
              }),
          );
      };
    }
    this.server.addService(definition, implementation);
  }

  /** Flower's NodeAuthServerInterceptor: signature over the timestamp, timestamp fresh, node id matching the key. */
  private authenticate(rpc: FleetRpc, call: grpc.ServerUnaryCall<ProtoMessage, ProtoMessage>): NodeEntry | undefined {
    const [key] = call.metadata.get('flwr-public-key-bin') as Buffer[];
    const [timestamp] = call.metadata.get('flwr-timestamp') as string[];
    const [signature] = call.metadata.get('flwr-signature-bin') as Buffer[];
    if (!key || !timestamp || !signature)
      throw new RpcFailure(grpc.status.UNAUTHENTICATED, 'Missing authentication metadata');
    const publicKey = createPublicKey(key.toString('utf8'));
    if (!verify('sha256', Buffer.from(timestamp, 'ascii'), { key: publicKey, dsaEncoding: 'der' }, signature))
      throw new RpcFailure(grpc.status.UNAUTHENTICATED, 'Invalid signature');
    const age = (Date.now() - Date.parse(timestamp)) / 1000;
    if (!(age > -5 && age < 305)) throw new RpcFailure(grpc.status.UNAUTHENTICATED, 'Invalid timestamp');
    if (rpc === 'RegisterNode' || rpc === 'ActivateNode') return undefined;
    const node = this.nodesByKey.get(key.toString('utf8'));
    const request = call.request;
    const claimed = ((request.node as ProtoMessage | undefined)?.nodeId ?? request.nodeId) as bigint | undefined;
    if (!node || claimed !== node.nodeId) throw new RpcFailure(grpc.status.UNAUTHENTICATED, 'Invalid node ID');
    return node;
  }

  private register(req: ProtoMessage): ProtoMessage {
    const publicKey = Buffer.from(req.publicKey as Uint8Array).toString('utf8');
    if (this.nodesByKey.has(publicKey))
      throw new RpcFailure(grpc.status.FAILED_PRECONDITION, 'Public key already in use');
    // Flower's node ids are random 64-bit integers: most do not fit a double.
    const nodeId = randomBytes(8).readBigUInt64LE() | (1n << 62n);
    this.nodesByKey.set(publicKey, { nodeId, publicKey, active: false, heartbeats: 0 });
    return { nodeId };
  }

  private setActive(req: ProtoMessage | undefined, active: boolean, known?: NodeEntry): ProtoMessage {
    const node = known ?? this.nodesByKey.get(Buffer.from((req?.publicKey ?? []) as Uint8Array).toString('utf8'));
    if (!node) throw new RpcFailure(grpc.status.FAILED_PRECONDITION, 'No SuperNode found with the given public key.');
    node.active = active;
    return { nodeId: node.nodeId };
  }

  /** Wait until a node is active; resolves its id. */
  async waitForNode(timeout = 10_000): Promise<bigint> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const node = [...this.nodesByKey.values()].find((n) => n.active);
      if (node) return node.nodeId;
      if (Date.now() > deadline) throw new Error(`no node activated within ${timeout} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Queue an instruction message for a node (default: the first active one); resolves its message id. */
  async send(
    messageType: string,
    content: RecordDict,
    options: { nodeId?: bigint; groupId?: string; ttl?: number } = {},
  ): Promise<string> {
    const dstNodeId = options.nodeId ?? (await this.waitForNode());
    const metadata = {
      runId: this.runId,
      messageId: '',
      srcNodeId: SUPERLINK_NODE_ID,
      dstNodeId,
      replyToMessageId: '',
      groupId: options.groupId ?? '',
      ttl: options.ttl ?? 43_200,
      messageType,
      createdAt: Date.now() / 1000,
    };
    const { messageId, tree, objects } = await messageToObjects({ metadata, content });
    for (const [id, bytes] of objects) this.objects.set(id, bytes);
    this.queue.push({ metadata: metadataProto({ ...metadata, messageId }), tree });
    return messageId;
  }

  private pull(node: NodeEntry): ProtoMessage {
    const at = this.queue.findIndex((q) => metadataFrom(q.metadata).dstNodeId === node.nodeId);
    if (at < 0) return {};
    const [q] = this.queue.splice(at, 1);
    return { messagesList: [{ metadata: q.metadata, content: {} }], messageObjectTrees: [q.tree] };
  }

  private pullObject(req: ProtoMessage): ProtoMessage {
    const id = req.objectId as string;
    if (!this.objects.has(id)) return { objectFound: false };
    const content = this.objects.get(id);
    return content ? { objectFound: true, objectAvailable: true, objectContent: content } : { objectFound: true };
  }

  /** Flower's push_messages: validate the reply, preregister its tree, ask for the objects not yet stored. */
  private async push(req: ProtoMessage, node: NodeEntry): Promise<ProtoMessage> {
    const [message] = (req.messagesList ?? []) as ProtoMessage[];
    const [treeProto] = (req.messageObjectTrees ?? []) as ProtoMessage[];
    if (!message || !treeProto)
      throw new RpcFailure(grpc.status.INVALID_ARGUMENT, 'PushMessages without a message and its tree');
    const m = metadataFrom(message.metadata as ProtoMessage);
    const tree = treeFrom(treeProto);
    const problems = [
      m.messageId !== tree.objectId && 'metadata.message_id is not the object tree root',
      m.srcNodeId !== node.nodeId && 'metadata.src_node_id is not the pushing node',
      m.dstNodeId !== SUPERLINK_NODE_ID && 'metadata.dst_node_id is not the SuperLink',
      !m.replyToMessageId && 'metadata.reply_to_message_id is not set',
      m.runId !== this.runId && 'metadata.run_id is not the run',
      !(m.createdAt + m.ttl > Date.now() / 1000) && 'the reply TTL has expired',
      !message.content === !message.error && 'a message needs content or an error, not both',
    ].filter(Boolean);
    if (problems.length) throw new RpcFailure(grpc.status.INVALID_ARGUMENT, problems.join('; '));
    const toPush: string[] = [];
    for (const n of postOrder(tree)) {
      if (!this.objects.has(n.objectId)) this.objects.set(n.objectId, undefined);
      if (!this.objects.get(n.objectId) && !toPush.includes(n.objectId)) toPush.push(n.objectId);
    }
    this.pending.set(m.messageId, { tree, replyTo: m.replyToMessageId });
    await this.settle(m.messageId);
    return { reconnect: { reconnect: 5 }, results: [{ key: m.messageId, value: 0 }], objectsToPush: toPush };
  }

  private async pushObject(req: ProtoMessage): Promise<ProtoMessage> {
    const id = req.objectId as string;
    const content = (req.objectContent as Uint8Array | undefined) ?? new Uint8Array(0);
    if (!this.objects.has(id)) return { stored: false };
    if ((await objectId(content)) !== id)
      throw new RpcFailure(grpc.status.INVALID_ARGUMENT, `Object ID ${id} does not match content hash`);
    this.objects.set(id, new Uint8Array(content));
    for (const replyId of this.pending.keys()) await this.settle(replyId);
    return { stored: true };
  }

  /** Once every object of a pushed reply is here, inflate it and hand it to whoever waits. */
  private async settle(replyId: string): Promise<void> {
    const entry = this.pending.get(replyId);
    if (!entry) return;
    const objects = new Map<string, Uint8Array>();
    for (const n of postOrder(entry.tree)) {
      const bytes = this.objects.get(n.objectId);
      if (!bytes) return;
      objects.set(n.objectId, bytes);
    }
    this.pending.delete(replyId);
    const reply = await messageFromObjects(replyId, objects);
    this.replies.set(entry.replyTo, reply);
    this.waiters.get(entry.replyTo)?.(reply);
  }

  /** The reply to message `messageId`, once the node has pushed it and all its objects. */
  reply(messageId: string, timeout = 60_000): Promise<FlowerMessage> {
    const done = this.replies.get(messageId);
    if (done) return Promise.resolve(done);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${messageId} within ${timeout} ms`)), timeout);
      this.waiters.set(messageId, (m) => (clearTimeout(timer), resolve(m)));
    });
  }

  /** Stop at once (open calls fail with UNAVAILABLE, as when a SuperLink goes away). */
  stop(): Promise<void> {
    this.server.forceShutdown();
    return Promise.resolve();
  }
}
