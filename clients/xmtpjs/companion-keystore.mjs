// CompanionKeystoreProvider: use the XMTP Key Companion as the keystore of an xmtp-js app.
//
//   import { Client } from "@xmtp/xmtp-js";
//   import { CompanionKeystoreProvider } from "./companion-keystore.mjs";
//   const keystore = new CompanionKeystoreProvider({ url: "http://127.0.0.1:PORT", token });
//   const client = await Client.create(null, { env: "production", keystoreProviders: [keystore] });
//
// Every Keystore method of xmtp-js 13 (`keystoreApiDefs`) becomes `POST <url>/keystore/v1/<method>`
// with the request's protobuf bytes and `Authorization: Bearer <token>`; the answer is the
// response's protobuf bytes, or JSON {code, message} with an HTTP error status. The private keys
// stay in the companion. Depends only on @xmtp/xmtp-js (and its @xmtp/proto).

async function loadSdk() {
  try {
    return await import("@xmtp/xmtp-js");
  } catch (error) {
    // Node 20 cannot import xmtp-js 13's ESM build (its @xmtp/proto uses extension-less
    // imports); its CommonJS build works. Resolve it from the running app's directory.
    if (typeof process === "undefined") throw error;
    const { createRequire } = await import("node:module");
    return createRequire(`${process.cwd()}/`)("@xmtp/xmtp-js");
  }
}

let sdkPromise;
function sdk(given) {
  if (given) return Promise.resolve(given);
  sdkPromise ??= loadSdk();
  return sdkPromise;
}

/** An HTTP refusal or a Keystore error answered by the companion. */
export class CompanionKeystoreError extends Error {
  constructor(method, status, code, message) {
    super(`companion keystore refused ${method}: ${message} (${code}, HTTP ${status})`);
    this.name = "CompanionKeystoreError";
    this.method = method;
    this.status = status;
    this.code = code;
  }
}

// One keep-alive agent for every provider in this process (connections are reused).
let transportPromise;
function nodeTransport() {
  transportPromise ??= import("node:http").then((http) => ({
    http,
    agent: new http.Agent({ keepAlive: true, maxSockets: 16 }),
  }));
  return transportPromise;
}

const PREFERENCES_METHODS = {
  save: "savePrivatePreferences",
  get: "getPrivatePreferences",
};

export class CompanionKeystoreProvider {
  /**
   * @param {{url: string, token: string, timeoutMs?: number, sdk?: object, fetch?: typeof fetch}} options
   *   url: the companion's address (`keystore listening on …`); token: this app's token
   *   (`xmtp-keys keystore allow NAME`, or the Apps screen); timeoutMs: per call (30 s).
   *   `sdk` overrides the xmtp-js module, `fetch` the transport.
   */
  constructor({ url, token, timeoutMs = 30000, sdk: sdkModule, fetch: fetchImpl } = {}) {
    if (typeof url !== "string" || !/^http:\/\/(127\.0\.0\.1|\[::1\]|localhost):\d+\/?$/.test(url)) {
      throw new Error("CompanionKeystoreProvider: url must be the companion's loopback address");
    }
    if (typeof token !== "string" || !token) {
      throw new Error("CompanionKeystoreProvider: token is required");
    }
    this.url = url.replace(/\/$/, "");
    this.token = token;
    this.timeoutMs = timeoutMs;
    this.sdkModule = sdkModule;
    this.fetch = fetchImpl;
  }

  // One POST: {status, bytes}. Under Node, a keep-alive node:http agent (a third of fetch's
  // per-request cost on loopback); elsewhere, or when `fetch` was given, fetch.
  async send(method, body) {
    const url = `${this.url}/keystore/v1/${method}`;
    const headers = { Authorization: `Bearer ${this.token}`, "Content-Type": "application/x-protobuf" };
    if (!this.fetch && globalThis.process?.versions?.node) {
      const { http, agent } = await nodeTransport();
      return new Promise((resolve, reject) => {
        const request = http.request(
          url,
          { method: "POST", agent, headers: { ...headers, "Content-Length": body.length } },
          (response) => {
            const chunks = [];
            response.on("data", (chunk) => chunks.push(chunk));
            response.on("end", () =>
              resolve({ status: response.statusCode, bytes: new Uint8Array(Buffer.concat(chunks)) }),
            );
            response.on("error", reject);
          },
        );
        request.on("error", reject);
        request.setTimeout(this.timeoutMs, () =>
          request.destroy(new Error(`companion keystore: no answer to ${method} in time`)),
        );
        request.end(body);
      });
    }
    const fetchImpl = this.fetch ?? globalThis.fetch;
    const signal = AbortSignal.timeout(this.timeoutMs);
    const response = await fetchImpl(url, { method: "POST", headers, body, signal });
    return { status: response.status, bytes: new Uint8Array(await response.arrayBuffer()) };
  }

