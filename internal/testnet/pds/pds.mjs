// Starts an @atproto/pds configured entirely from PDS_* environment variables
// (set by internal/testnet), listening on 127.0.0.1 only.
import { PDS, envToCfg, envToSecrets, readEnv } from '@atproto/pds'

const env = readEnv()
const pds = await PDS.create(envToCfg(env), envToSecrets(env))

// PDS.start() calls app.listen(port) with no host, which would bind every
// interface. app.listen is already wrapped by @atproto/xrpc-server to attach
// the websocket upgrade handler (subscribeRepos), so wrap it again rather than
// replacing it, and only add the host.
const listen = pds.app.listen
pds.app.listen = function (port, ...rest) {
  return listen.call(this, port, '127.0.0.1', ...rest)
}

await pds.start()
console.log(`pds listening on http://127.0.0.1:${env.port}`)

const stop = async () => {
  try {
    await pds.destroy()
  } finally {
    process.exit(0)
  }
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
