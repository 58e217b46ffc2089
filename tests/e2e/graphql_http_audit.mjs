// Run the GraphQL-over-HTTP audit suite of the npm package `graphql-http` against a running hub.
//
//   node tests/e2e/graphql_http_audit.mjs <node_modules prefix> <graphql url> <bearer token>
//
// `graphql-http` is loaded from <prefix>/node_modules (installed there by tests/e2e/test_graphql_http_audit.py,
// `npm install --prefix <prefix> graphql-http@<pinned>`), so nothing is installed next to this file.
// Every request of the suite carries `Authorization: Bearer <token>`: the hub answers 401 without it.
// Prints one JSON document on stdout:
//   {"version": "...", "counts": {"ok": n, "notice": n, "warn": n, "error": n}, "results": [{id, name, status, reason?, ...}]}

import { createRequire } from 'node:module';
import path from 'node:path';

const [prefix, url, token] = process.argv.slice(2);
if (!prefix || !url || !token) {
  console.error('usage: node graphql_http_audit.mjs <node_modules prefix> <graphql url> <bearer token>');
  process.exit(2);
}

const require = createRequire(path.join(path.resolve(prefix), 'package.json'));
const { auditServer } = require('graphql-http');
const { version } = require('graphql-http/package.json');

function withToken(headers) {
  const merged = new Headers(headers || {});
  merged.set('authorization', `Bearer ${token}`);
  return merged;
}

const fetchFn = (input, init = {}) => fetch(input, { ...init, headers: withToken(init.headers) });

const results = await auditServer({ url, fetchFn });

const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
const out = [];
for (const result of results) {
  counts[result.status] = (counts[result.status] || 0) + 1;
  const entry = { id: result.id, name: result.name, status: result.status };
  if (result.status !== 'ok') {
    entry.reason = String(result.reason);
    const res = result.response;
    if (res) {
      entry.httpStatus = res.status;
      entry.contentType = res.headers.get('content-type');
      try {
        if (!res.bodyUsed) entry.body = (await res.text()).slice(0, 500);
      } catch {
        // the body was consumed by the audit or the stream is gone: status and type are enough
      }
    }
  }
  out.push(entry);
}

process.stdout.write(JSON.stringify({ version, counts, results: out }) + '\n');
process.exit(0);