  async post(method, body) {
    const { status, bytes } = await this.send(method, body ?? new Uint8Array(0));
    if (status !== 200) {
      let code = "http_error";
      let message = `HTTP ${status}`;
      try {
        const parsed = JSON.parse(new TextDecoder().decode(bytes));
        code = parsed.code ?? code;
        message = parsed.message ?? message;
      } catch {
        // not JSON: keep the status line
      }
      throw new CompanionKeystoreError(method, status, code, message);
    }
    return bytes;
  }

  // KeystoreProvider.newKeystore(opts, apiClient, wallet?): no wallet needed, no round trip.
  async newKeystore() {
    const xmtp = await sdk(this.sdkModule);
    const { keystoreApiDefs, PublicKeyBundle, buildContentTopic } = xmtp;
    const proto = await protoCodecs();
    const keystore = {};
    for (const [method, rpc] of Object.entries(keystoreApiDefs)) {
      keystore[method] = async (req) => {
        const body = rpc.req && req !== undefined ? rpc.req.encode(req).finish() : undefined;
        return rpc.res.decode(await this.post(method, body));
      };
    }
    // Consent actions (xmtp-js keeps them in the keystore object; the companion keeps them at
    // rest): loaded on first use. xmtp-js always saves (savePrivatePreferences) before it reads
    // them back with the synchronous getPrivatePreferences.
    const actions = new Map();
    let loading;
    const loaded = () => {
      loading ??= this.post(PREFERENCES_METHODS.get).then((bytes) => {
        for (const [key, value] of Object.entries(proto.ActionMap.decode(bytes).actions)) {
          if (!actions.has(key)) actions.set(key, value);
        }
      });
      return loading;
    };
    let address;
    let topic;
    const provider = this;
    return Object.assign(keystore, {
      async getAccountAddress() {
        address ??= new PublicKeyBundle(await keystore.getPublicKeyBundle()).walletSignatureAddress();
        return address;
      },
      async getPrivatePreferencesTopic() {
        if (!topic) {
          const { identifier } = await keystore.getPrivatePreferencesTopicIdentifier();
          topic = buildContentTopic(`userpreferences-${identifier}`);
        }
        return topic;
      },
      async createPrivatePreference(action) {
        await loaded();
        const { responses } = await keystore.selfEncrypt({
          requests: [{ payload: proto.Action.encode(action).finish() }],
        });
        const contentTopic = await this.getPrivatePreferencesTopic();
        const timestamp = new Date();
        return responses
          .filter((r) => r.result?.encrypted)
          .map((r) => ({ contentTopic, message: r.result.encrypted, timestamp }));
      },
      getPrivatePreferences() {
        return actions;
      },
      async savePrivatePreferences(data) {
        await loaded();
        const fresh = new Map();
        for (const [key, value] of data) {
          if (!actions.has(key)) fresh.set(key, value);
          actions.set(key, value);
        }
        if (fresh.size) {
          const body = proto.ActionMap.encode({ actions: Object.fromEntries(fresh) }).finish();
          await provider.post(PREFERENCES_METHODS.save, body);
        }
      },
    });
  }
}

// PrivatePreferencesActionMap / PrivatePreferencesAction codecs from @xmtp/proto (the copy
// xmtp-js itself uses, so that Long and bytes are of the same classes); resolved once.
let codecsPromise;
function protoCodecs() {
  codecsPromise ??= (async () => {
    let proto;
    try {
      proto = await import("@xmtp/proto");
    } catch (error) {
      if (typeof process === "undefined") throw error;
      const { createRequire } = await import("node:module");
      const fromApp = createRequire(`${process.cwd()}/`);
      const sdkPath = fromApp.resolve("@xmtp/xmtp-js");
      proto = fromApp(fromApp.resolve("@xmtp/proto", { paths: [sdkPath] }));
    }
    return {
      ActionMap: proto.keystore.PrivatePreferencesActionMap,
      Action: proto.privatePreferences.PrivatePreferencesAction,
    };
  })();
  return codecsPromise;
}
