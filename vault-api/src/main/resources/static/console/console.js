'use strict';
// The hds-vault console (docs/console.md): a static page whose data all comes from the vault's API,
// asked with the user's own token, so that the vault decides what each role sees. Every text the
// API returns is placed with textContent, never parsed as HTML.

const TOKEN_KEY = 'hds-vault-token';
const ROLE_CLAIM_KEY = 'hds-vault-role-claim';
const PKCE_KEY = 'hds-vault-pkce';
const VIEWS = {
  auditor: [['trail', 'Audit trail'], ['alerts', 'Alerts'], ['evidence', 'Evidence report']],
  operator: [['backups', 'Backups'], ['drills', 'Restore drills']],
  patient: [['accesses', 'Who accessed my record']],
};
const ALERT_SYSTEM = 'urn:hds-vault:alert';

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v; else if (k.startsWith('on')) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
    if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function claims(token) {
  const part = token.split('.')[1];
  if (!part) throw new Error('not a JWT');
  const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, c => c.charCodeAt(0))));
}

async function api(path, options) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = {'Authorization': 'Bearer ' + token, 'Accept': 'application/fhir+json, application/json'};
  const response = await fetch(path, Object.assign({headers, cache: 'no-store', credentials: 'omit'}, options || {}));
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
  if (!response.ok) {
    const why = body && body.issue && body.issue[0] && body.issue[0].diagnostics;
    throw new Error('the vault answered ' + response.status + (why ? ': ' + why : ''));
  }
  return body;
}

function show(...nodes) {
  const view = document.getElementById('view');
  view.replaceChildren(...nodes);
}

function failure(e) {
  return el('p', {class: 'error', role: 'alert'}, e.message);
}

function table(headings, rows) {
  return el('table', {}, el('thead', {}, el('tr', {}, headings.map(h => el('th', {}, h)))), el('tbody', {}, rows));
}

// --- Audit events --------------------------------------------------------------------------

function agentOf(event) {
  const who = (event.agent || []).map(a => (a.who && (a.who.identifier && a.who.identifier.value || a.who.reference || a.who.display))
    || (a.name || '')).filter(Boolean);
  return who.join(', ');
}

function entitiesOf(event) {
  return (event.entity || []).map(e => e.what && (e.what.reference || (e.what.identifier && e.what.identifier.value))).filter(Boolean)
    .join(', ');
}

function isBreakGlass(event) {
  return (event.purposeOfEvent || []).some(p => (p.coding || []).some(c => c.code === 'BTG'));
}

function isAlert(event) {
  return event.type && event.type.system === ALERT_SYSTEM;
}

function subtypeOf(event) {
  return (event.subtype || []).map(s => s.display || s.code).join(', ');
}

const OUTCOMES = {'0': 'success', '4': 'minor failure', '8': 'serious failure', '12': 'major failure'};

function marks(event) {
  return [isBreakGlass(event) ? el('span', {class: 'mark', 'data-mark': 'break-glass'}, 'break-glass') : null,
    isAlert(event) ? el('span', {class: 'mark', 'data-mark': 'alert'}, 'security alert') : null];
}

function eventRows(bundle, onSelect) {
  return (bundle.entry || []).map(entry => {
    const e = entry.resource;
    const row = el('tr', {class: onSelect ? 'selectable' : '', 'data-id': e.id},
      el('td', {}, e.recorded || ''), el('td', {}, (e.type && (e.type.display || e.type.code)) || '', ' ', subtypeOf(e)),
      el('td', {}, e.action || ''), el('td', {}, OUTCOMES[e.outcome] || e.outcome || ''), el('td', {}, agentOf(e)),
      el('td', {}, entitiesOf(e)), el('td', {}, marks(e)));
    if (onSelect) row.addEventListener('click', () => onSelect(e));
    return row;
  });
}

const EVENT_HEADINGS = ['Recorded', 'Type', 'Action', 'Outcome', 'Agent', 'Entities', ''];

function pager(bundle, load) {
  const next = (bundle.link || []).find(l => l.relation === 'next');
  if (!next) return null;
  const url = new URL(next.url, location.href);
  return el('button', {type: 'button', id: 'next-page', onclick: () => load(url.pathname + url.search)}, 'Next page');
}

