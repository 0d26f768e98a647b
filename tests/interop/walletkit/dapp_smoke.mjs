// The official JS dApp SDK (@walletconnect/sign-client 2.25.0) as a second test peer, used to prove
// that wallet.mjs works independently of our Python dApp.  Same JSON-lines protocol as wallet.mjs.
//
//   node dapp_smoke.mjs --relay ws://127.0.0.1:PORT [--project-id ID] [--log-level error]
//
// Commands ({"cmd": ..., "cid": ...}):
//   connect {chains?, methods?, events?} -> reply {uri, pairing_topic}; later event
//                                          session_approved {topic, accounts, namespaces, peer}
//                                          or connect_failed {error}
//   personal_sign {text | message_hex, address?, topic?, chain?, swap_params?, expiry_s?}
//       -> reply {ok, signature, recovered, verified} or {ok: false, error: {code, message}},
//          only once the wallet answered (or the request expired)
//   ping {topic?}, disconnect {topic?, code?, message?}, sessions, shutdown
// Events: uri, session_approved, connect_failed, session_delete, session_event, session_update,
//         session_extend, session_ping, session_expire, error (incl. kind "network_blocked").
// Same offline guard as wallet.mjs: non-loopback fetch/sockets are refused and reported.

import net from "node:net";
import readline from "node:readline";

const writeOut = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, encoding, cb) => process.stderr.write(chunk, encoding, cb);
for (const m of ["log", "info", "debug", "trace"]) console[m] = (...a) => console.error(...a);

const jsonSafe = (_k, v) => (typeof v === "bigint" ? v.toString() : v);
const emit = (event, fields = {}) =>
  writeOut(JSON.stringify({ event, ...fields, t: Date.now() }, jsonSafe) + "\n");
const errorText = (e) => (typeof e === "string" ? e : e?.message ?? JSON.stringify(e));

process.on("unhandledRejection", (r) =>
  emit("error", { kind: "unhandled_rejection", message: errorText(r) }),
);

const isLoopbackHost = (host) => {
  if (!host) return true;
  const h = String(host).toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h);
};
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const url = typeof input === "string" ? input : input?.url ?? String(input);
  let host = "?";
  try {
    host = new URL(url).hostname;
  } catch {}
  if (!isLoopbackHost(host)) {
    emit("error", { kind: "network_blocked", via: "fetch", target: url });
    throw new TypeError(`fetch to ${url} refused (loopback only)`);
  }
  return realFetch(input, init);
};
const realConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  let opts = Array.isArray(args[0]) ? args[0][0] : args[0];
  const host =
    opts && typeof opts === "object" ? opts.host : typeof args[1] === "string" ? args[1] : undefined;
  const path = opts && typeof opts === "object" ? opts.path : undefined;
  if (!path && !isLoopbackHost(host)) {
    emit("error", { kind: "network_blocked", via: "socket", target: String(host) });
    process.nextTick(() => this.destroy(new Error(`connection to ${host} refused`)));
    return this;
  }
  return realConnect.apply(this, args);
};

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const relayUrl = opt("--relay", process.env.DAPP_RELAY_URL);
const projectId = opt("--project-id", "dapp-smoke-test");
const logLevel = opt("--log-level", "error");
if (!relayUrl || !isLoopbackHost(new URL(relayUrl).hostname)) {
  emit("error", { kind: "fatal", message: `loopback relay URL required, got ${relayUrl}` });
  process.exit(2);
}

const { SignClient } = await import("@walletconnect/sign-client");
const { getSdkError } = await import("@walletconnect/utils");
const { getBytes, hexlify, isHexString, toUtf8Bytes, verifyMessage } = await import("ethers");

const client = await SignClient.init({
  projectId,
  relayUrl,
  logger: logLevel,
  telemetryEnabled: false,
  metadata: {
    name: "dapp_smoke",
    description: "Official sign-client dApp for the WalletKit test peer",
    url: "https://dapp-smoke.invalid",
    icons: [],
  },
});
client.core.eventClient.init = async () => {};

let lastTopic;
const pickTopic = (p) => {
  const topic = p.topic ?? lastTopic;
  if (!topic) throw new Error("no session");
  return topic;
};
const summary = (s) => ({
  topic: s.topic,
  accounts: Object.values(s.namespaces).flatMap((ns) => ns.accounts ?? []),
  namespaces: s.namespaces,
  peer: s.peer?.metadata,
  expiry: s.expiry,
});

