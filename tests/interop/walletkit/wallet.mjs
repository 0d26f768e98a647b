// The official WalletConnect v2 wallet SDK (@reown/walletkit 1.6.0 on @walletconnect/core 2.25.0)
// as a test peer, driven by JSON lines.
//
//   node wallet.mjs --relay ws://127.0.0.1:PORT --project-id ID --key HEX [--key HEX ...]
//                   [--other-key HEX] [--auto-approve] [--auto-sign] [--disable-request-queue]
//                   [--log-level error] [--name "Test Wallet"]
//   (env fallbacks: WALLET_RELAY_URL, WALLET_PROJECT_ID, WALLET_PRIVATE_KEYS (comma separated),
//    WALLET_OTHER_KEY, WALLET_LOG_LEVEL)
//
// stdin : one command per line, {"cmd": "...", "cid": <optional correlation id>, ...params}
// stdout: one JSON object per line, nothing else:
//           {"event": "reply", "cmd": ..., "cid": ..., "ok": true, "result": {...}}
//           {"event": "reply", "cmd": ..., "cid": ..., "ok": false, "error": "..."}
//           {"event": "<name>", ...}   (ready, proposal, session_approved, request, signed, ...)
// stderr: SDK logs and diagnostics.
// See README.md for the command and event list.
//
// Offline by construction (shared/protocol/walletconnect-v2.md §3): the relay URL must be
// loopback, telemetry is off and core.eventClient.init() is a no-op, and every outgoing TCP
// connection or fetch
// to a non-loopback host is refused and reported as
// {"event": "error", "kind": "network_blocked"}.

import net from "node:net";
import readline from "node:readline";
import fs from "node:fs";

// ---------------------------------------------------------------------------------------------
// stdout hygiene: only emit() writes to stdout; everything else that targets stdout goes to stderr.
// ---------------------------------------------------------------------------------------------
const writeOut = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, encoding, cb) => process.stderr.write(chunk, encoding, cb);
for (const m of ["log", "info", "debug", "trace"]) {
  console[m] = (...args) => console.error(...args);
}

function jsonSafe(_key, value) {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

function emit(event, fields = {}) {
  writeOut(JSON.stringify({ event, ...fields, t: Date.now() }, jsonSafe) + "\n");
}

function errorText(error) {
  if (error === undefined || error === null) return String(error);
  if (typeof error === "string") return error;
  if (error.message) return error.message;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}

process.on("unhandledRejection", (reason) => {
  console.error("[wallet] unhandled rejection:", reason);
  emit("error", { kind: "unhandled_rejection", message: errorText(reason) });
});
process.on("uncaughtException", (err) => {
  console.error("[wallet] uncaught exception:", err);
  emit("error", { kind: "uncaught_exception", message: errorText(err) });
});

// ---------------------------------------------------------------------------------------------
// network guard: loopback only
// ---------------------------------------------------------------------------------------------
function isLoopbackHost(host) {
  if (host === undefined || host === null || host === "") return true; // Node's default: localhost
  const h = String(host).toLowerCase().replace(/^\[|\]$/g, "");
  return (
    h === "localhost" ||
    h.endsWith(".localhost") ||
    h === "::1" ||
    h === "0:0:0:0:0:0:0:1" ||
    /^127(\.\d{1,3}){3}$/.test(h) ||
    /^::ffff:127(\.\d{1,3}){3}$/.test(h)
  );
}

const blocked = [];
function reportBlocked(kind, target) {
  blocked.push({ kind, target });
  console.error(`[wallet] BLOCKED non-loopback ${kind}: ${target}`);
  emit("error", { kind: "network_blocked", via: kind, target });
}

const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const url = typeof input === "string" ? input : input?.url ?? String(input);
  let host;
  try {
    host = new URL(url).hostname;
  } catch {
    host = "?";
  }
  if (!isLoopbackHost(host)) {
    reportBlocked("fetch", url);
    throw new TypeError(`fetch to non-loopback host refused by the test wallet: ${url}`);
  }
  return realFetch(input, init);
};