// --- The auditor's views -------------------------------------------------------------------

function trailView() {
  const input = (name, label, type) => el('label', {}, label, el('input', {name, type: type || 'text'}));
  const select = (name, label, options) => el('label', {}, label,
    el('select', {name}, el('option', {value: ''}, 'any'), Object.entries(options).map(([v, t]) => el('option', {value: v}, t))));
  const results = el('div', {id: 'results'});
  const detail = el('div', {id: 'detail'});
  const form = el('form', {class: 'filters', id: 'filters'},
    input('patient', 'Patient id'), input('agent', 'Agent'),
    select('action', 'Action', {C: 'create', R: 'read', U: 'update', D: 'delete', E: 'execute'}),
    select('outcome', 'Outcome', OUTCOMES), input('from', 'From', 'date'), input('to', 'To', 'date'),
    el('button', {type: 'submit', id: 'search'}, 'Search'));
  const load = async path => {
    results.replaceChildren(el('p', {}, 'Loading...'));
    try {
      const bundle = await api(path);
      results.replaceChildren(el('p', {}, (bundle.total !== undefined ? bundle.total + ' events' : '')),
        table(EVENT_HEADINGS, eventRows(bundle, e => showEvent(e, detail))), pager(bundle, load) || '');
    } catch (e) {
      results.replaceChildren(failure(e));
    }
  };
  form.addEventListener('submit', ev => {
    ev.preventDefault();
    const f = new FormData(form);
    const q = new URLSearchParams({_count: '20', _sort: '-date'});
    if (f.get('patient')) q.append('patient', 'Patient/' + f.get('patient'));
    for (const k of ['agent', 'action', 'outcome']) if (f.get(k)) q.append(k, f.get(k));
    if (f.get('from')) q.append('date', 'ge' + f.get('from'));
    if (f.get('to')) q.append('date', 'le' + f.get('to'));
    load('/fhir/AuditEvent?' + q);
  });
  show(el('h2', {}, 'Audit trail'), form, results, detail);
  load('/fhir/AuditEvent?_count=20&_sort=-date');
}

function showEvent(e, detail) {
  const proof = el('p', {id: 'proof'});
  const fields = [['Position in the log', e.id], ['Recorded', e.recorded], ['Type', (e.type && e.type.display) || ''],
    ['Subtype', subtypeOf(e)], ['Action', e.action], ['Outcome', (OUTCOMES[e.outcome] || e.outcome) + (e.outcomeDesc ? ': '
      + e.outcomeDesc : '')], ['Agent', agentOf(e)], ['Entities', entitiesOf(e)],
    ['Source', e.source && e.source.observer && e.source.observer.display], ['Break-glass', isBreakGlass(e) ? 'yes' : 'no']];
  detail.replaceChildren(el('div', {class: 'detail'}, el('h3', {}, 'Event ' + e.id),
    el('dl', {}, fields.map(([k, v]) => [el('dt', {}, k), el('dd', {}, v === undefined || v === null ? '' : v)])),
    el('button', {type: 'button', id: 'check-proof', onclick: () => checkInclusion(e.id, proof)}, 'Check its inclusion proof'),
    proof));
}

const b64 = s => Uint8Array.from(atob(s), c => c.charCodeAt(0));

async function nodeHash(left, right) {
  const data = new Uint8Array(1 + left.length + right.length);
  data[0] = 1;
  data.set(left, 1);
  data.set(right, 1 + left.length);
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data));
}

