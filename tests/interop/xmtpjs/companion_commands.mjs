// Driver commands for the companion keystore (issue 12): an xmtp-js Client whose only keystore
// is the companion (CompanionKeystoreProvider; no private key ever enters this process), the
// SDK's own InMemoryKeystore answering raw Keystore API requests (for equality tests), and
// message streams collected in the background.

import { CompanionKeystoreProvider } from "../../../clients/xmtpjs/companion-keystore.mjs";

export function companionCommands(deps) {
  const { Client, InMemoryPersistence, liveClients, keystoreFromBundle, unb64, b64, reqStr } = deps;
  const { toNanoString, errorMessage } = deps;
  const memoryKeystores = new Map(); // bundle b64 -> InMemoryKeystore
  const streams = new Map(); // client name -> { messages: [], error }
  let sdk;

  async function xmtp() {
    sdk ??= (await import("node:module")).createRequire(import.meta.url)("@xmtp/xmtp-js");
    return sdk;
  }

  async function companionClientCreate(p) {
    const name = reqStr(p.client_name, "client_name");
    const previous = liveClients.get(name);
    if (previous) {
      liveClients.delete(name);
      await previous.client.close();
    }
    const provider = new CompanionKeystoreProvider({
      url: reqStr(p.keystore_url, "keystore_url"),
      token: reqStr(p.token, "token"),
      sdk: await xmtp(),
      // the browser transport (fetch) instead of node:http, when asked
      fetch: p.use_fetch === true ? (...args) => globalThis.fetch(...args) : undefined,
    });
    const client = await Client.create(null, {
      env: "local",
      apiUrl: reqStr(p.api_url, "api_url"),
      keystoreProviders: [provider],
      persistConversations: false,
      basePersistence: InMemoryPersistence.create(),
      skipContactPublishing: true,
      useSnaps: false,
    });
    liveClients.set(name, { client, apiUrl: p.api_url, started: new Map() });
    const bundle = client.publicKeyBundle;
    return {
      wallet_address: client.address,
      identity_key: Buffer.from(bundle.identityKey.secp256k1Uncompressed.bytes).toString("hex"),
      prekey: Buffer.from(bundle.preKey.secp256k1Uncompressed.bytes).toString("hex"),
    };
  }

  async function memoryKeystore(bundleB64) {
    let keystore = memoryKeystores.get(bundleB64);
    if (!keystore) {
      keystore = await keystoreFromBundle(unb64(bundleB64, "bundle"));
      memoryKeystores.set(bundleB64, keystore);
    }
    return keystore;
  }

  // {bundle, method, request?} -> {response}: the SDK's InMemoryKeystore, protobuf in and out.
  async function memoryKeystoreCall(p) {
    const { keystoreApiDefs } = await xmtp();
    const method = reqStr(p.method, "method");
    const rpc = keystoreApiDefs[method];
    if (!rpc) throw new Error(`unknown keystore method ${method}`);
    const keystore = await memoryKeystore(reqStr(p.bundle, "bundle"));
    const request = rpc.req ? rpc.req.decode(unb64(p.request ?? "", "request")) : undefined;
    const response = await keystore[method](request);
    return { response: b64(rpc.res.encode(response).finish()) };
  }

  async function memoryKeystoreForget(p) {
    memoryKeystores.delete(reqStr(p.bundle, "bundle"));
    return {};
  }

  function entry(p) {
    const name = reqStr(p.client_name, "client_name");
    const found = liveClients.get(name);
    if (!found) throw new Error(`no client named ${name}`);
    return { name, found };
  }

  async function streamStart(p) {
    const { name, found } = entry(p);
    const collected = { messages: [], error: null };
    streams.set(name, collected);
    const stream = await found.client.conversations.streamAllMessages();
    collected.stream = stream;
    (async () => {
      try {
        for await (const m of stream) {
          collected.messages.push({
            text: typeof m.content === "string" ? m.content : null,
            sender_address: m.senderAddress,
            topic: m.contentTopic,
            sent_ns: toNanoString(m.sent),
          });
        }
      } catch (e) {
        collected.error = errorMessage(e);
      }
    })();
    return {};
  }

  // Wait (bounded) until `count` messages arrived on the stream, then hand them over.
  async function streamTake(p) {
    const { name } = entry(p);
    const collected = streams.get(name);
    if (!collected) throw new Error(`no stream for ${name}`);
    const count = p.count ?? 1;
    const deadline = Date.now() + (p.timeout_ms ?? 10000);
    while (collected.messages.length < count && !collected.error && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const messages = collected.messages.splice(0, collected.messages.length);
    return { messages, error: collected.error };
  }

  async function streamStop(p) {
    const { name } = entry(p);
    const collected = streams.get(name);
    streams.delete(name);
    if (collected?.stream) await collected.stream.return();
    return {};
  }

  async function timeMedian(fn, iterations, warmup) {
    for (let i = 0; i < warmup; i++) await fn();
    const samples = [];
    for (let i = 0; i < iterations; i++) {
      const t0 = process.hrtime.bigint();
      await fn();
      samples.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    samples.sort((a, b) => a - b);
    const n = samples.length;
    return n % 2 ? samples[(n - 1) / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
  }

  // The same keystore operation timed on the SDK's in-process InMemoryKeystore ("memory") and
  // through CompanionKeystoreProvider over loopback ("companion"), in this one process.
  async function keystoreBench(p) {
    const x = await xmtp();
    const { PrivateKeyBundleV1, SignedPublicKeyBundle, StaticKeystoreProvider, dateToNs } = x;
    const bobBytes = unb64(reqStr(p.bob_bundle, "bob_bundle"), "bob_bundle");
    const companion = () =>
      new CompanionKeystoreProvider({ url: p.keystore_url, token: p.token, sdk: x });
    const keystores = {
      memory: await keystoreFromBundle(bobBytes),
      companion: await companion().newKeystore(),
    };
    const op = reqStr(p.op, "op");
    const iterations = p.iterations ?? 100;
    const warmup = p.warmup ?? 10;
    const result = {};
    if (op === "client_create") {
      const options = { env: "local", apiUrl: p.api_url, persistConversations: false,
        basePersistence: InMemoryPersistence.create(), skipContactPublishing: true, useSnaps: false };
      const make = {
        memory: () => Client.create(null, { ...options, privateKeyOverride: bobBytes,
          keystoreProviders: [new StaticKeystoreProvider()] }),
        companion: () => Client.create(null, { ...options, keystoreProviders: [companion()] }),
      };
      for (const [name, create] of Object.entries(make)) {
        result[name] = await timeMedian(async () => (await create()).close(), iterations, warmup);
      }
      return result;
    }
    if (op === "get_public_key_bundle") {
      for (const [name, keystore] of Object.entries(keystores)) {
        result[name] = await timeMedian(() => keystore.getPublicKeyBundle(), iterations, warmup);
      }
      return result;
    }
    const alice = await PrivateKeyBundleV1.generate(
      deps.makeSigner(deps.makeWalletClient(deps.randomKey())),
    );
    const aliceKeystore = await keystoreFromBundle(alice.encode());
    const recipient = SignedPublicKeyBundle.fromLegacyBundle(alice.getPublicKeyBundle());
    const createdNs = dateToNs(new Date());
    if (op === "decrypt_v2") {
      let topic;
      for (const keystore of Object.values(keystores)) {
        const { conversation } = await keystore.createInvite({
          recipient, createdNs, context: undefined, consentProof: undefined });
        topic = conversation.topic;
      }
      const headerBytes = new Uint8Array([10, 5, 104, 101, 108, 108, 111]);
      const payload = new Uint8Array(1024).fill(7);
      const { responses } = await keystores.memory.encryptV2({
        requests: [{ payload, headerBytes, contentTopic: topic }] });
      const item = { payload: responses[0].result.encrypted, headerBytes, contentTopic: topic };
      const batch = p.batch ?? 1;
      const request = { requests: Array.from({ length: batch }, () => item) };
      for (const [name, keystore] of Object.entries(keystores)) {
        result[name] = await timeMedian(async () => {
          const answer = await keystore.decryptV2(request);
          if (!answer.responses.every((r) => r.result)) throw new Error("decryptV2 failed");
        }, iterations, warmup);
      }
      return result;
    }
    if (op === "save_invites") {
      const bobKeys = await keystores.memory.getPublicKeyBundle();
      const bobSigned = SignedPublicKeyBundle.fromLegacyBundle(new x.PublicKeyBundle(bobKeys));
      const requests = [];
      for (let i = 0; i < (p.batch ?? 100); i++) {
        const { payload } = await aliceKeystore.createInvite({ recipient: bobSigned, createdNs,
          context: { conversationId: `bench/${i}`, metadata: {} }, consentProof: undefined });
        requests.push({ payload, timestampNs: createdNs, contentTopic: "" });
      }
      for (const [name, keystore] of Object.entries(keystores)) {
        result[name] = await timeMedian(async () => {
          const answer = await keystore.saveInvites({ requests });
          if (!answer.responses.every((r) => r.result)) throw new Error("saveInvites failed");
        }, iterations, warmup);
      }
      return result;
    }
    throw new Error(`unknown keystore bench op ${op}`);
  }

  // Consent (private preferences): selfEncrypt, the preferences topic, selfDecrypt.
  async function consentAllow(p) {
    const { found } = entry(p);
    await found.client.contacts.allow([reqStr(p.peer_address, "peer_address")]);
    return {};
  }

  async function consentState(p) {
    const { found } = entry(p);
    await found.client.contacts.refreshConsentList();
    return { state: found.client.contacts.consentState(reqStr(p.peer_address, "peer_address")) };
  }

  async function keystoreApiMethods() {
    return { methods: Object.keys((await xmtp()).keystoreApiDefs) };
  }

  return {
    keystore_api_methods: keystoreApiMethods,
    consent_allow: consentAllow,
    consent_state: consentState,
    keystore_bench: keystoreBench,
    companion_client_create: companionClientCreate,
    memory_keystore_call: memoryKeystoreCall,
    memory_keystore_forget: memoryKeystoreForget,
    stream_start: streamStart,
    stream_take: streamTake,
    stream_stop: streamStop,
  };
}