// Every TCP client in Node (http, https, ws, undici/fetch, tls) ends up in Socket#connect.
const realConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  let opts = args[0];
  if (Array.isArray(opts)) opts = opts[0]; // net.connect() passes normalized [options, cb]
  let host;
  let path;
  if (opts !== null && typeof opts === "object") {
    host = opts.host;
    path = opts.path;
  } else if (typeof opts === "number" || (typeof opts === "string" && /^\d+$/.test(opts))) {
    host = typeof args[1] === "string" ? args[1] : undefined;
  } else if (typeof opts === "string") {
    path = opts;
  }
  if (!path && !isLoopbackHost(host)) {
    const port = opts && typeof opts === "object" ? opts.port : opts;
    reportBlocked("socket", `${host}:${port}`);
    process.nextTick(() =>
      this.destroy(new Error(`connection to ${host} refused by the test wallet (loopback only)`)),
    );
    return this;
  }
  return realConnect.apply(this, args);
};

// ---------------------------------------------------------------------------------------------
// configuration
// ---------------------------------------------------------------------------------------------
function parseArgs(argv) {
  const out = { keys: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`);
      return argv[++i];
    };
    if (a === "--relay" || a === "--relay-url") out.relayUrl = next();
    else if (a === "--project-id") out.projectId = next();
    else if (a === "--key" || a === "--private-key") out.keys.push(next());
    else if (a === "--other-key") out.otherKey = next();
    else if (a === "--auto-approve") out.autoApprove = true;
    else if (a === "--auto-sign") out.autoSign = true;
    else if (a === "--disable-request-queue") out.disableRequestQueue = true;
    else if (a === "--log-level") out.logLevel = next();
    else if (a === "--name") out.name = next();
    else throw new Error(`unknown argument ${a}`);
  }
  return out;
}

function packageVersion(name) {
  const url = new URL(`./node_modules/${name}/package.json`, import.meta.url);
  return JSON.parse(fs.readFileSync(url, "utf8")).version;
}

const { Core } = await import("@walletconnect/core");
const { WalletKit } = await import("@reown/walletkit");
const { buildApprovedNamespaces, getSdkError, parseUri } = await import("@walletconnect/utils");
const { Wallet, getBytes, hexlify, isHexString, toUtf8Bytes, toUtf8String, verifyMessage } =
  await import("ethers");

let args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (e) {
  emit("error", { kind: "usage", message: errorText(e) });
  process.exit(2);
}
const relayUrl = args.relayUrl ?? process.env.WALLET_RELAY_URL;
const projectId = args.projectId ?? process.env.WALLET_PROJECT_ID ?? "walletkit-test-peer";
const keyTexts = args.keys.length
  ? args.keys
  : (process.env.WALLET_PRIVATE_KEYS ?? process.env.WALLET_PRIVATE_KEY ?? "")
      .split(",")
      .filter(Boolean);
const otherKeyText = args.otherKey ?? process.env.WALLET_OTHER_KEY ?? "0x" + "77".repeat(32);
const logLevel = args.logLevel ?? process.env.WALLET_LOG_LEVEL ?? "error";

function fatal(message) {
  emit("error", { kind: "fatal", message });
  process.exit(2);
}
if (!relayUrl) fatal("no relay URL (--relay ws://127.0.0.1:PORT)");
let relayHost;
try {
  relayHost = new URL(relayUrl).hostname;
} catch {
  fatal(`bad relay URL ${relayUrl}`);
}
if (!isLoopbackHost(relayHost)) fatal(`relay URL must be loopback, got ${relayUrl}`);
if (!keyTexts.length) fatal("no private key (--key HEX)");

const withPrefix = (k) => (k.startsWith("0x") ? k : "0x" + k);
let accounts;
let otherWallet;
try {
  accounts = keyTexts.map((k) => new Wallet(withPrefix(k.trim())));
  otherWallet = new Wallet(withPrefix(otherKeyText.trim()));
} catch (e) {
  fatal(`bad private key: ${errorText(e)}`);
}

const mode = {
  auto_approve: Boolean(args.autoApprove),
  auto_sign: Boolean(args.autoSign),
  // what to do with a request in auto mode: "sign" | "reject" | "ignore" | "other_key"
  request_action: "sign",
};

// ---------------------------------------------------------------------------------------------
// SDK set-up
// ---------------------------------------------------------------------------------------------
const core = new Core({ projectId, relayUrl, logger: logLevel, telemetryEnabled: false });
// WalletKit 1.6.0 calls core.eventClient.init() unconditionally (one POST to pulse.walletconnect.org).
core.eventClient.init = async () => {};
core.eventClient.sendEvent = async () => ({ ok: true });

const metadata = {
  name: args.name ?? "WalletKit Test Peer",
  description: "Official @reown/walletkit SDK driven by the interop tests",
  url: "https://walletkit-test-peer.invalid",
  icons: [],
};

const walletkit = await WalletKit.init({
  core,
  metadata,
  signConfig: args.disableRequestQueue ? { disableRequestQueue: true } : undefined,
});
const signClient = walletkit.engine.signClient;

// ---------------------------------------------------------------------------------------------
// state
// ---------------------------------------------------------------------------------------------
const proposals = new Map(); // proposal id -> session_proposal event
const requests = new Map(); // request id -> { topic, request, chainId, state }
const sessionAccount = new Map(); // session topic -> Wallet used at approval
let lastProposalId;
let lastSessionTopic;

const EIP155_METHODS = [
  "personal_sign",
  "eth_sign",
  "eth_signTypedData",
  "eth_signTypedData_v4",
  "eth_sendTransaction",
];
const EIP155_EVENTS = ["chainChanged", "accountsChanged"];

function requestedChains(proposal) {
  const chains = new Set();
  for (const ns of [proposal.requiredNamespaces ?? {}, proposal.optionalNamespaces ?? {}]) {
    for (const [key, value] of Object.entries(ns)) {
      if (key === "eip155") (value.chains ?? []).forEach((c) => chains.add(c));
      else if (key.startsWith("eip155:")) chains.add(key);
    }
  }
  return [...chains];
}

function sessionSummary(session) {
  const accountsList = Object.values(session.namespaces ?? {}).flatMap((ns) => ns.accounts ?? []);
  return {
    topic: session.topic,
    pairing_topic: session.pairingTopic,
    account: accountsList[0]?.split(":").slice(2).join(":"),
    accounts: accountsList,
    namespaces: session.namespaces,
    expiry: session.expiry,
    acknowledged: session.acknowledged,
    peer: session.peer?.metadata,
    controller: session.controller,
    self_public_key: session.self?.publicKey,
    peer_public_key: session.peer?.publicKey,
  };
}

function pickTopic(params) {
  const topic = params.topic ?? lastSessionTopic;
  if (!topic) throw new Error("no session topic (no session approved yet)");
  return topic;
}

function accountFor(topic) {
  return sessionAccount.get(topic) ?? accounts[0];
}

// personal_sign message: 0x-hex -> those bytes; anything else -> its UTF-8 bytes
function messageBytes(message) {
  if (typeof message === "string" && isHexString(message) && message.length % 2 === 0) {
    return getBytes(message);
  }
  return toUtf8Bytes(String(message));
}

function decodeText(bytes) {
  try {
    return toUtf8String(bytes);
  } catch {
    return null;
  }
}

function describeRequest(ev) {
  const { id, topic, params } = ev;
  const { request, chainId } = params;
  const out = {
    id,
    topic,
    method: request.method,
    params: request.params,
    chain_id: chainId,
    expiry: request.expiryTimestamp,
    verify: ev.verifyContext?.verified?.validation,
  };
  if (request.method === "personal_sign" && Array.isArray(request.params)) {
    const [message, address] = request.params;
    const bytes = messageBytes(message);
    const session = signClient.session.keys.includes(topic) ? signClient.session.get(topic) : null;
    const sessionAddrs = session
      ? Object.values(session.namespaces).flatMap((ns) =>
          (ns.accounts ?? []).map((a) => a.split(":")[2].toLowerCase()),
        )
      : [];
    out.message_hex = hexlify(bytes);
    out.message_text = decodeText(bytes);
    out.message_was_hex = typeof message === "string" && isHexString(message);
    out.address = address;
    out.address_matches =
      typeof address === "string" && sessionAddrs.includes(address.toLowerCase());
    out.address_is_first_param =
      typeof message === "string" && sessionAddrs.includes(message.toLowerCase());
  }
  return out;
}

async function respond(id, response) {
  const entry = requests.get(id);
  if (!entry) throw new Error(`unknown request id ${id}`);
  if (entry.state !== "pending" && entry.state !== "ignored") {
    throw new Error(`request ${id} already ${entry.state}`);
  }
  await walletkit.respondSessionRequest({
    topic: entry.topic,
    response: { id: Number(id), jsonrpc: "2.0", ...response },
  });
  return entry;
}

async function signRequest(id, { otherKey = false } = {}) {
  const entry = requests.get(Number(id));
  if (!entry) throw new Error(`unknown request id ${id}`);
  const { request } = entry;
  if (request.method !== "personal_sign") {
    throw new Error(`cannot sign method ${request.method}`);
  }
  const [message, address] = request.params;
  const bytes = messageBytes(message);
  let signer;
  if (otherKey) signer = otherWallet;
  else {
    signer =
      accounts.find(
        (w) => typeof address === "string" && w.address.toLowerCase() === address.toLowerCase(),
      ) ?? accountFor(entry.topic);
  }
  const signature = await signer.signMessage(bytes);
  if (verifyMessage(bytes, signature).toLowerCase() !== signer.address.toLowerCase()) {
    throw new Error("self-check of the signature failed");
  }
  await respond(Number(id), { result: signature });
  entry.state = "signed";
  emit("signed", {
    id: Number(id),
    topic: entry.topic,
    signature,
    signer: signer.address,
    other_key: otherKey,
    message_hex: hexlify(bytes),
  });
  return { signature, signer: signer.address };
}

async function rejectRequest(id, code = 5000, message) {
  const entry = requests.get(Number(id));
  if (!entry) throw new Error(`unknown request id ${id}`);
  const error =
    code === 5000 && !message
      ? getSdkError("USER_REJECTED")
      : { code, message: message ?? "Rejected by the test wallet" };
  await respond(Number(id), { error });
  entry.state = "rejected";
  emit("rejected", { id: Number(id), topic: entry.topic, code: error.code, message: error.message });
  return { code: error.code, message: error.message };
}

function ignoreRequest(id) {
  const entry = requests.get(Number(id));
  if (!entry) throw new Error(`unknown request id ${id}`);
  entry.state = "ignored";
  emit("ignored", { id: Number(id), topic: entry.topic });
  return {};
}

async function approve(params = {}) {
  const id = params.id ?? lastProposalId;
  const ev = proposals.get(Number(id));
  if (!ev) throw new Error(`no pending proposal ${id ?? ""}`.trim());
  let namespaces = params.namespaces;
  let account;
  if (!namespaces) {
    account = accounts[params.account_index ?? 0];
    if (!account) throw new Error(`no account with index ${params.account_index}`);
    let chains = params.chains ?? (params.chain ? [params.chain] : requestedChains(ev.params));
    if (!chains.length) chains = ["eip155:1"];
    const accountList = params.accounts ?? chains.map((c) => `${c}:${account.address}`);
    namespaces = buildApprovedNamespaces({
      proposal: ev.params,
      supportedNamespaces: {
        eip155: {
          chains,
          methods: params.methods ?? EIP155_METHODS,
          events: params.events ?? EIP155_EVENTS,
          accounts: accountList,
        },
      },
    });
  }
  const session = await walletkit.approveSession({
    id: Number(id),
    namespaces,
    sessionProperties: params.session_properties,
  });
  proposals.delete(Number(id));
  const first = Object.values(session.namespaces).flatMap((ns) => ns.accounts ?? [])[0];
  const address = first?.split(":")[2];
  sessionAccount.set(
    session.topic,
    account ??
      accounts.find((w) => address && w.address.toLowerCase() === address.toLowerCase()) ??
      accounts[0],
  );
  lastSessionTopic = session.topic;
  const summary = sessionSummary(session);
  emit("session_approved", { proposal_id: Number(id), ...summary });
  return summary;
}

async function rejectProposal(params = {}) {
  const id = params.id ?? lastProposalId;
  if (!proposals.has(Number(id))) throw new Error(`no pending proposal ${id ?? ""}`.trim());
  const reason =
    params.code !== undefined
      ? { code: params.code, message: params.message ?? "Rejected by the test wallet" }
      : getSdkError("USER_REJECTED");
  await walletkit.rejectSession({ id: Number(id), reason });
  proposals.delete(Number(id));
  emit("proposal_rejected", { id: Number(id), code: reason.code, message: reason.message });
  return { id: Number(id) };
}

async function withTimeout(promise, ms, what) {
  let timer;
  try {
    return await Promise.race([
      promise,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// SDK events -> JSON lines
// ---------------------------------------------------------------------------------------------
walletkit.on("session_proposal", async (ev) => {
  proposals.set(ev.id, ev);
  lastProposalId = ev.id;
  const p = ev.params;
  emit("proposal", {
    id: ev.id,
    pairing_topic: p.pairingTopic,
    proposer: p.proposer?.metadata,
    proposer_public_key: p.proposer?.publicKey,
    required_namespaces: p.requiredNamespaces,
    optional_namespaces: p.optionalNamespaces,
    session_properties: p.sessionProperties,
    requests: p.requests,
    relays: p.relays,
    expiry: p.expiryTimestamp,
    verify: ev.verifyContext?.verified?.validation,
  });
  if (mode.auto_approve) {
    try {
      await approve({ id: ev.id });
    } catch (e) {
      emit("error", { kind: "approve_failed", id: ev.id, message: errorText(e) });
    }
  }
});

walletkit.on("session_request", async (ev) => {
  requests.set(ev.id, {
    topic: ev.topic,
    request: ev.params.request,
    chainId: ev.params.chainId,
    state: "pending",
  });
  const described = describeRequest(ev);
  emit("request", described);
  if (!mode.auto_sign) return;
  try {
    if (described.method !== "personal_sign") {
      await rejectRequest(ev.id, 5101, `Unsupported method ${described.method}`);
    } else if (!described.address_matches) {
      await rejectRequest(ev.id, -32602, "personal_sign address is not a session account");
    } else if (mode.request_action === "reject") await rejectRequest(ev.id);
    else if (mode.request_action === "ignore") ignoreRequest(ev.id);
    else await signRequest(ev.id, { otherKey: mode.request_action === "other_key" });
  } catch (e) {
    emit("error", { kind: "auto_sign_failed", id: ev.id, message: errorText(e) });
  }
});

walletkit.on("session_delete", (ev) => {
  sessionAccount.delete(ev.topic);
  if (lastSessionTopic === ev.topic) lastSessionTopic = undefined;
  emit("session_deleted", { id: ev.id, topic: ev.topic });
});
walletkit.on("proposal_expire", (ev) => {
  proposals.delete(ev.id);
  emit("proposal_expired", { id: ev.id });
});
walletkit.on("session_request_expire", (ev) => {
  const entry = requests.get(ev.id);
  if (entry) entry.state = "expired";
  emit("request_expired", { id: ev.id, topic: entry?.topic });
});
signClient.on("session_ping", (ev) => emit("session_ping", { id: ev.id, topic: ev.topic }));
signClient.on("session_expire", (ev) => emit("session_expired", { topic: ev.topic }));
core.relayer.on("relayer_connect", () => emit("relay_connected", {}));
core.relayer.on("relayer_disconnect", () => emit("relay_disconnected", {}));

// ---------------------------------------------------------------------------------------------
// commands
// ---------------------------------------------------------------------------------------------
const commands = {
  status: async () => ({
    versions: {
      "@reown/walletkit": packageVersion("@reown/walletkit"),
      "@walletconnect/core": packageVersion("@walletconnect/core"),
      "@walletconnect/sign-client": packageVersion("@walletconnect/sign-client"),
      "@walletconnect/utils": packageVersion("@walletconnect/utils"),
      ethers: packageVersion("ethers"),
      node: process.versions.node,
    },
    addresses: accounts.map((w) => w.address),
    other_address: otherWallet.address,
    mode,
    relay_connected: core.relayer.connected,
    client_id: await core.crypto.getClientId(),
    blocked,
  }),
  set_mode: async (p) => {
    for (const k of ["auto_approve", "auto_sign", "request_action"]) {
      if (p[k] !== undefined) mode[k] = p[k];
    }
    return { mode };
  },
  pair: async (p) => {
    if (!p.uri) throw new Error("uri is required");
    const parsed = parseUri(p.uri);
    await walletkit.pair({ uri: p.uri });
    return { topic: parsed.topic, expiry: parsed.expiryTimestamp };
  },
  approve: (p) => approve(p),
  reject_proposal: (p) => rejectProposal(p),
  sign: (p) => signRequest(p.id),
  sign_with_other_key: (p) => signRequest(p.id, { otherKey: true }),
  reject: (p) => rejectRequest(p.id, p.code ?? 5000, p.message),
  ignore: async (p) => ignoreRequest(p.id),
  // raw answer, e.g. {"cmd": "respond", "id": N, "result": "0xdeadbeef"} or {..., "error": {...}}
  respond: async (p) => {
    const response = p.error !== undefined ? { error: p.error } : { result: p.result };
    const entry = await respond(Number(p.id), response);
    entry.state = "responded";
    emit("responded", { id: Number(p.id), topic: entry.topic, ...response });
    return {};
  },
  ping: async (p) => {
    const topic = pickTopic(p);
    const started = Date.now();
    await withTimeout(signClient.ping({ topic }), p.timeout_ms ?? 10000, "ping");
    return { topic, rtt_ms: Date.now() - started };
  },
  extend: async (p) => {
    const topic = pickTopic(p);
    const { acknowledged } = await walletkit.extendSession({ topic });
    const expiry = signClient.session.get(topic).expiry;
    if (p.wait_ack === false) return { topic, expiry, acknowledged: null };
    await withTimeout(acknowledged(), p.timeout_ms ?? 10000, "extend");
    emit("extended", { topic, expiry });
    return { topic, expiry, acknowledged: true };
  },
  update_accounts: async (p) => {
    const topic = pickTopic(p);
    const session = signClient.session.get(topic);
    const ns = session.namespaces.eip155;
    if (!ns) throw new Error("session has no eip155 namespace");
    const chains =
      p.chains ?? ns.chains ?? [...new Set(ns.accounts.map((a) => a.split(":").slice(0, 2).join(":")))];
    const wallets = (p.account_indices ?? [0]).map((i) => {
      if (!accounts[i]) throw new Error(`no account with index ${i}`);
      return accounts[i];
    });
    const accountList =
      p.accounts ?? chains.flatMap((c) => wallets.map((w) => `${c}:${w.address}`));
    const namespaces = { ...session.namespaces, eip155: { ...ns, chains, accounts: accountList } };
    const { acknowledged } = await walletkit.updateSession({ topic, namespaces });
    sessionAccount.set(topic, wallets[0]);
    if (p.wait_ack !== false) await withTimeout(acknowledged(), p.timeout_ms ?? 10000, "update");
    emit("updated", { topic, namespaces });
    return { topic, namespaces };
  },
  emit_event: async (p) => {
    const topic = pickTopic(p);
    const session = signClient.session.get(topic);
    const ns = session.namespaces.eip155;
    const chainId =
      p.chain ?? ns?.chains?.[0] ?? ns?.accounts?.[0]?.split(":").slice(0, 2).join(":");
    let data = p.data;
    if (data === undefined && p.name === "accountsChanged") data = [accountFor(topic).address];
    if (data === undefined && p.name === "chainChanged") data = Number(chainId.split(":")[1]);
    await walletkit.emitSessionEvent({ topic, event: { name: p.name, data }, chainId });
    return { topic, name: p.name, data, chain_id: chainId };
  },
  delete: async (p) => {
    const topic = pickTopic(p);
    const reason =
      p.code !== undefined
        ? { code: p.code, message: p.message ?? "Deleted by the test wallet" }
        : getSdkError("USER_DISCONNECTED");
    await walletkit.disconnectSession({ topic, reason });
    sessionAccount.delete(topic);
    if (lastSessionTopic === topic) lastSessionTopic = undefined;
    return { topic, ...reason };
  },
  disconnect_transport: async () => {
    await core.relayer.transportClose();
    return { connected: core.relayer.connected };
  },
  reconnect_transport: async () => {
    await core.relayer.transportOpen();
    return { connected: core.relayer.connected };
  },
  sessions: async () => ({
    sessions: Object.values(walletkit.getActiveSessions()).map(sessionSummary),
  }),
  pending: async () => ({
    proposals: [...proposals.keys()],
    requests: [...requests.entries()]
      .filter(([, e]) => e.state === "pending" || e.state === "ignored")
      .map(([id, e]) => ({ id, topic: e.topic, method: e.request.method, state: e.state })),
    sdk_pending_requests: walletkit.getPendingSessionRequests().map((r) => r.id),
  }),
  shutdown: async () => {
    setTimeout(() => process.exit(0), 50);
    return {};
  },
};

async function handleLine(line) {
  const text = line.trim();
  if (!text) return;
  let msg;
  try {
    msg = JSON.parse(text);
  } catch (e) {
    emit("reply", { ok: false, error: `bad JSON: ${errorText(e)}` });
    return;
  }
  const { cmd, cid } = msg;
  const handler = commands[cmd];
  if (!handler) {
    emit("reply", { cmd, cid, ok: false, error: `unknown command ${cmd}` });
    return;
  }
  try {
    const result = await handler(msg);
    emit("reply", { cmd, cid, ok: true, result: result ?? {} });
  } catch (e) {
    console.error(`[wallet] ${cmd} failed:`, e);
    emit("reply", { cmd, cid, ok: false, error: errorText(e) });
  }
}

// Commands run concurrently (a `ping` or `extend` may wait for the dApp while `sign` goes on);
// each reply carries the command's `cid`.
const rl = readline.createInterface({ input: process.stdin, terminal: false });
rl.on("line", (line) => {
  handleLine(line);
});
rl.on("close", async () => {
  try {
    await core.relayer.transportClose();
  } catch {}
  process.exit(0);
});

emit("ready", {
  addresses: accounts.map((w) => w.address),
  other_address: otherWallet.address,
  relay_url: relayUrl,
  project_id: projectId,
  client_id: await core.crypto.getClientId(),
  mode,
  versions: {
    "@reown/walletkit": packageVersion("@reown/walletkit"),
    "@walletconnect/core": packageVersion("@walletconnect/core"),
  },
});