// RFC 9162, section 2.1.3.2: the root an inclusion proof leads to from a leaf hash.
async function rootFromProof(index, size, leafHash, proof) {
  let fn = index, sn = size - 1, r = leafHash;
  for (const p of proof) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

async function checkInclusion(id, out) {
  out.className = '';
  out.textContent = 'Checking...';
  try {
    const checkpoint = (await api('/admin/audit/checkpoints?limit=1'))[0];
    let size = checkpoint ? checkpoint.treeSize : 0;
    if (Number(id) >= size) throw new Error('the event is not under a signed checkpoint yet: try again in a few seconds');
    const p = await api('/admin/audit/proof/inclusion?index=' + encodeURIComponent(id) + '&treeSize=' + size);
    const root = await rootFromProof(Number(id), size, b64(p.leafHash), p.proof.map(b64));
    const expected = b64(checkpoint.rootHash);
    const ok = root !== null && root.length === expected.length && root.every((b, i) => b === expected[i]);
    out.className = ok ? 'pass' : 'fail';
    out.textContent = ok ? 'Verified in this browser: the event\'s leaf and its ' + p.proof.length + ' proof hashes give the root of '
      + 'the checkpoint signed at tree size ' + size + ' (' + checkpoint.createdAt + ').'
      : 'FAILED: the proof does not lead to the signed checkpoint\'s root.';
  } catch (e) {
    out.className = 'error';
    out.textContent = e.message;
  }
}

async function alertsView() {
  show(el('h2', {}, 'Security alerts'), el('p', {}, 'Loading...'));
  try {
    const bundle = await api('/fhir/AuditEvent?subtype=' + encodeURIComponent(ALERT_SYSTEM + '|') + '&_count=50&_sort=-date');
    const rows = (bundle.entry || []).map(({resource: e}) => el('tr', {'data-rule': (e.subtype || [{}])[0].code},
      el('td', {}, e.recorded || ''), el('td', {}, subtypeOf(e)), el('td', {}, agentOf(e)), el('td', {}, e.outcomeDesc || '')));
    show(el('h2', {}, 'Security alerts'), el('p', {}, (bundle.entry || []).length + ' alerts, newest first'),
      table(['Raised', 'Rule', 'Agent', 'What was measured'], rows));
  } catch (e) {
    show(el('h2', {}, 'Security alerts'), failure(e));
  }
}

function evidenceView() {
  const out = el('div', {id: 'evidence'});
  const run = async () => {
    out.replaceChildren(el('p', {}, 'Running the vault\'s checks...'));
    try {
      const signed = await api('/admin/audit/evidence', {method: 'POST'});
      const report = JSON.parse(signed.certificate);
      const rows = report.checks.map(c => el('tr', {'data-check': c.id}, el('td', {}, c.requirement),
        el('td', {class: c.passed ? 'pass' : 'fail'}, c.passed ? 'PASS' : 'FAIL'), el('td', {}, c.result), el('td', {}, c.method)));
      const file = new Blob([JSON.stringify(signed)], {type: 'application/json'});
      out.replaceChildren(el('p', {}, report.passed + ' of ' + report.checks.length + ' checks passed, ' + report.generatedAt
        + '. Signed by the vault\'s audit key; its SHA-256 is in the audit trail.'),
        table(['Requirement', 'Result', 'Found', 'How'], rows),
        el('p', {class: 'hint'}, 'TLS, access control and traceability are checked from outside by vault evidence, '
          + 'which signs all ten into one report.'),
        el('a', {href: URL.createObjectURL(file), download: 'evidence-' + report.generatedAt + '.json', id: 'download'},
          'Download the signed report'));
    } catch (e) {
      out.replaceChildren(failure(e));
    }
  };
  show(el('h2', {}, 'Evidence report'), el('button', {type: 'button', id: 'run-evidence', onclick: run}, 'Run the vault\'s checks'),
    out);
}

// --- The operator's views ------------------------------------------------------------------

async function backupsView() {
  show(el('h2', {}, 'Backup sets'), el('p', {}, 'Loading...'));
  try {
    const sets = await api('/admin/backups');
    show(el('h2', {}, 'Backup sets'), el('p', {}, sets.length + ' sets'), table(['Set', 'Status', 'Started', 'Point in time',
      'Objects', 'Bytes'], sets.map(s => el('tr', {'data-set': s.id}, el('td', {}, s.id), el('td', {}, s.status),
      el('td', {}, s.startedAt || ''), el('td', {}, s.pointInTime || ''), el('td', {}, s.objects === null ? '' : s.objects),
      el('td', {}, s.bytes === null ? '' : s.bytes)))));
  } catch (e) {
    show(el('h2', {}, 'Backup sets'), failure(e));
  }
}

function chart(drills) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = (tag, attrs, text) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const done = drills.filter(d => d.finishedAt && d.rtoSeconds !== null).reverse();
  const w = 640, h = 220, m = 40;
  const root = svg('svg', {class: 'chart', id: 'rto-rpo-chart', width: w, height: h, viewBox: '0 0 ' + w + ' ' + h,
    role: 'img', 'aria-label': 'RTO and RPO of each drill'});
  if (done.length === 0) {
    root.append(svg('text', {x: m, y: h / 2}, 'No finished drill yet'));
    return root;
  }
  const max = Math.max(...done.map(d => Math.max(d.rtoSeconds || 0, d.rpoSeconds || 0)), 1);
  const x = i => m + (done.length === 1 ? (w - 2 * m) / 2 : i * (w - 2 * m) / (done.length - 1));
  const y = v => h - m - (v / max) * (h - 2 * m);
  root.append(svg('line', {x1: m, y1: h - m, x2: w - m, y2: h - m, stroke: '#333'}),
    svg('line', {x1: m, y1: m, x2: m, y2: h - m, stroke: '#333'}),
    svg('text', {x: 4, y: m - 6}, max.toFixed(1) + ' s'), svg('text', {x: 4, y: h - m}, '0'),
    svg('text', {x: m, y: h - 8}, done[0].finishedAt.slice(0, 16)),
    svg('text', {x: w - m - 110, y: h - 8}, done[done.length - 1].finishedAt.slice(0, 16)),
    svg('text', {x: w - 150, y: 16, class: 'legend-rto'}, 'RTO (restore time)'),
    svg('text', {x: w - 150, y: 30, class: 'legend-rpo'}, 'RPO (data age)'));
  for (const [key, cls] of [['rtoSeconds', 'rto'], ['rpoSeconds', 'rpo']]) {
    const points = done.map((d, i) => x(i) + ',' + y(d[key] || 0)).join(' ');
    root.append(svg('polyline', {class: cls, points}));
    done.forEach((d, i) => root.append(svg('circle', {cx: x(i), cy: y(d[key] || 0), r: 3, class: cls})));
  }
  return root;
}

