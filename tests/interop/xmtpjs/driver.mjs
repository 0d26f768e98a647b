// JSON-lines test driver around the reference SDK @xmtp/xmtp-js 13.0.4.
//
// One JSON request per stdin line -> exactly one JSON response per stdout line:
//   {"id": <id>, "ok": true, "result": {...}}  or  {"id": <id>, "ok": false, "error": "<message>"}
// Requests are processed strictly one after another (in arrival order).
// Bytes are standard padded base64, keys lowercase hex (no 0x), addresses EIP-55.
// See README.md for the command list.
//
// Nothing but responses is written to stdout: console.log/info/debug are redirected to stderr.

import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { companionCommands } from "./companion_commands.mjs";

// ---------------------------------------------------------------------------------------------
// stdout hygiene and crash protection
// ---------------------------------------------------------------------------------------------
const writeOut = process.stdout.write.bind(process.stdout);
for (const m of ["log", "info", "debug"]) {
  console[m] = (...args) => console.error(...args);
}
process.on("unhandledRejection", (reason) => {
  // e.g. NetworkKeyManager.toEncryptedBytes creates an un-awaited viem verifyMessage() promise
  console.error("[driver] unhandled rejection (ignored):", reason);
});
process.on("uncaughtException", (err) => {
  console.error("[driver] uncaught exception (ignored):", err);
});

// ---------------------------------------------------------------------------------------------
// Load the SDK. The ESM entry (dist/index.js) of xmtp-js 13.0.4 cannot be imported by Node 20:
// it imports @xmtp/proto whose ESM build uses extension-less relative imports
// (ERR_MODULE_NOT_FOUND). The package's own "require" export (dist/index.cjs) works, so use it.
// ---------------------------------------------------------------------------------------------
const require = createRequire(import.meta.url);
const xmtp = require("@xmtp/xmtp-js");
const viem = require("viem");
const viemAccounts = require("viem/accounts");

const {
  Client,
  ConversationV2,
  Compression,
  InMemoryPersistence,
  KeyGeneratorKeystoreProvider,
  NetworkKeystoreProvider,
  PrivateKeyBundleV1,
  PublicKeyBundle,
  SealedInvitation,
  SignedPublicKeyBundle,
  StaticKeystoreProvider,
  buildUserPrivateStoreTopic,
  decodeContactBundle,
  nsToDate,
  toNanoString,
} = xmtp;

// The "long" class xmtp-js uses for uint64 fields (not exported; taken from a value it returns so
// that no extra dependency is needed and instances are of the very same class).
const Long = xmtp.dateToNs(new Date(0)).constructor;

function packageVersion(name) {
  let dir = path.dirname(require.resolve(name));
  for (;;) {
    const p = path.join(dir, "package.json");
    if (fs.existsSync(p)) {
      const pkg = JSON.parse(fs.readFileSync(p, "utf8"));
      if (pkg.name === name) return pkg.version;
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`package.json of ${name} not found`);
    dir = up;
  }
}

// ---------------------------------------------------------------------------------------------
// encoding helpers
// ---------------------------------------------------------------------------------------------
const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

