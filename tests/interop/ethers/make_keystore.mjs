// Writes an Ethereum V3 keystore made by ethers v6 (an implementation independent of ours).
//
// usage: node make_keystore.mjs OUT_FILE < request.json
// request.json: {"privateKey": "0x…", "password": "…", "scryptN": 4096}
// The key and password come on stdin (never argv).  Prints {"address", "version"} as JSON.
import { readFileSync, writeFileSync } from "node:fs";
import { Wallet, encryptKeystoreJson, version } from "ethers";

const out = process.argv[2];
if (!out) {
  process.stderr.write("usage: node make_keystore.mjs OUT_FILE < request.json\n");
  process.exit(2);
}
const request = JSON.parse(readFileSync(0, "utf8"));
const wallet = new Wallet(request.privateKey);
const options = request.scryptN ? { scrypt: { N: request.scryptN } } : {};
const json = await encryptKeystoreJson(
  { address: wallet.address, privateKey: wallet.privateKey },
  request.password,
  options,
);
writeFileSync(out, json, { mode: 0o600 });
process.stdout.write(JSON.stringify({ address: wallet.address, version }) + "\n");