async function drillsView() {
  show(el('h2', {}, 'Restore drills'), el('p', {}, 'Loading...'));
  try {
    const drills = await api('/admin/restore-drills?limit=100');
    const rows = drills.map(d => el('tr', {'data-drill': d.id}, el('td', {}, d.id), el('td', {class: d.status === 'passed' ? 'pass'
        : d.status === 'failed' ? 'fail' : ''}, d.status), el('td', {}, d.finishedAt || ''), el('td', {}, d.backupId || ''),
      el('td', {}, d.rtoSeconds === null ? '' : d.rtoSeconds.toFixed(1) + ' s (target ' + d.rtoTargetSeconds + ' s)'),
      el('td', {}, d.rpoSeconds === null ? '' : d.rpoSeconds.toFixed(1) + ' s (target ' + d.rpoTargetSeconds + ' s)'),
      el('td', {}, d.failures.length)));
    show(el('h2', {}, 'Restore drills'), el('p', {}, 'RTO and RPO over time, oldest to newest:'), chart(drills),
      table(['Drill', 'Status', 'Finished', 'Backup set', 'RTO', 'RPO', 'Failures'], rows));
  } catch (e) {
    show(el('h2', {}, 'Restore drills'), failure(e));
  }
}

// --- The patient's view --------------------------------------------------------------------

async function accessesView(patient) {
  const title = el('h2', {}, 'Who accessed my record');
  show(title, el('p', {}, 'Loading...'));
  try {
    const bundle = await api('/fhir/AuditEvent?patient=' + encodeURIComponent('Patient/' + patient) + '&_count=50&_sort=-date');
    show(title, el('p', {}, 'Every access to your record, and every attempt, newest first. Break-glass marks an emergency '
      + 'access outside the usual rights; a security alert is raised by the vault itself.'),
      table(EVENT_HEADINGS, eventRows(bundle, null)), pager(bundle, async path => {
        const more = await api(path);
        document.querySelector('#view tbody').append(...eventRows(more, null));
      }) || '');
  } catch (e) {
    show(title, failure(e));
  }
}

// --- Session -------------------------------------------------------------------------------

