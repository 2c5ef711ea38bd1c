// The signing key of the authorization server of oauth.test.mjs:
//
//     node oauth-keys.mjs DIR
//
// writes DIR/key.pem (an EC P-256 private key, which the test signs access
// tokens with) and DIR/jwks.json (its public half as a JSON Web Key Set,
// the file nginx's mcp_oauth_jwks reads).  scripts/test-mcp.sh runs it
// before it starts nginx.

import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node oauth-keys.mjs DIR');
  process.exit(2);
}

const { publicKey, privateKey } = generateKeyPairSync('ec', {
  namedCurve: 'P-256'
});

writeFileSync(`${dir}/key.pem`,
              privateKey.export({ type: 'pkcs8', format: 'pem' }),
              { mode: 0o600 });

const jwk = {
  ...publicKey.export({ format: 'jwk' }),
  kid: 'test-as-1',
  use: 'sig',
  alg: 'ES256'
};

writeFileSync(`${dir}/jwks.json`, JSON.stringify({ keys: [jwk] }) + '\n');
