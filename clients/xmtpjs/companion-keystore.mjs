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

const PREFERENCES_METHODS = {
  save: "savePrivatePreferences",
  get: "getPrivatePreferences",
};

export class CompanionKeystoreProvider {
  /**
   * @param {{url: string, token: string, sdk?: object, fetch?: typeof fetch}} options
   *   url: the companion's address (`keystore listening on …`); token: this app's token
   *   (`xmtp-keys keystore allow NAME`, or the Apps screen). `sdk` overrides the xmtp-js module.
   */
  constructor({ url, token, sdk: sdkModule, fetch: fetchImpl } = {}) {
    if (typeof url !== "string" || !/^http:\/\/(127\.0\.0\.1|\[::1\]|localhost):\d+\/?$/.test(url)) {
      throw new Error("CompanionKeystoreProvider: url must be the companion's loopback address");
    }
    if (typeof token !== "string" || !token) {
      throw new Error("CompanionKeystoreProvider: token is required");
    }
    this.url = url.replace(/\/$/, "");
    this.token = token;
    this.sdkModule = sdkModule;
    this.fetch = fetchImpl ?? ((...args) => globalThis.fetch(...args));
  }

  async post(method, body) {
    const response = await this.fetch(`${this.url}/keystore/v1/${method}`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${this.token}`,
        "Content-Type": "application/x-protobuf",
      },
      body: body ?? new Uint8Array(0),
    });
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (response.status !== 200) {
      let code = "http_error";
      let message = `HTTP ${response.status}`;
      try {
        const parsed = JSON.parse(new TextDecoder().decode(bytes));
        code = parsed.code ?? code;
        message = parsed.message ?? message;
      } catch {
        // not JSON: keep the status line
      }
      throw new CompanionKeystoreError(method, response.status, code, message);
    }
    return bytes;
  }

  // KeystoreProvider.newKeystore(opts, apiClient, wallet?): no wallet needed.
  async newKeystore() {
    const xmtp = await sdk(this.sdkModule);
    const { keystoreApiDefs, PublicKeyBundle, buildContentTopic } = xmtp;
    const keystore = {};
    for (const [method, rpc] of Object.entries(keystoreApiDefs)) {
      keystore[method] = async (req) => {
        const body = rpc.req && req !== undefined ? rpc.req.encode(req).finish() : undefined;
        return rpc.res.decode(await this.post(method, body));
      };
    }
    const proto = await protoCodecs(xmtp);
    const bundle = new PublicKeyBundle(await keystore.getPublicKeyBundle());
    const address = bundle.walletSignatureAddress();
    const saved = proto.ActionMap.decode(await this.post(PREFERENCES_METHODS.get));
    const actions = new Map(Object.entries(saved.actions));
    let topic;
    const provider = this;
    return Object.assign(keystore, {
      async getAccountAddress() {
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
// xmtp-js itself uses, so that Long and bytes are of the same classes).
async function protoCodecs(xmtp) {
  let proto;
  try {
    proto = await import("@xmtp/proto");
  } catch (error) {
    if (typeof process === "undefined") throw error;
    const { createRequire } = await import("node:module");
    const fromApp = createRequire(`${process.cwd()}/`);
    proto = fromApp(fromApp.resolve("@xmtp/proto", { paths: [fromApp.resolve("@xmtp/xmtp-js")] }));
  }
  void xmtp;
  return {
    ActionMap: proto.keystore.PrivatePreferencesActionMap,
    Action: proto.privatePreferences.PrivatePreferencesAction,
  };
}