function b64(bytes) {
  return Buffer.from(bytes).toString("base64");
}
function unb64(s, field) {
  if (typeof s !== "string") throw new Error(`${field}: expected base64 string`);
  if (!B64_RE.test(s)) throw new Error(`${field}: not standard padded base64`);
  return new Uint8Array(Buffer.from(s, "base64"));
}
function hex(bytes) {
  return Buffer.from(bytes).toString("hex");
}
function unhex(s, field, len) {
  if (typeof s !== "string") throw new Error(`${field}: expected hex string`);
  const h = s.startsWith("0x") ? s.slice(2) : s;
  if (!HEX_RE.test(h)) throw new Error(`${field}: not hex`);
  const b = new Uint8Array(Buffer.from(h, "hex"));
  if (len !== undefined && b.length !== len) {
    throw new Error(`${field}: expected ${len} bytes, got ${b.length}`);
  }
  return b;
}
function reqStr(v, field) {
  if (typeof v !== "string") throw new Error(`${field}: expected string`);
  return v;
}
// uint64 nanoseconds (string or safe integer) -> Long (xmtp-js representation)
function nsLong(v, field) {
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${field}: bad integer`);
    v = String(v);
  }
  if (typeof v !== "string" || !/^[0-9]+$/.test(v)) {
    throw new Error(`${field}: expected decimal uint64 string`);
  }
  return Long.fromString(v, true);
}
function pubHex(key) {
  // PublicKey / SignedPublicKey / PrivateKey.publicKey -> 65-byte uncompressed hex
  return hex(key.secp256k1Uncompressed.bytes);
}

// ---------------------------------------------------------------------------------------------
// wallets: viem WalletClient with a local private-key account (no RPC transport)
// ---------------------------------------------------------------------------------------------
function makeWalletClient(walletKeyHex) {
  const key = unhex(walletKeyHex, "wallet_key", 32);
  const account = viemAccounts.privateKeyToAccount(`0x${hex(key)}`);
  return viem.createWalletClient({
    account,
    transport: viem.custom({
      request: async ({ method }) => {
        throw new Error(`driver wallet has no RPC (${method})`);
      },
    }),
  });
}

// xmtp-js Signer ({getAddress, signMessage}) over a viem WalletClient; mirrors what the SDK's
// internal getSigner()/convertWalletClientToSigner() does for Client.create (not exported).
// Lower-level entry points (PrivateKeyBundleV1.generate, the keystore providers) take a Signer
// only. Optional: vMode "01" rewrites the signature's v byte 27/28 -> 0/1 (Ledger-style),
// onSign records every text handed to the wallet.
function makeSigner(walletClient, { vMode = "27", onSign } = {}) {
  if (vMode !== "27" && vMode !== "01") throw new Error("signature_v must be '27' or '01'");
  const { account } = walletClient;
  return {
    getAddress: async () => account.address,
    signMessage: async (message) => {
      if (onSign) onSign(message);
      let sig = await walletClient.signMessage({
        message: typeof message === "string" ? message : { raw: message },
        account,
      });
      if (vMode === "01") {
        const v = parseInt(sig.slice(-2), 16);
        if (v >= 27) sig = sig.slice(0, -2) + (v - 27).toString(16).padStart(2, "0");
      }
      return sig;
    },
  };
}

function walletFromParams(p) {
  const wc = makeWalletClient(p.wallet_key);
  return { wc, address: wc.account.address };
}

// ---------------------------------------------------------------------------------------------
// In-memory stand-in for the XMTP node (implements the ApiClient interface used by the SDK).
// Lets the real Client / keystore providers run and captures what they publish.
// ---------------------------------------------------------------------------------------------
class FakeApiClient {
  constructor() {
    this.topics = new Map(); // topic -> [{contentTopic, timestampNs, message}] ascending
    this.published = []; // in publish order
    this.authenticators = 0;
  }
  seed(contentTopic, message, timestampNs) {
    const env = { contentTopic, message, timestampNs: timestampNs ?? toNanoString(new Date()) };
    if (!this.topics.has(contentTopic)) this.topics.set(contentTopic, []);
    this.topics.get(contentTopic).push(env);
  }
  envelopes(params, options) {
    let envs = [...(this.topics.get(params.contentTopic) ?? [])];
    const desc = options?.direction !== xmtp.SortDirection.SORT_DIRECTION_ASCENDING;
    if (desc) envs.reverse();
    if (options?.limit) envs = envs.slice(0, options.limit);
    return envs;
  }
  async query(params, options) {
    return this.envelopes(params, options);
  }
  async *queryIterator(params, options) {
    for (const e of this.envelopes(params, options)) yield e;
  }
  async *queryIteratePages(params, options) {
    const envs = this.envelopes(params, options);
    const size = options?.pageSize || 100;
    for (let i = 0; i < envs.length; i += size) yield envs.slice(i, i + size);
  }
  async batchQuery(queries) {
    return queries.map((q) => this.envelopes(q, q));
  }
  subscribe() {
    return { unsubscribe: async () => {}, updateContentTopics: async () => {} };
  }
  async publish(messages) {
    for (const m of messages) {
      const timestampNs = m.timestamp ? toNanoString(m.timestamp) : toNanoString(new Date());
      const env = { contentTopic: m.contentTopic, message: m.message, timestampNs };
      this.published.push(env);
      this.seed(env.contentTopic, env.message, env.timestampNs);
    }
    return {};
  }
  setAuthenticator() {
    this.authenticators += 1;
  }
}

const baseClientOptions = (api) => ({
  env: "dev",
  apiClientFactory: () => api,
  persistConversations: false,
  basePersistence: InMemoryPersistence.create(),
});

// Real Client from a wrapped PrivateKeyBundle{v1} (privateKeyOverride -> StaticKeystoreProvider).
async function clientFromBundle(bundleBytes, { publishContacts = false } = {}) {
  const api = new FakeApiClient();
  const client = await Client.create(null, {
    ...baseClientOptions(api),
    privateKeyOverride: bundleBytes,
    keystoreProviders: [new StaticKeystoreProvider()],
    skipContactPublishing: !publishContacts,
  });
  return { client, api };
}

function keystoreOpts(api) {
  return { ...baseClientOptions(api), skipContactPublishing: true };
}

// NetworkKeyManager (not exported) is reached through the exported KeyGeneratorKeystoreProvider:
// it calls PrivateKeyBundleV1.generate(wallet) and then NetworkKeyManager.storePrivateKeyBundle.
// We temporarily make generate() return the caller's bundle so that the real store path runs.
async function networkStore(bundle, signer) {
  const api = new FakeApiClient();
  const original = PrivateKeyBundleV1.generate;
  PrivateKeyBundleV1.generate = async () => bundle;
  try {
    await new KeyGeneratorKeystoreProvider().newKeystore(keystoreOpts(api), api, signer);
  } finally {
    PrivateKeyBundleV1.generate = original;
  }
  const env = api.published.find((e) => e.contentTopic.includes("/privatestore-"));
  if (!env) throw new Error("keystore provider published no privatestore envelope");
  return env;
}

// NetworkKeystoreProvider -> NetworkKeyManager.loadPrivateKeyBundle (incl. the +-27 retry).
async function networkLoad(encrypted, signer) {
  const api = new FakeApiClient();
  const address = viem.getAddress(await signer.getAddress());
  api.seed(buildUserPrivateStoreTopic(`${address}/key_bundle`), encrypted);
  const keystore = await new NetworkKeystoreProvider().newKeystore(keystoreOpts(api), api, signer);
  return { keystore, api };
}

// Same decode Client.create uses for privateKeyOverride (decodePrivateKeyBundle, v1 only).
function keystoreFromBundle(bytes) {
  const api = new FakeApiClient();
  return new StaticKeystoreProvider().newKeystore({ ...keystoreOpts(api), privateKeyOverride: bytes });
}

function keystoreResponseOrThrow(resp) {
  if (resp?.error) {
    throw new Error(resp.error.message || `keystore error code ${resp.error.code}`);
  }
  if (!resp?.result) throw new Error("empty keystore response");
  return resp.result;
}

// Put a bare (topic, key_material) into an InMemoryKeystore's topic store. There is no public
// keystore API for this; it is the same V2Store.add() call createInvite/saveInvites make.
async function injectTopicKey(keystore, topic, keyMaterial, createdNs) {
  if (typeof keystore.v2Store?.add !== "function") {
    throw new Error("InMemoryKeystore has no v2Store (SDK internals changed)");
  }
  await keystore.v2Store.add([
    {
      topic,
      createdNs: createdNs ?? Long.UZERO,
      peerAddress: "",
      invitation: {
        topic,
        context: undefined,
        aes256GcmHkdfSha256: { keyMaterial },
        consentProof: undefined,
      },
    },
  ]);
  const got = keystore.lookupTopic(topic);
  if (!got || hex(got.invitation.aes256GcmHkdfSha256.keyMaterial) !== hex(keyMaterial)) {
    throw new Error("failed to register topic key in keystore");
  }
}

async function contactToSigned(bytes) {
  const cb = decodeContactBundle(bytes);
  return cb instanceof PublicKeyBundle ? SignedPublicKeyBundle.fromLegacyBundle(cb) : cb;
}

// A throwaway identity used as the "viewer" client for decrypt_message_v2 (the keys play no role
// in V2 message decryption; only the topic key does).
let viewerBundleBytes;
async function viewerBundle() {
  if (!viewerBundleBytes) {
    const key = viemAccounts.generatePrivateKey().slice(2);
    const signer = makeSigner(makeWalletClient(key));
    viewerBundleBytes = (await PrivateKeyBundleV1.generate(signer)).encode();
  }
  return viewerBundleBytes;
}

// ---------------------------------------------------------------------------------------------
// commands
// ---------------------------------------------------------------------------------------------
async function cmdGenerate(p) {
  const { wc, address } = walletFromParams(p);
  const signed = [];
  const signer = makeSigner(wc, { onSign: (m) => signed.push(m) });
  const bundle = await PrivateKeyBundleV1.generate(signer);
  // Client.getKeys equivalent: Client.create(privateKeyOverride) publishes the contacts exactly
  // like a real client start (v1 then v2) into the fake node; keys are re-exported the way
  // Client.getKeys does it.
  const { client, api } = await clientFromBundle(bundle.encode(), { publishContacts: true });
  const keys = new PrivateKeyBundleV1(await client.keystore.getPrivateKeyBundle()).encode();
  const contacts = api.published.filter((e) => e.contentTopic.includes("/contact-"));
  if (contacts.length !== 2) throw new Error(`expected 2 contact envelopes, got ${contacts.length}`);
  const recovered = bundle.identityKey.publicKey.walletSignatureAddress();
  if (recovered !== address) throw new Error(`recovered ${recovered} != wallet ${address}`);
  return {
    wallet_address: address,
    private_key_bundle: b64(keys),
    contact_bundle_v1: b64(contacts[0].message),
    contact_bundle_v2: b64(contacts[1].message),
    contact_topic: contacts[0].contentTopic,
    identity_key: pubHex(bundle.identityKey.publicKey),
    prekey: pubHex(bundle.getCurrentPreKey().publicKey),
    create_identity_text: signed[0],
  };
}

async function cmdEncryptBundle(p) {
  const { wc, address } = walletFromParams(p);
  const signed = [];
  const signer = makeSigner(wc, { vMode: p.signature_v ?? "27", onSign: (m) => signed.push(m) });
  const keystore = await keystoreFromBundle(unb64(p.private_key_bundle, "private_key_bundle"));
  const bundle = new PrivateKeyBundleV1(await keystore.getPrivateKeyBundle());
  const env = await networkStore(bundle, signer);
  return {
    encrypted_bundle: b64(env.message),
    signed_text: signed[signed.length - 1],
    topic: env.contentTopic,
    wallet_address: address,
  };
}

async function cmdDecryptBundle(p) {
  const { wc, address } = walletFromParams(p);
  const signed = [];
  const signer = makeSigner(wc, { vMode: p.signature_v ?? "27", onSign: (m) => signed.push(m) });
  const { keystore, api } = await networkLoad(unb64(p.encrypted_bundle, "encrypted_bundle"), signer);
  const bundle = new PrivateKeyBundleV1(await keystore.getPrivateKeyBundle());
  return {
    private_key_bundle: b64(bundle.encode()),
    identity_key: pubHex(bundle.identityKey.publicKey),
    prekeys: bundle.preKeys.map((k) => pubHex(k.publicKey)),
    wallet_address: bundle.identityKey.publicKey.walletSignatureAddress(),
    signer_address: address,
    signed_text: signed[0],
    // true if the SDK treated the input as a legacy format and re-encrypted + re-published it
    republished: api.published.length > 0,
  };
}

async function cmdLoadBundle(p) {
  const bytes = unb64(p.private_key_bundle, "private_key_bundle");
  const { client } = await clientFromBundle(bytes);
  const ks = client.keystore;
  const v1 = new PrivateKeyBundleV1(await ks.getPrivateKeyBundle());
  const pub = await ks.getPublicKeyBundle();
  const signedPub = SignedPublicKeyBundle.fromLegacyBundle(pub);
  return {
    wallet_address: await ks.getAccountAddress(),
    wallet_address_v1: ks.walletAddress,
    identity_key: pubHex(v1.identityKey.publicKey),
    prekeys: v1.preKeys.map((k) => pubHex(k.publicKey)),
    public_key_bundle_v1: b64(pub.toBytes()),
    signed_public_key_bundle_v2: b64(signedPub.toBytes()),
    // keystore's internal V2 view (PrivateKeyBundleV2.fromLegacyBundle) public bundle
    signed_public_key_bundle_v2_keystore: b64(ks.v2Keys.getPublicKeyBundle().toBytes()),
    validates_public_keys: v1.validatePublicKeys(),
    prekey_valid: await v1.identityKey.publicKey.verifyKey(v1.getCurrentPreKey().publicKey),
    private_key_bundle: b64(v1.encode()),
  };
}

async function cmdVerifyContact(p) {
  const bundle = decodeContactBundle(unb64(p.contact_bundle, "contact_bundle"));
  const isV1 = bundle instanceof PublicKeyBundle;
  const wallet = await bundle.walletSignatureAddress();
  const prekeyValid = await bundle.identityKey.verifyKey(bundle.preKey);
  return {
    type: isV1 ? "v1" : "v2",
    wallet_address: wallet,
    identity_key: pubHex(bundle.identityKey),
    prekey: pubHex(bundle.preKey),
    prekey_valid: prekeyValid,
  };
}

function contextFromParams(p) {
  if (p.conversation_id === undefined || p.conversation_id === null) return undefined;
  return { conversationId: reqStr(p.conversation_id, "conversation_id"), metadata: p.metadata ?? {} };
}

async function cmdSealInvitation(p) {
  const { client } = await clientFromBundle(unb64(p.private_key_bundle, "private_key_bundle"));
  const recipient = await contactToSigned(
    unb64(p.recipient_contact_bundle, "recipient_contact_bundle"),
  );
  const createdNs = nsLong(p.created_ns, "created_ns");
  const resp = await client.keystore.createInvite({
    recipient,
    context: contextFromParams(p),
    createdNs,
    consentProof: undefined,
  });
  const topic = resp.conversation.topic;
  const td = client.keystore.lookupTopic(topic);
  const sealed = SealedInvitation.fromBytes(resp.payload);
  return {
    sealed_invitation: b64(resp.payload),
    topic,
    key_material: hex(td.invitation.aes256GcmHkdfSha256.keyMaterial),
    created_ns: sealed.v1.header.createdNs.toString(),
    peer_address: resp.conversation.peerAddress,
  };
}

async function cmdOpenInvitation(p) {
  const { client } = await clientFromBundle(unb64(p.private_key_bundle, "private_key_bundle"));
  const payload = unb64(p.sealed_invitation, "sealed_invitation");
  const timestampNs =
    p.envelope_timestamp_ns !== undefined && p.envelope_timestamp_ns !== null
      ? nsLong(p.envelope_timestamp_ns, "envelope_timestamp_ns")
      : SealedInvitation.fromBytes(payload).v1.header.createdNs;
  const { responses } = await client.keystore.saveInvites({
    requests: [{ payload, timestampNs, contentTopic: "" }],
  });
  if (responses.length !== 1) throw new Error("unexpected saveInvites response count");
  const { conversation } = keystoreResponseOrThrow(responses[0]);
  const td = client.keystore.lookupTopic(conversation.topic);
  return {
    topic: conversation.topic,
    key_material: hex(td.invitation.aes256GcmHkdfSha256.keyMaterial),
    peer_address: conversation.peerAddress,
    conversation_id: conversation.context?.conversationId ?? "",
    metadata: conversation.context?.metadata ?? {},
    created_ns: conversation.createdNs.toString(),
  };
}

const COMPRESSION = { deflate: Compression.COMPRESSION_DEFLATE, gzip: Compression.COMPRESSION_GZIP };

async function cmdEncryptMessageV2(p) {
  const { client } = await clientFromBundle(unb64(p.private_key_bundle, "private_key_bundle"));
  const topic = reqStr(p.topic, "topic");
  const keyMaterial = unhex(p.key_material, "key_material", 32);
  const text = reqStr(p.text, "text");
  const sent = nsToDate(nsLong(p.created_ns, "created_ns"));
  await injectTopicKey(client.keystore, topic, keyMaterial);
  const convo = new ConversationV2(client, topic, "", sent, undefined, undefined);
  const options = {};
  if (p.compression !== undefined && p.compression !== null) {
    if (!(p.compression in COMPRESSION)) throw new Error("compression must be deflate or gzip");
    options.compression = COMPRESSION[p.compression];
  }
  // exactly what ConversationV2.send/prepareMessage do before publishing
  const { payload, shouldPush } = await client.encodeContent(text, options);
  const msg = await convo.createMessage(payload, shouldPush, sent);
  return {
    message: b64(msg.toBytes()),
    id: msg.id,
    header_bytes: b64(msg.headerBytes),
    encoded_content: b64(payload),
    sender_hmac: msg.senderHmac ? hex(msg.senderHmac) : null,
    should_push: shouldPush,
    created_ns: toNanoString(msg.sent),
    sender_address: client.address,
  };
}

async function cmdDecryptMessageV2(p) {
  const bundleBytes = p.private_key_bundle
    ? unb64(p.private_key_bundle, "private_key_bundle")
    : await viewerBundle();
  const { client } = await clientFromBundle(bundleBytes);
  const topic = reqStr(p.topic, "topic");
  const keyMaterial = unhex(p.key_material, "key_material", 32);
  const message = unb64(p.message, "message");
  await injectTopicKey(client.keystore, topic, keyMaterial);
  const convo = new ConversationV2(client, topic, "", new Date(), undefined, undefined);
  const decoded = await convo.decodeMessage({
    contentTopic: topic,
    message,
    timestampNs: p.envelope_timestamp_ns ? String(p.envelope_timestamp_ns) : "0",
  });
  if (decoded.error) throw decoded.error;
  return {
    text: decoded.content,
    sender_address: decoded.senderAddress,
    id: decoded.id,
    sent_ns: toNanoString(decoded.sent),
  };
}

// ---------------------------------------------------------------------------------------------
// Live clients: the real xmtp-js Client over HTTP against a node (client_* commands)
// ---------------------------------------------------------------------------------------------
// Every HTTP request of the process goes through this fetch wrapper. It refuses anything that is
// not a loopback host (nothing may reach the public XMTP network or any other host) and, while a
// request with "trace": true runs, records each exchange for the response's "http" field.
const realFetch = globalThis.fetch;
let httpTrace = null;

function isLoopbackHost(hostname) {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

function parseMaybeJson(text) {
  if (typeof text !== "string") return text ?? null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

globalThis.fetch = async (input, init) => {
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`driver: invalid URL ${JSON.stringify(url)}`);
  }
  if (!isLoopbackHost(parsed.hostname)) {
    throw new Error(`driver: refusing non-loopback request to ${parsed.origin}`);
  }
  const trace = httpTrace;
  const t0 = process.hrtime.bigint();
  let entry;
  if (trace) {
    const headers = new Headers(init?.headers);
    entry = {
      method: init?.method ?? "GET",
      url,
      x_client_version: headers.get("x-client-version"),
      authorization: headers.has("authorization"),
      request: parseMaybeJson(init?.body),
    };
    trace.push(entry);
  }
  let res;
  try {
    res = await realFetch(input, init);
  } catch (e) {
    if (entry) {
      entry.error = errorMessage(e);
      entry.ms = Number(process.hrtime.bigint() - t0) / 1e6;
    }
    throw e;
  }
  if (entry) {
    entry.status = res.status;
    // streaming endpoints (subscribe) are not read here: that would wait for the stream to end
    if (!parsed.pathname.includes("/subscribe")) {
      entry.response = parseMaybeJson(await res.clone().text());
    }
    entry.ms = Number(process.hrtime.bigint() - t0) / 1e6;
  }
  return res;
};

// wallet address (EIP-55) -> { client, apiUrl, started: Map(topic -> Conversation) }
const liveClients = new Map();

function liveEntry(p) {
  if (typeof p.client_name === "string") {
    const named = liveClients.get(p.client_name);
    if (!named) throw new Error(`no client named ${p.client_name}; call companion_client_create first`);
    return named;
  }
  const { address } = walletFromParams(p);
  const entry = liveClients.get(address);
  if (!entry) throw new Error(`no client for ${address}; call client_create first`);
  return entry;
}

function liveClient(p) {
  return liveEntry(p).client;
}

function peerParam(v, field = "peer_address") {
  return reqStr(v, field);
}

function conversationInfo(convo) {
  return {
    topic: convo.topic,
    peer_address: convo.peerAddress,
    conversation_id: convo.context?.conversationId ?? "",
    metadata: convo.context?.metadata ?? {},
    version: convo instanceof ConversationV2 ? "v2" : "v1",
    created_ns: toNanoString(convo.createdAt),
  };
}

// Conversations.list(): reads the intro and invite topics from the network (since the last run
// minus 10 s) and merges them with what the keystore already holds. A V1 conversation that this
// client started but has not written to yet exists only as the object newConversation returned
// (nothing is published until its first message), so those are the fallback.
async function findConversation(entry, topic) {
  const convos = await entry.client.conversations.list();
  const convo = convos.find((c) => c.topic === topic) ?? entry.started.get(topic);
  if (!convo) throw new Error(`no conversation with topic ${topic}`);
  return convo;
}

async function cmdClientCreate(p) {
  const apiUrl = reqStr(p.api_url, "api_url");
  let host;
  try {
    host = new URL(apiUrl).hostname;
  } catch {
    throw new Error("api_url: not a URL");
  }
  if (!isLoopbackHost(host)) throw new Error("api_url: only loopback hosts are allowed");
  const wc = makeWalletClient(p.wallet_key);
  const address = wc.account.address;
  const previous = liveClients.get(address);
  if (previous) {
    liveClients.delete(address);
    await previous.client.close();
  }
  // Count the wallet signatures the SDK asks for (its own WalletClient adapter calls
  // walletClient.signMessage): 2 for a new identity (Create + Enable), 1 for a returning one.
  const signed = [];
  const viemSign = wc.signMessage;
  wc.signMessage = (args) => {
    signed.push(typeof args.message === "string" ? args.message : "<raw bytes>");
    return viemSign(args);
  };
  // The SDK's defaultKeystoreProviders(), in the same order, each wrapped to observe which one
  // produced the keystore. Unavailable providers throw KeystoreProviderUnavailableError, which
  // passes through unchanged so that Client.create moves on to the next one.
  let provider = null;
  const observe = (name, inner) => ({
    newKeystore: async (...args) => {
      const keystore = await inner.newKeystore(...args);
      provider = name;
      return keystore;
    },
  });
  const client = await Client.create(wc, {
    env: "local", // only affects the (inert) backup-client choice; apiUrl decides the host
    apiUrl,
    appVersion: p.app_version ?? undefined,
    keystoreProviders: [
      observe("static", new StaticKeystoreProvider()),
      observe("network", new NetworkKeystoreProvider()),
      observe("generated", new KeyGeneratorKeystoreProvider()),
    ],
    privateKeyOverride: p.private_key_bundle
      ? unb64(p.private_key_bundle, "private_key_bundle")
      : undefined,
    persistConversations: false,
    basePersistence: InMemoryPersistence.create(),
    skipContactPublishing: p.skip_contact_publishing === true,
    publishLegacyContact: p.publish_legacy_contact === true,
    useSnaps: false,
  });
  if (client.address !== address) {
    throw new Error(`client address ${client.address} != wallet ${address}`);
  }
  liveClients.set(address, { client, apiUrl, started: new Map() });
  // Client.getKeys() does exactly this on the client it creates
  const keys = new PrivateKeyBundleV1(await client.keystore.getPrivateKeyBundle());
  return {
    wallet_address: client.address,
    identity_key: pubHex(keys.identityKey.publicKey),
    prekey: pubHex(keys.getCurrentPreKey().publicKey),
    private_key_bundle: b64(keys.encode()),
    new_identity: provider === "generated",
    keystore_provider: provider,
    wallet_signatures: signed.length,
  };
}

async function cmdClientCanMessage(p) {
  const client = liveClient(p);
  const peers = Array.isArray(p.peer_address)
    ? p.peer_address.map((a, i) => peerParam(a, `peer_address[${i}]`))
    : peerParam(p.peer_address);
  // drop the client's cache so that the answer comes from the network
  for (const a of Array.isArray(peers) ? peers : [peers]) {
    try {
      client.forgetContact(a);
    } catch {
      // invalid address: canMessage answers false itself
    }
  }
  return { can_message: await client.canMessage(peers) };
}

async function cmdClientLookup(p) {
  const client = liveClient(p);
  const peer = peerParam(p.peer_address);
  client.forgetContact(peer);
  const bundle = await client.getUserContact(peer);
  if (!bundle) throw new Error(`no contact bundle found for ${peer}`);
  return {
    type: bundle instanceof PublicKeyBundle ? "v1" : "v2",
    wallet_address: await bundle.walletSignatureAddress(),
    identity_key: pubHex(bundle.identityKey),
    prekey: pubHex(bundle.preKey),
    prekey_valid: await bundle.identityKey.verifyKey(bundle.preKey),
    // PublicKeyBundle (v1) / SignedPublicKeyBundle (v2) bytes, re-encoded by the SDK
    key_bundle: b64(bundle.toBytes()),
  };
}

async function cmdClientNewConversation(p) {
  const entry = liveEntry(p);
  const peer = peerParam(p.peer_address);
  const convo = await entry.client.conversations.newConversation(peer, contextFromParams(p));
  entry.started.set(convo.topic, convo);
  return conversationInfo(convo);
}

async function cmdClientSend(p) {
  const topic = reqStr(p.topic, "topic");
  const text = reqStr(p.text, "text");
  const convo = await findConversation(liveEntry(p), topic);
  const msg = await convo.send(text);
  return {
    id: msg.id,
    topic: msg.contentTopic,
    sender_address: msg.senderAddress,
    sent_ns: toNanoString(msg.sent),
  };
}

async function cmdClientMessages(p) {
  const convo = await findConversation(liveEntry(p), reqStr(p.topic, "topic"));
  // undecryptable envelopes are dropped by the SDK itself (console.warn on stderr)
  const msgs = await convo.messages();
  return {
    messages: msgs.map((m) => ({
      text: typeof m.content === "string" ? m.content : null,
      sender_address: m.senderAddress,
      id: m.id,
      sent_ns: toNanoString(m.sent),
      content_type: m.contentType ? m.contentType.toString() : null,
      error: m.error ? errorMessage(m.error) : null,
    })),
  };
}

async function cmdClientListConversations(p) {
  const client = liveClient(p);
  const convos = client.conversations;
  // Forget the last-sync times so that list() re-reads the whole intro and invite topics instead
  // of "since the last run - 10 s" (v1JobRunner/v2JobRunner are TypeScript-private fields).
  for (const runner of [convos.v1JobRunner, convos.v2JobRunner]) {
    if (typeof runner?.resetLastRunTime !== "function") {
      throw new Error("Conversations has no job runners (SDK internals changed)");
    }
    await runner.resetLastRunTime();
  }
  const list = await convos.list();
  return { conversations: list.map(conversationInfo) };
}

async function cmdClientClose(p) {
  const { address } = walletFromParams(p);
  const entry = liveClients.get(address);
  if (!entry) return { wallet_address: address, closed: false };
  liveClients.delete(address);
  await entry.client.close();
  return { wallet_address: address, closed: true };
}

// ---------------------------------------------------------------------------------------------
// bench
// ---------------------------------------------------------------------------------------------
async function prepareBench(op) {
  const walletKey = viemAccounts.generatePrivateKey().slice(2);
  const signer = makeSigner(makeWalletClient(walletKey));
  if (op === "generate") {
    return () => PrivateKeyBundleV1.generate(signer);
  }
  const bundle = await PrivateKeyBundleV1.generate(signer);
  if (op === "encrypt_bundle") {
    return () => networkStore(bundle, signer);
  }
  if (op === "decrypt_bundle") {
    const env = await networkStore(bundle, signer);
    return () => networkLoad(env.message, signer);
  }
  if (op === "verify_public_bundle") {
    const { api } = await clientFromBundle(bundle.encode(), { publishContacts: true });
    const v2 = api.published.filter((e) => e.contentTopic.includes("/contact-"))[1].message;
    return async () => {
      const cb = decodeContactBundle(v2);
      await cb.walletSignatureAddress();
      if (!(await cb.identityKey.verifyKey(cb.preKey))) throw new Error("prekey invalid");
    };
  }
  if (op === "seal_invitation" || op === "open_invitation") {
    const peerSigner = makeSigner(makeWalletClient(viemAccounts.generatePrivateKey().slice(2)));
    const peer = await PrivateKeyBundleV1.generate(peerSigner);
    const recipient = SignedPublicKeyBundle.fromLegacyBundle(peer.getPublicKeyBundle());
    const { client } = await clientFromBundle(bundle.encode());
    const createdNs = xmtp.dateToNs(new Date());
    const seal = () =>
      client.keystore.createInvite({ recipient, context: undefined, createdNs, consentProof: undefined });
    if (op === "seal_invitation") return seal;
    const { payload } = await seal();
    const { client: peerClient } = await clientFromBundle(peer.encode());
    return async () => {
      const { responses } = await peerClient.keystore.saveInvites({
        requests: [{ payload, timestampNs: createdNs, contentTopic: "" }],
      });
      keystoreResponseOrThrow(responses[0]);
    };
  }
  throw new Error(`unknown bench op: ${op}`);
}

async function cmdBench(p) {
  const op = reqStr(p.op, "op");
  const iterations = p.iterations ?? 100;
  const warmup = p.warmup ?? 5;
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error("iterations must be >= 1");
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error("warmup must be >= 0");
  const fn = await prepareBench(op);
  for (let i = 0; i < warmup; i++) await fn();
  const samples = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    const t1 = process.hrtime.bigint();
    samples.push(Number(t1 - t0) / 1000);
  }
  samples.sort((a, b) => a - b);
  const n = samples.length;
  const median = n % 2 ? samples[(n - 1) / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
  const mean = samples.reduce((a, b) => a + b, 0) / n;
  return {
    op,
    median_us: median,
    mean_us: mean,
    min_us: samples[0],
    max_us: samples[n - 1],
    samples: n,
  };
}

async function cmdPing() {
  return {
    version: packageVersion("@xmtp/xmtp-js"),
    viem: packageVersion("viem"),
    node: process.version,
  };
}

const COMMANDS = {
  ...companionCommands({
    Client,
    InMemoryPersistence,
    liveClients,
    keystoreFromBundle,
    unb64,
    b64,
    reqStr,
    toNanoString,
    errorMessage: (e) => errorMessage(e),
    makeSigner,
    makeWalletClient,
    randomKey: () => viemAccounts.generatePrivateKey().slice(2),
  }),
  ping: cmdPing,
  generate: cmdGenerate,
  encrypt_bundle: cmdEncryptBundle,
  decrypt_bundle: cmdDecryptBundle,
  load_bundle: cmdLoadBundle,
  verify_contact: cmdVerifyContact,
  seal_invitation: cmdSealInvitation,
  open_invitation: cmdOpenInvitation,
  encrypt_message_v2: cmdEncryptMessageV2,
  decrypt_message_v2: cmdDecryptMessageV2,
  bench: cmdBench,
  client_create: cmdClientCreate,
  client_can_message: cmdClientCanMessage,
  client_lookup: cmdClientLookup,
  client_new_conversation: cmdClientNewConversation,
  client_send: cmdClientSend,
  client_messages: cmdClientMessages,
  client_list_conversations: cmdClientListConversations,
  client_close: cmdClientClose,
};

// ---------------------------------------------------------------------------------------------
// main loop: strictly sequential processing, one response line per request line
// ---------------------------------------------------------------------------------------------
function errorMessage(e) {
  if (e instanceof Error) return e.message || e.name || String(e);
  if (e && typeof e === "object" && typeof e.message === "string") return e.message;
  return String(e);
}

async function handleLine(line) {
  let id = null;
  try {
    let req;
    try {
      req = JSON.parse(line);
    } catch (e) {
      throw new Error(`invalid JSON: ${errorMessage(e)}`);
    }
    if (req === null || typeof req !== "object" || Array.isArray(req)) {
      throw new Error("request must be a JSON object");
    }
    id = req.id ?? null;
    const fn = Object.prototype.hasOwnProperty.call(COMMANDS, req.cmd) ? COMMANDS[req.cmd] : null;
    if (!fn) throw new Error(`unknown cmd: ${JSON.stringify(req.cmd)}`);
    if (req.trace === true) httpTrace = [];
    const result = await fn(req);
    if (httpTrace) result.http = httpTrace;
    return { id, ok: true, result };
  } catch (e) {
    const resp = { id, ok: false, error: errorMessage(e) };
    if (httpTrace) resp.http = httpTrace;
    return resp;
  } finally {
    httpTrace = null;
  }
}

let chain = Promise.resolve();
const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
rl.on("line", (line) => {
  if (!line.trim()) return;
  chain = chain.then(async () => {
    const resp = await handleLine(line);
    let out;
    try {
      out = JSON.stringify(resp);
    } catch (e) {
      out = JSON.stringify({ id: resp.id, ok: false, error: `unserialisable result: ${errorMessage(e)}` });
    }
    writeOut(out + "\n");
  });
});
rl.on("close", () => {
  chain.then(() => writeOut("", () => process.exit(0)));
});
