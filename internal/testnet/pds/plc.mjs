// Starts a did:plc directory (@did-plc/server) with an in-memory database,
// listening on 127.0.0.1 only. Started by internal/testnet with PLC_PORT set.
import { PlcServer, Database } from '@did-plc/server'

const port = Number(process.env.PLC_PORT)
if (!port) throw new Error('PLC_PORT is required')

const plc = PlcServer.create({ db: Database.mock(), port })

// PlcServer.start() calls app.listen(port) with no host, which would bind every
// interface: pin it to loopback.
const listen = plc.app.listen
plc.app.listen = function (p, ...rest) {
  return listen.call(this, p, '127.0.0.1', ...rest)
}

await plc.start()
console.log(`plc listening on http://127.0.0.1:${port}`)

const stop = async () => {
  try {
    await plc.destroy()
  } finally {
    process.exit(0)
  }
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
