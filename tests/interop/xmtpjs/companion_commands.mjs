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

  return {
    companion_client_create: companionClientCreate,
    memory_keystore_call: memoryKeystoreCall,
    memory_keystore_forget: memoryKeystoreForget,
    stream_start: streamStart,
    stream_take: streamTake,
    stream_stop: streamStop,
  };
}