function start() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const login = document.getElementById('login');
  const tabs = document.getElementById('tabs');
  if (!token) {
    login.hidden = false;
    tabs.hidden = true;
    document.getElementById('logout').hidden = true;
    document.getElementById('who').textContent = '';
    show();
    return;
  }
  let c;
  try {
    c = claims(token);
  } catch (e) {
    sessionStorage.removeItem(TOKEN_KEY);
    document.getElementById('login-error').textContent = 'That is not a token.';
    return start();
  }
  const role = c[sessionStorage.getItem(ROLE_CLAIM_KEY) || 'vault_role'] || c.role || '';
  login.hidden = true;
  document.getElementById('logout').hidden = false;
  document.getElementById('who').textContent = (c.sub || '') + ' (' + role + ')';
  const views = VIEWS[role];
  if (!views) {
    tabs.hidden = true;
    show(el('p', {class: 'error', id: 'not-for-role'}, 'This console is for the security officer (auditor role), operators and '
      + 'patients; the ' + role + ' role has none of its pages.'));
    return;
  }
  const open = {trail: trailView, alerts: alertsView, evidence: evidenceView, backups: backupsView, drills: drillsView,
    accesses: () => accessesView(c.patient)};
  tabs.replaceChildren(...views.map(([id, label]) => el('button', {type: 'button', id: 'tab-' + id, onclick: ev => {
    tabs.querySelectorAll('button').forEach(b => b.classList.remove('active'));
    ev.target.classList.add('active');
    open[id]();
  }}, label)));
  tabs.hidden = false;
  tabs.querySelector('button').click();
}

// --- Login at the identity provider: authorization code with PKCE (RFC 7636) ------------------

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function redirectUri() {
  return location.origin + '/console/index.html';
}

async function loginAtProvider(config) {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({verifier, state}));
  const url = new URL(config.authorizationEndpoint); // its own query, if any (some providers name a policy there), is kept
  Object.entries({response_type: 'code', client_id: config.clientId, redirect_uri: redirectUri(), scope: config.scope, state,
    code_challenge: challenge, code_challenge_method: 'S256'}).forEach(([k, v]) => url.searchParams.set(k, v));
  location.assign(url.toString());
}

// Back from the provider with ?code=&state=: the code is exchanged for a token once, for this tab's verifier only.
async function finishLogin(config) {
  const params = new URLSearchParams(location.search);
  if (!params.has('code') && !params.has('error')) return;
  history.replaceState(null, '', location.pathname);
  const pending = JSON.parse(sessionStorage.getItem(PKCE_KEY) || 'null');
  sessionStorage.removeItem(PKCE_KEY);
  const error = document.getElementById('login-error');
  if (params.has('error')) {
    error.textContent = 'The identity provider refused the login: ' + params.get('error');
    return;
  }
  if (!pending || pending.state !== params.get('state')) {
    error.textContent = 'This login was not started from this tab; start again.';
    return;
  }
  const r = await fetch(config.tokenEndpoint, {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'},
    body: new URLSearchParams({grant_type: 'authorization_code', code: params.get('code'), redirect_uri: redirectUri(),
      client_id: config.clientId, code_verifier: pending.verifier}).toString()});
  const answer = r.ok ? await r.json() : null;
  if (!answer || !answer.access_token) {
    error.textContent = 'The identity provider did not issue a token (HTTP ' + r.status + ').';
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, answer.access_token);
  sessionStorage.setItem(ROLE_CLAIM_KEY, config.roleClaim);
}

async function boot() {
  let config = {};
  try {
    const r = await fetch('/console/login.json');
    if (r.ok) config = await r.json();
  } catch (e) { /* the pasted token still works */ }
  if (config.authorizationEndpoint) {
    const button = document.getElementById('provider-login');
    button.hidden = false;
    button.addEventListener('click', () => loginAtProvider(config).catch(e => {
      document.getElementById('login-error').textContent = 'The login could not be started: ' + e.message;
    }));
    await finishLogin(config).catch(e => {
      document.getElementById('login-error').textContent = 'The login could not be finished: ' + e.message;
    });
  }
  start();
}

document.getElementById('login-form').addEventListener('submit', ev => {
  ev.preventDefault();
  const token = document.getElementById('token').value.trim();
  document.getElementById('token').value = '';
  document.getElementById('login-error').textContent = '';
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  sessionStorage.removeItem(ROLE_CLAIM_KEY);
  start();
});
document.getElementById('logout').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(ROLE_CLAIM_KEY);
  start();
});
boot();