for (const name of [
  "session_delete",
  "session_event",
  "session_update",
  "session_extend",
  "session_ping",
  "session_expire",
]) {
  client.on(name, (ev) => {
    if (name === "session_delete" && ev.topic === lastTopic) lastTopic = undefined;
    emit(name, { id: ev.id, topic: ev.topic, params: ev.params });
  });
}

const commands = {
  connect: async (p) => {
    const { uri, approval } = await client.connect({
      optionalNamespaces: {
        eip155: {
          chains: p.chains ?? ["eip155:1"],
          methods: p.methods ?? ["personal_sign"],
          events: p.events ?? ["chainChanged", "accountsChanged"],
        },
      },
    });
    const pairingTopic = uri.slice(3, uri.indexOf("@"));
    emit("uri", { uri, pairing_topic: pairingTopic });
    approval()
      .then((session) => {
        lastTopic = session.topic;
        emit("session_approved", summary(session));
      })
      .catch((e) => emit("connect_failed", { error: { code: e?.code, message: errorText(e) } }));
    return { uri, pairing_topic: pairingTopic };
  },
  personal_sign: async (p) => {
    const topic = pickTopic(p);
    const session = client.session.get(topic);
    const account = Object.values(session.namespaces).flatMap((ns) => ns.accounts)[0];
    const [ns, ref, sessionAddress] = account.split(":");
    const address = p.address ?? sessionAddress;
    const bytes = p.message_hex ? getBytes(p.message_hex) : toUtf8Bytes(p.text ?? "");
    const message = hexlify(bytes);
    const params = p.swap_params ? [address, message] : [message, address];
    try {
      const signature = await client.request({
        topic,
        chainId: p.chain ?? `${ns}:${ref}`,
        request: { method: "personal_sign", params },
        ...(p.expiry_s ? { expiry: p.expiry_s } : {}),
      });
      let recovered = null;
      if (typeof signature === "string" && isHexString(signature, 65)) {
        recovered = verifyMessage(bytes, signature);
      }
      return {
        ok: true,
        signature,
        recovered,
        verified: recovered !== null && recovered.toLowerCase() === address.toLowerCase(),
        address,
        message_hex: message,
      };
    } catch (e) {
      return { ok: false, error: { code: e?.code, message: errorText(e) }, address };
    }
  },
  ping: async (p) => {
    const topic = pickTopic(p);
    const t0 = Date.now();
    await client.ping({ topic });
    return { topic, rtt_ms: Date.now() - t0 };
  },
  disconnect: async (p) => {
    const topic = pickTopic(p);
    const reason =
      p.code !== undefined
        ? { code: p.code, message: p.message ?? "" }
        : getSdkError("USER_DISCONNECTED");
    await client.disconnect({ topic, reason });
    if (lastTopic === topic) lastTopic = undefined;
    return { topic };
  },
  sessions: async () => ({ sessions: client.session.getAll().map(summary) }),
  shutdown: async () => {
    setTimeout(() => process.exit(0), 50);
    return {};
  },
};

const rl = readline.createInterface({ input: process.stdin, terminal: false });
rl.on("line", async (line) => {
  if (!line.trim()) return;
  let msg;
  try {
    msg = JSON.parse(line);
  } catch (e) {
    emit("reply", { ok: false, error: `bad JSON: ${errorText(e)}` });
    return;
  }
  const handler = commands[msg.cmd];
  if (!handler) {
    emit("reply", { cmd: msg.cmd, cid: msg.cid, ok: false, error: `unknown command ${msg.cmd}` });
    return;
  }
  try {
    emit("reply", { cmd: msg.cmd, cid: msg.cid, ok: true, result: (await handler(msg)) ?? {} });
  } catch (e) {
    console.error(`[dapp] ${msg.cmd} failed:`, e);
    emit("reply", { cmd: msg.cmd, cid: msg.cid, ok: false, error: errorText(e) });
  }
});
rl.on("close", () => process.exit(0));

emit("ready", { relay_url: relayUrl, client_id: await client.core.crypto.getClientId() });
