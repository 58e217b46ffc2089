// PostGraphile v4 over the hub's PostgreSQL database, for bench/graphql_bench.py (comparison only).
// Usage: node server.js <postgres-url> <port>
// Library mode, the same as `postgraphile -c URL --schema public --port P --disable-graphiql`:
// one Node process, pg pool of 10 (the hub's pool is 10 + 10 overflow), no watch mode, no GraphiQL.
"use strict";
const http = require("http");
const { postgraphile } = require("postgraphile");

const [url, port] = process.argv.slice(2);
if (!url || !port) {
  console.error("usage: node server.js <postgres-url> <port>");
  process.exit(2);
}

const middleware = postgraphile(url, "public", {
  graphiql: false,
  watchPg: false,
  retryOnInitFail: false,
  disableQueryLog: true,
  extendedErrors: ["message"],
  // Default v4 behaviour: every foreign key gives a relation, indexes or not (ignoreIndexes: true).
  ignoreIndexes: true,
});

const server = http.createServer(middleware);
server.keepAliveTimeout = 65000;
server.listen(Number(port), "127.0.0.1", () => console.log(`postgraphile listening on ${port}`));

const stop = () => server.close(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
