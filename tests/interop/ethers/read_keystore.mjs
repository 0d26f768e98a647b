// Decrypts an Ethereum V3 keystore with ethers v6 (checks files our app writes).
//
// usage: node read_keystore.mjs KEYSTORE_FILE < request.json
// request.json: {"password": "…"}.  Prints {"address"} as JSON; exits 1 if it cannot decrypt.
import { readFileSync } from "node:fs";
import { decryptKeystoreJson } from "ethers";

const json = readFileSync(process.argv[2], "utf8");
const { password } = JSON.parse(readFileSync(0, "utf8"));
try {
  const account = await decryptKeystoreJson(json, password);
  process.stdout.write(JSON.stringify({ address: account.address }) + "\n");
} catch (error) {
  process.stderr.write(`${error.shortMessage ?? error.message}\n`);
  process.exit(1);
}
