/* Staffing registry hub: boots the locally served GraphiQL bundle (no CDN, no external URL).
 * The hub's own file, not from npm: the vendored assets are listed in SHA256SUMS.
 *
 * Every /graphql request needs `Authorization: Bearer <token>`. The token box above the editor keeps
 * the token in this browser's localStorage and the fetcher below sends it with each request (and in
 * the WebSocket connection_init for subscriptions); an Authorization header typed into GraphiQL's
 * Headers editor wins over the box for HTTP requests.
 */
(function () {
  'use strict';
  var STORAGE_KEY = 'hub.graphiql.token';
  var mount = document.getElementById('graphiql');
  var graphqlUrl = mount.getAttribute('data-graphql-url') || '/graphql';
  var form = document.getElementById('hub-token-form');
  var input = document.getElementById('hub-token');
  var forget = document.getElementById('hub-token-forget');
  var status = document.getElementById('hub-token-status');

  var DEFAULT_QUERY = [
    '# Staffing registry hub GraphiQL.',
    '# Paste a bearer token into the box above (hub token create --role ADMIN --name you),',
    '# press Enter, then run a query with Ctrl-Enter or the run button.',
    '',
    '{',
    '  units(first: 5) {',
    '    totalCount',
    '  }',
    '}',
    ''
  ].join('\n');

  function readToken() {
    try { return window.localStorage.getItem(STORAGE_KEY) || ''; } catch (e) { return ''; }
  }
  function writeToken(token) {
    try {
      if (token) window.localStorage.setItem(STORAGE_KEY, token);
      else window.localStorage.removeItem(STORAGE_KEY);
    } catch (e) { /* storage disabled: the token lasts for this page only */ }
  }

  // ws(s)://this-host/graphql for subscriptions (graphql-transport-ws); the token goes in connection_init.
  var wsUrl = new URL(graphqlUrl, window.location.href);
  wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';

  function makeFetcher(token) {
    return GraphiQL.createFetcher({
      url: graphqlUrl,
      subscriptionUrl: wsUrl.toString(),
      wsConnectionParams: token ? { Authorization: 'Bearer ' + token } : {},
      fetch: function (url, init) {
        var headers = new Headers(init.headers || {});   // Headers editor values are already in init.headers
        if (token && !headers.has('Authorization')) headers.set('Authorization', 'Bearer ' + token);
        return window.fetch(url, Object.assign({}, init, { headers: headers, credentials: 'omit' }));
      }
    });
  }

  var params = new URLSearchParams(window.location.search);
  var state = {
    query: params.get('query') || undefined,
    variables: params.get('variables') || undefined,
    operationName: params.get('operationName') || undefined
  };

  function updateUrl() {
    var p = new URLSearchParams();
    ['query', 'variables', 'operationName'].forEach(function (k) { if (state[k]) p.set(k, state[k]); });
    var qs = p.toString();
    window.history.replaceState(null, '', window.location.pathname + (qs ? '?' + qs : ''));
  }

  var root = ReactDOM.createRoot(mount);
  function render() {
    var token = readToken();
    status.textContent = token
      ? 'token set (…' + token.slice(-4) + ')'
      : 'no token: /graphql answers 401 until one is set';
    status.className = token ? 'hub-ok' : 'hub-warn';
    root.render(React.createElement(GraphiQL, {
      fetcher: makeFetcher(token),   // a new fetcher makes GraphiQL load the schema again
      defaultQuery: DEFAULT_QUERY,
      query: state.query,
      variables: state.variables,
      operationName: state.operationName,
      onEditQuery: function (q) { state.query = q; updateUrl(); },
      onEditVariables: function (v) { state.variables = v; updateUrl(); },
      onEditOperationName: function (n) { state.operationName = n; updateUrl(); },
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false
    }));
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    writeToken(input.value.trim().replace(/^bearer\s+/i, ''));
    input.value = '';
    render();
  });
  forget.addEventListener('click', function () {
    writeToken('');
    input.value = '';
    render();
  });
  render();
})();
