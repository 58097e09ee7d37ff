// BCR block explorer: a read-only single page over the node's JSON-RPC (same origin) and its
// WebSocket (new heads, live). Every value from the node is put in the page as text, never as markup.
import { ago, bcrExact, bcrRounded, blocksPerMinute, bytesText, sharesOfBlocks, slotText, utc } from './format.js';
import { barChart, groupedBarChart } from './charts.js';

const view = document.getElementById('view');
const headLink = document.getElementById('head-height');
const liveState = document.getElementById('live-state');
const HISTORY_BLOCKS = 300;
const LATEST_BLOCKS = 15;
/** The home page's charts read this many recent headers, and show blocks per minute for this many minutes. */
const CHART_BLOCKS = 600;
const CHART_MINUTES = 10;

// ---- JSON-RPC ----

let nextId = 1;

async function rpc(method, params = []) {
  const response = await fetch('/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }) });
  const body = await response.json();
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/** Several calls in one request; each answer is its result or an Error. */
async function batch(calls) {
  if (calls.length === 0) return [];
  const first = nextId;
  nextId += calls.length;
  const response = await fetch('/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(calls.map(([method, params], i) => ({ jsonrpc: '2.0', id: first + i, method, params }))) });
  const answers = await response.json();
  const byId = new Map((Array.isArray(answers) ? answers : [answers]).map((a) => [a.id, a]));
  return calls.map((_, i) => {
    const a = byId.get(first + i);
    return !a ? new Error('no answer') : a.error ? new Error(a.error.message) : a.result;
  });
}

// ---- DOM helpers (text only) ----

function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === 'class') el.className = value;
    else if (key === 'href') el.setAttribute('href', value);
    else if (key === 'testid') el.dataset.testid = value;
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

const link = (href, text, props = {}) => h('a', { href, ...props }, text);
const short = (hex) => (hex && hex.length > 18 ? `${hex.slice(0, 10)}…${hex.slice(-6)}` : hex);
const blockLink = (idOrHeight, text) => link(`#/block/${idOrHeight}`, text ?? String(idOrHeight));
const txLink = (id) => link(`#/tx/${id}`, short(id), { class: 'mono' });
const accountLink = (address) => (address ? link(`#/account/${address}`, short(address), { class: 'mono', title: address }) : '—');
const minerLink = (id) => link(`#/miner/${id}`, `miner ${id}`);

/** A time as "12 s ago" (kept current), the exact UTC time as its tooltip; `withDate` shows both. */
function when(ms, withDate = false) {
  const el = h('span', { class: 'ago', title: utc(ms) });
  el.dataset.ms = String(ms);
  el.dataset.withDate = withDate ? '1' : '';
  renderAgo(el, Date.now());
  return el;
}

function renderAgo(el, now) {
  const relative = ago(Number(el.dataset.ms), now);
  el.textContent = el.dataset.withDate ? `${utc(Number(el.dataset.ms))} (${relative})` : relative;
}

setInterval(() => {
  const now = Date.now();
  for (const el of document.querySelectorAll('.ago')) renderAgo(el, now);
}, 1000);

/** An amount in atto as BCR, rounded for reading, the exact figure as its tooltip (data-atto holds the atto). */
function bcr(atto, sign = '') {
  if (atto === undefined || atto === null) return '—';
  const el = h('span', { class: 'amount', title: bcrExact(atto) }, `${sign}${bcrRounded(atto)}`);
  el.dataset.atto = String(atto);
  return el;
}

function fields(entries) {
  const dl = h('dl', { class: 'fields' });
  for (const [label, value, testid] of entries) {
    dl.append(h('dt', {}, label), h('dd', { testid }, value ?? '—'));
  }
  return dl;
}

function table(headers, rows, testid) {
  return h('table', { testid }, h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))), h('tbody', {}, rows));
}

const card = (label, value, testid) => h('div', { class: 'card' }, h('div', { class: 'label' }, label), h('div', { class: 'value', testid }, value));
const status = (s) => h('span', { class: s === 'ok' ? 'ok' : 'failed', testid: 'status' }, s);

function show(...nodes) {
  view.replaceChildren(...nodes.flat().filter(Boolean));
}

// ---- live head over the WebSocket ----

let head = null;
const headListeners = new Set();

function connectLive() {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`);
  ws.addEventListener('open', () => {
    liveState.textContent = 'live';
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'bcr_subscribe', params: ['newHeads'] }));
  });
  ws.addEventListener('message', (event) => {
    const message = JSON.parse(event.data);
    if (message.method !== 'bcr_subscription') return;
    setHead(message.params.result);
  });
  ws.addEventListener('close', () => {
    liveState.textContent = 'reconnecting';
    setTimeout(connectLive, 2000);
  });
}

function setHead(next) {
  if (head && next.height <= head.height && next.id === head.id) return;
  head = next;
  headLink.textContent = String(next.height);
  headLink.setAttribute('href', `#/block/${next.height}`);
  for (const listener of headListeners) listener(next);
}

// ---- pages ----

async function homePage(show) {
  const [chainHead, supply, power, syncStatus] = await Promise.all([rpc('bcr_chainHead'), rpc('bcr_supply'), rpc('bcr_getPowerTable'), rpc('bcr_syncStatus').catch(() => null)]);
  setHead(chainHead);
  const heightCard = card('head height', String(chainHead.height), 'home-height');
  const finalCard = card('finalized', String(chainHead.finalizedHeight ?? '—'));
  const rows = h('tbody');
  const latest = table(['height', 'block', 'miner', 'txs', 'time'], [], 'latest-blocks');
  latest.replaceChild(rows, latest.querySelector('tbody'));
  const row = (b) => h('tr', { testid: `block-row-${b.height}` }, h('td', {}, blockLink(b.height)), h('td', {}, link(`#/block/${b.id}`, short(b.id), { class: 'mono' })), h('td', {}, minerLink(b.miner)), h('td', {}, String(b.txCount ?? '')), h('td', { class: 'muted' }, when(b.timestamp)));
  const heights = [];
  for (let x = chainHead.height; x > Math.max(0, chainHead.height - LATEST_BLOCKS); x--) heights.push(x);
  const blocks = await batch(heights.map((x) => ['bcr_getBlockByHeight', [x, false]]));
  for (const b of blocks) if (b && !(b instanceof Error)) rows.append(row(b));
  const onHead = async (next) => {
    heightCard.querySelector('.value').textContent = String(next.height);
    const current = await rpc('bcr_chainHead').catch(() => null);
    if (current) finalCard.querySelector('.value').textContent = String(current.finalizedHeight);
    // Every block since the newest row shown (heads can come faster than a page loads), oldest first.
    const top = Number(rows.firstChild?.dataset.testid?.slice('block-row-'.length) ?? next.height - 1);
    const missing = [];
    for (let x = Math.max(top + 1, next.height - LATEST_BLOCKS + 1); x <= next.height; x++) missing.push(x);
    for (const block of await batch(missing.map((x) => ['bcr_getBlockByHeight', [x, false]]))) {
      if (!block || block instanceof Error || rows.querySelector(`[data-testid="block-row-${block.height}"]`)) continue;
      const tr = row(block);
      tr.classList.add('new');
      rows.prepend(tr);
    }
    while (rows.children.length > LATEST_BLOCKS) rows.lastChild.remove();
  };
  const isolated = syncStatus?.isolatedSeconds;
  const charts = h('div', { class: 'charts', testid: 'home-charts' });
  show(
    h('h1', {}, 'Chain'),
    isolated != null ? h('p', { class: 'error', testid: 'isolated-warning' }, `This node has had no peer for ${isolated} s although it knows of others: it may be on a fork of its own.`) : null,
    h('div', { class: 'cards' }, heightCard, finalCard, card('miners', String(power.miners.length)), card('network power', bytesText(power.total)), card('circulating', bcrRounded(supply.circulating)), card('minted', bcrRounded(supply.minted))),
    charts,
    h('h2', {}, 'Latest blocks'),
    latest,
  );
  // Charts from the last CHART_BLOCKS headers (one batched request), drawn once they arrive.
  const chartHeights = [];
  for (let x = chainHead.height; x > Math.max(0, chainHead.height - CHART_BLOCKS); x--) chartHeights.push(x);
  // (Not awaited: the page follows new heads from now on, and the charts appear when drawn.)
  void batch(chartHeights.map((x) => ['bcr_getBlockByHeight', [x, false]])).then((answers) => {
    const recent = answers.filter((b) => b && !(b instanceof Error));
    const perMinute = blocksPerMinute(recent.map((b) => b.timestamp), Date.now(), CHART_MINUTES);
    const shares = sharesOfBlocks(recent, power.miners);
    charts.append(
      barChart(perMinute.map((m) => ({ label: utc(m.minuteStart).slice(11, 16), value: m.count, title: `${utc(m.minuteStart).slice(11, 16)} UTC: ${m.count} blocks` })), { testid: 'chart-blocks-per-minute', label: 'blocks per minute', unit: 'blocks' }),
      groupedBarChart(shares.map((x) => ({ label: `m${x.miner}`, a: x.powerShare, b: x.blockShare })), { testid: 'chart-power-blocks', label: `share of power and of the last ${recent.length} blocks`, legendA: 'power', legendB: 'blocks' }),
    );
  }, () => charts.append(h('p', { class: 'muted' }, 'Charts unavailable: the node did not answer for recent blocks.')));
  return onHead;
}

async function blockPage(ref, show) {
  const block = /^\d+$/.test(ref) ? await rpc('bcr_getBlockByHeight', [Number(ref), true]) : await rpc('bcr_getBlockById', [ref, true]);
  if (!block) return show(h('h1', {}, 'Block not found'), h('p', {}, `No block ${ref} on this node.`));
  const receipts = block.txs ? await batch(block.txs.map((tx) => ['bcr_getTransactionReceipt', [tx.id]])) : [];
  const proofs = block.proofs ?? {};
  show(
    h('h1', { testid: 'block-title' }, `Block ${block.height}`),
    fields([
      ['id', h('span', { class: 'mono' }, block.id), 'block-id'],
      ['parent', block.height > 0 ? link(`#/block/${block.parentId}`, block.parentId, { class: 'mono' }) : '—'],
      ['height', String(block.height), 'block-height'],
      ['slot', String(block.slot)],
      ['time', when(block.timestamp, true)],
      ['miner', block.miner === 0 ? 'genesis' : minerLink(block.miner), 'block-miner'],
      ['reward to the owner', bcr(block.reward)],
      ['proofs', block.pruned ? 'pruned' : `VRF proof ${proofs.vrfProofBytes ?? 0} bytes, WinningPoSt ${proofs.winningPostBytes ?? 0} bytes${Object.entries(proofs).filter(([k]) => !k.endsWith('Bytes')).map(([k, v]) => `, ${v} ${k}`).join('')}`, 'block-proofs'],
      ['state root', h('span', { class: 'mono' }, block.stateRoot)],
      ['tx root', h('span', { class: 'mono' }, block.txRoot)],
    ]),
    h('h2', {}, `Transactions (${block.txCount ?? 0})`),
    block.pruned
      ? h('p', { class: 'muted' }, 'This node pruned the block body; ask an archive node for its transactions.')
      : table(['tx', 'kind', 'from', 'to', 'value', 'status'], block.txs.map((tx, i) => {
          const receipt = receipts[i];
          return h('tr', {}, h('td', {}, txLink(tx.id)), h('td', {}, tx.kind), h('td', {}, accountLink(tx.from)), h('td', {}, accountLink(tx.args?.to)), h('td', {}, tx.args?.value !== undefined ? bcr(tx.args.value) : '—'), h('td', {}, receipt instanceof Error || !receipt ? '—' : status(receipt.status)));
        }), 'block-txs'),
  );
}

async function txPage(id, show) {
  const [tx, receipt] = await Promise.all([rpc('bcr_getTransaction', [id]), rpc('bcr_getTransactionReceipt', [id]).catch(() => null)]);
  if (!tx) return show(h('h1', {}, 'Transaction not found'), h('p', {}, `No tx ${id} on this node (chain or pool).`));
  const args = Object.entries(tx.args ?? {}).filter(([k]) => k !== 'to' && k !== 'value');
  show(
    h('h1', {}, 'Transaction'),
    fields([
      ['id', h('span', { class: 'mono' }, tx.id), 'tx-id'],
      ['kind', tx.kind, 'tx-kind'],
      ['status', tx.status === 'pending' ? 'pending (in the pool)' : receipt ? status(receipt.status) : tx.status],
      ['block', tx.blockId ? blockLink(tx.blockId, `${tx.height} (${short(tx.blockId)})`) : '—', 'tx-block'],
      ['from', link(`#/account/${tx.from}`, tx.from, { class: 'mono', testid: 'tx-from' })],
      ['to', tx.args?.to ? link(`#/account/${tx.args.to}`, tx.args.to, { class: 'mono' }) : '—', 'tx-to'],
      ['value', tx.args?.value !== undefined ? bcr(tx.args.value) : '—', 'tx-value'],
      ['fee', receipt ? bcr(receipt.fee) : '—', 'tx-fee'],
      ['gas used / limit', `${receipt ? receipt.gasUsed : '—'} / ${tx.gasLimit}`],
      ['gas price', `${tx.gasPrice} atto`],
      ['nonce', String(tx.nonce)],
      ...(receipt?.error ? [['error', h('span', { class: 'error' }, receipt.error)]] : []),
      ...(receipt?.revertReason ? [['revert reason', h('span', { class: 'error', testid: 'tx-revert-reason' }, receipt.revertReason)]] : []),
      ...(receipt?.contractAddress ? [['contract created', accountLink(receipt.contractAddress), 'tx-contract']] : []),
      ...(receipt?.logs?.length ? [['logs', receipt.logs.map((l, i) => h('div', { class: 'mono', testid: 'tx-log' }, `${i}: `, accountLink(l.address), ` ${l.topics.length} topics, ${(l.data.length - 2) / 2} bytes`))]] : []),
      ...args.map(([k, v]) => [k, tx.kind === 'attest' && k === 'hash' ? link(`#/hash/${v}`, String(v), { class: 'mono', testid: 'tx-attested-hash' }) : h('span', { class: 'mono' }, typeof v === 'object' ? JSON.stringify(v) : String(v))]),
    ]),
  );
}

/** A contract's code, creator and latest logs (decoded by the node for the system contracts). */
async function contractSection(contract) {
  if (!contract.code) return [];
  const logs = await rpc('bcr_getContractLogs', [contract.address, 20]);
  const args = (l) => (l.args ? Object.entries(l.args).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' ') : `${l.topics.length} topics, ${(l.data.length - 2) / 2} bytes`);
  return [
    h('h2', {}, contract.system ? `System contract ${contract.system}` : 'Contract'),
    fields([
      ['code', contract.system ? 'built in (a precompile)' : `${contract.code.size} bytes, hash ${short(contract.code.hash)}`, 'contract-code'],
      ...(contract.creator ? [['creator', accountLink(contract.creator), 'contract-creator'], ['created by', txLink(contract.creationTx)], ['created in block', blockLink(contract.creationHeight)]] : []),
    ]),
    h('h3', {}, 'Recent logs'),
    logs.length === 0
      ? h('p', { class: 'muted', testid: 'contract-no-logs' }, 'No logs in the last 10,000 blocks.')
      : table(['height', 'tx', 'event', 'arguments'], logs.map((l) => h('tr', {}, h('td', {}, blockLink(l.height)), h('td', {}, txLink(l.txId)), h('td', { testid: 'contract-log-event' }, l.event ?? short(l.topics[0] ?? '—')), h('td', { class: 'mono' }, args(l)))), 'contract-logs'),
  ];
}

async function appsPage(show) {
  const { total, apps } = await rpc('bcr_listApps', [0, 100]);
  show(
    h('h1', {}, `Apps (${total})`),
    h('p', {}, 'The app registry (system contract 0x…bc10): developers publish, users buy once or subscribe, and every sale is split to the payees in the same tx. bcr app publish | list | show | buy.'),
    table(['#', 'app', 'price', 'terms', 'developer', 'payees', 'sold', 'content'], apps.map((a) => h('tr', { testid: `app-${a.id}` },
      h('td', {}, String(a.id)),
      h('td', {}, `${a.name} ${a.version}`),
      h('td', {}, bcr(a.price)),
      h('td', {}, a.periodSlots === 0 ? 'once' : `per ${a.periodSlots} slots`),
      h('td', {}, accountLink(a.developer)),
      h('td', {}, a.payees.map((p, i) => [i ? ', ' : '', accountLink(p.account), ` ${(p.shareBps / 100).toFixed(2)}%`])),
      h('td', {}, String(a.sales)),
      h('td', { class: 'mono' }, a.uri || short(a.contentHash)),
    )), 'apps-table'),
  );
}

async function accountPage(address, show) {
  const [balance, nonce, chainHead, vesting, contract] = await Promise.all([rpc('bcr_getBalance', [address]), rpc('bcr_getNonce', [address, 'latest']), rpc('bcr_chainHead'), rpc('bcr_getVesting', [address]), rpc('bcr_getContract', [address])]);
  const contractParts = await contractSection(contract);
  const grant = vesting.vesting;
  const rows = h('tbody');
  const history = table(['height', 'tx', 'kind', 'direction', 'counterparty', 'amount', 'status'], [], 'account-history');
  history.replaceChild(rows, history.querySelector('tbody'));
  const note = h('p', { class: 'muted', testid: 'history-note' }, `Scanning the last ${HISTORY_BLOCKS} blocks…`);
  show(
    h('h1', {}, 'Account'),
    fields([
      ['address', h('span', { class: 'mono' }, address), 'account-address'],
      ['balance', bcr(balance.balance), 'account-balance'],
      ['spendable', bcr(balance.spendable), 'account-spendable'],
      ['vesting (locked)', bcr(balance.locked), 'account-locked'],
      ...(grant ? [['vesting grant', `${bcrRounded(grant.total)}: ${bcrRounded(grant.vested)} vested; cliff at slot ${grant.cliffSlot}, fully vested at slot ${grant.endSlot}${vesting.nextUnlock ? `; next unlock slot ${vesting.nextUnlock.slot}` : ''}`, 'account-vesting']] : []),
      ['nonce', String(nonce), 'account-nonce'],
    ]),
    ...contractParts,
    h('h2', {}, 'History'),
    note,
    history,
  );
  const me = address.toLowerCase();
  const from = Math.max(1, chainHead.height - HISTORY_BLOCKS + 1);
  // Block rewards go to a miner's owner: which miners this address owns (today's owners).
  const owners = new Map();
  const ownerOf = async (ids) => {
    const unknown = [...new Set(ids)].filter((id) => id !== 0 && !owners.has(id));
    const answers = await batch(unknown.map((id) => ['bcr_getMiner', [id]]));
    unknown.forEach((id, i) => owners.set(id, answers[i] && !(answers[i] instanceof Error) ? answers[i].owner.toLowerCase() : null));
  };
  let txCount = 0;
  let rewardCount = 0;
  for (let top = chainHead.height; top >= from; top -= 20) {
    const heights = [];
    for (let x = top; x > Math.max(from - 1, top - 20); x--) heights.push(x);
    const blocks = (await batch(heights.map((x) => ['bcr_getBlockByHeight', [x, true]]))).filter((b) => b && !(b instanceof Error));
    await ownerOf(blocks.map((b) => b.miner));
    const mine = [];
    for (const block of blocks) {
      if (owners.get(block.miner) === me && block.reward != null && BigInt(block.reward) > 0n) mine.push({ block, reward: true });
      for (const tx of block.txs ?? []) {
        const out = tx.from.toLowerCase() === me;
        const into = typeof tx.args?.to === 'string' && tx.args.to.toLowerCase() === me;
        if (out || into) mine.push({ block, tx, out });
      }
    }
    const txs = mine.filter((m) => m.tx);
    const receipts = await batch(txs.map(({ tx }) => ['bcr_getTransactionReceipt', [tx.id]]));
    const receiptOf = new Map(txs.map(({ tx }, i) => [tx.id, receipts[i]]));
    for (const { block, tx, out, reward } of mine) {
      if (reward) {
        rewardCount++;
        rows.append(h('tr', { testid: `history-reward-${block.height}` }, h('td', {}, blockLink(block.height)), h('td', {}, '—'), h('td', {}, 'block reward'), h('td', {}, 'in'), h('td', {}, minerLink(block.miner)), h('td', { testid: 'history-amount' }, bcr(block.reward, '+')), h('td', {}, status('ok'))));
        continue;
      }
      const receipt = receiptOf.get(tx.id);
      txCount++;
      rows.append(h('tr', { testid: `history-${tx.id}` }, h('td', {}, blockLink(block.height)), h('td', {}, txLink(tx.id)), h('td', {}, tx.kind), h('td', {}, out ? 'out' : 'in'), h('td', {}, accountLink(out ? tx.args?.to : tx.from)), h('td', { testid: 'history-amount' }, tx.args?.value !== undefined ? bcr(tx.args.value, out ? '-' : '+') : '—'), h('td', {}, receipt instanceof Error || !receipt ? '—' : status(receipt.status))));
    }
  }
  note.textContent = `${txCount} transactions and ${rewardCount} block rewards in blocks ${from}–${chainHead.height}.`;
}

async function minerPage(id, show) {
  const [miner, power, deadlines, sectors, info] = await Promise.all([rpc('bcr_getMiner', [Number(id)]), rpc('bcr_getPowerTable'), rpc('bcr_getDeadlines', [Number(id)]), rpc('bcr_getSectors', [Number(id)]), rpc('bcr_minerInfo').catch(() => null)]);
  // The cluster of workers, when this node runs this miner on one (bcr node --cluster).
  const cluster = info?.miner === Number(id) ? await rpc('bcr_clusterStatus').catch(() => null) : null;
  const heldBy = new Map((cluster?.sectors ?? []).map((s) => [s.sector, s.worker]));
  const share = BigInt(power.total) > 0n ? Number((BigInt(miner.power) * 10000n) / BigInt(power.total)) / 100 : 0;
  show(
    h('h1', { testid: 'miner-title' }, `Miner ${miner.miner}`),
    fields([
      ['owner', accountLink(miner.owner)],
      ['worker', accountLink(miner.worker)],
      ['power', `${bytesText(miner.power)} (${share}% of the network)`, 'miner-power'],
      ['sector size', bytesText(miner.sectorSize)],
      ['sectors', Object.entries(miner.sectors).map(([k, v]) => `${v} ${k}`).join(', ')],
      ['collateral', bcr(miner.collateral)],
      ['pledge', bcr(miner.pledge)],
      ['pre-commit deposits', bcr(miner.deposits)],
      ['peer', miner.peerId || '—'],
      ['ineligible until slot', miner.ineligibleUntil ? slotText(miner.ineligibleUntil) : '—'],
    ]),
    h('h2', {}, 'Next deadlines'),
    table(['period', 'deadline', 'slots', 'state', 'sectors', 'proof', 'margin'], deadlines.windows.map((w) => h('tr', {}, h('td', {}, String(w.period)), h('td', {}, String(w.deadline)), h('td', {}, `${w.open}–${w.close - 1}`), h('td', {}, w.state), h('td', {}, `${w.sectors}${w.faulty ? ` (${w.faulty} faulty)` : ''}`), h('td', {}, w.sectors === 0 ? '—' : w.proven ? (w.state === 'open' ? 'proven' : 'nothing owed this period') : 'to prove'), h('td', {}, w.state === 'open' ? `closes in ${w.marginSlots} slots` : `opens in ${w.opensInSlots} slots`))), 'miner-deadlines'),
    ...(cluster ? clusterSection(cluster) : []),
    h('h2', {}, 'Sectors'),
    table(['sector', 'state', 'deadline', 'activation', 'expiration', 'CommR', ...(cluster ? ['held by'] : [])], sectors.map((s) => h('tr', {}, h('td', {}, String(s.sector)), h('td', {}, s.state), h('td', {}, String(s.deadline)), h('td', {}, slotText(s.activation)), h('td', {}, slotText(s.expiration)), h('td', { class: 'mono' }, short(s.commR)), ...(cluster ? [h('td', {}, heldBy.get(s.sector) ?? 'this node')] : []))), 'miner-sectors'),
  );
}

/** Workers (up, down or refused), their disks and sectors, the task queue, and who proves the next windows. */
function clusterSection(cluster) {
  const workerState = (w) => (w.refused ? `refused: ${w.refused}` : w.alive ? 'up' : `down (last seen ${Math.round(w.lastSeenMs / 1000)} s ago)`);
  return [
    h('h2', {}, 'Cluster'),
    table(['worker', 'state', 'tasks', 'disks', 'free', 'sectors'], cluster.workers.map((w) => h('tr', {}, h('td', {}, w.name), h('td', {}, workerState(w)), h('td', {}, w.tasks.join(', ')), h('td', {}, String(w.disks)), h('td', {}, `${bytesText(String(w.freeBytes))} of ${bytesText(String(w.capacityBytes))}`), h('td', {}, String(w.sectors)))), 'cluster-workers'),
    table(['task', 'queued', 'running', 'failing'], cluster.tasks.map((t) => h('tr', {}, h('td', {}, t.task), h('td', {}, String(t.queued)), h('td', {}, String(t.running)), h('td', {}, String(t.failing)))), 'cluster-tasks'),
    table(['period', 'deadline', 'slots', 'proven by'], cluster.windows.map((w) => h('tr', {}, h('td', {}, String(w.period)), h('td', {}, String(w.deadline)), h('td', {}, `${w.open}–${w.close - 1}`), h('td', {}, w.provers.map((p) => `${p.worker === 'node' ? 'this node' : p.worker}: ${p.sectors}`).join(', ') || '—'))), 'cluster-windows'),
  ];
}

async function powerPage(show) {
  const power = await rpc('bcr_getPowerTable');
  const total = BigInt(power.total);
  show(
    h('h1', {}, 'Power table'),
    h('p', {}, `Network power ${bytesText(power.total)} at height ${power.height}.`),
    table(['miner', 'power', 'share', 'owner'], power.miners.map((m) => h('tr', {}, h('td', {}, minerLink(m.miner)), h('td', {}, bytesText(m.power)), h('td', {}, total > 0n ? `${Number((BigInt(m.power) * 10000n) / total) / 100}%` : '—'), h('td', {}, accountLink(m.owner)))), 'power-table'),
  );
}

function issuanceChart(schedule, minted) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = (tag, attrs, text) => {
    const el = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    return el;
  };
  const width = 760;
  const height = 260;
  const pad = 40;
  const max = Number(BigInt(schedule.at(-1).cumulative) / 10n ** 18n);
  const x = (i) => pad + (i / schedule.length) * (width - 2 * pad);
  const y = (bcrValue) => height - pad - (bcrValue / max) * (height - 2 * pad);
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', 'data-testid': 'issuance-chart', role: 'img', 'aria-label': 'cumulative issuance by quarter' });
  chart.append(svg('line', { x1: pad, y1: height - pad, x2: width - pad, y2: height - pad, class: 'axis' }), svg('line', { x1: pad, y1: pad, x2: pad, y2: height - pad, class: 'axis' }));
  let d = `M ${x(0)} ${y(0)}`;
  schedule.forEach((q, i) => (d += ` L ${x(i + 1)} ${y(Number(BigInt(q.cumulative) / 10n ** 18n))}`));
  chart.append(svg('path', { d, class: 'curve' }));
  schedule.forEach((q, i) => chart.append(svg('text', { x: x(i + 1) - 8, y: height - pad + 14 }, `Q${q.quarter + 1}`)));
  chart.append(svg('text', { x: 4, y: pad - 6 }, `${max.toLocaleString('en-US')} BCR`));
  const mintedBcr = Number(BigInt(minted) / 10n ** 18n);
  chart.append(svg('line', { x1: pad, x2: width - pad, y1: y(mintedBcr), y2: y(mintedBcr), class: 'now' }), svg('text', { x: width - pad - 120, y: y(mintedBcr) - 4 }, `minted now: ${mintedBcr.toLocaleString('en-US')}`));
  return chart;
}

async function supplyPage(show) {
  const [supply, issuance] = await Promise.all([rpc('bcr_supply'), rpc('bcr_issuance')]);
  show(
    h('h1', {}, 'Supply and issuance'),
    h('div', { class: 'cards' }, card('max supply', bcrRounded(supply.maxSupply)), card('total', bcrRounded(supply.total), 'supply-total'), card('circulating', bcrRounded(supply.circulating)), card('minted by mining', bcrRounded(supply.minted), 'supply-minted'), card('foundation reserve', bcrRounded(supply.foundation)), card('vesting locked', bcrRounded(supply.vestingLocked)), card('miner pledge', bcrRounded(supply.minerPledge)), card('burned', bcrRounded(supply.burned))),
    fields([['total (exact)', bcrExact(supply.total)], ['circulating (exact)', bcrExact(supply.circulating)], ['minted (exact)', bcrExact(supply.minted)]]),
    h('h2', {}, 'Mining issuance: cumulative by quarter (halving each quarter)'),
    issuanceChart(issuance.schedule, issuance.minted),
    table(['quarter', 'first slot', 'issued', 'cumulative'], issuance.schedule.map((q) => h('tr', {}, h('td', {}, `Q${q.quarter + 1}`), h('td', {}, String(q.firstSlot)), h('td', {}, bcr(q.issued)), h('td', {}, bcr(q.cumulative)))), 'issuance-table'),
  );
}

async function marketPage(show) {
  const [asks, power] = await Promise.all([rpc('bcr_listAsks'), rpc('bcr_getPowerTable')]);
  const dealLists = await batch(power.miners.map((m) => ['bcr_listDeals', [{ provider: m.miner }]]));
  const deals = dealLists.filter((d) => Array.isArray(d)).flat();
  show(
    h('h1', {}, 'Storage market'),
    h('h2', {}, `Asks (${asks.length})`),
    table(['miner', 'price (atto/GiB/slot)', 'pieces', 'collateral/GiB', 'expires (slot)', 'power'], asks.map((a) => h('tr', {}, h('td', {}, minerLink(a.miner)), h('td', {}, String(a.pricePerGiBSlot)), h('td', {}, `${bytesText(a.minPieceBytes)} – ${bytesText(a.maxPieceBytes)}`), h('td', {}, bcr(a.collateralPerGiB)), h('td', {}, slotText(a.expirySlot)), h('td', {}, bytesText(a.power)))), 'market-asks'),
    h('h2', {}, `Deals (${deals.length})`),
    table(['deal', 'state', 'client', 'provider', 'piece', 'slots', 'price', 'sector'], deals.map((d) => h('tr', {}, h('td', {}, String(d.deal)), h('td', {}, d.state), h('td', {}, accountLink(d.client)), h('td', {}, minerLink(d.provider)), h('td', {}, `${bytesText(d.pieceBytes)} ${short(d.pieceCommitment)}`), h('td', {}, `${d.startSlot}–${slotText(d.endSlot)}`), h('td', {}, bcr(d.totalPrice)), h('td', {}, d.sector === null ? '—' : String(d.sector)))), 'market-deals'),
  );
}

async function governancePage(show) {
  const [council, list] = await Promise.all([rpc('bcr_getCouncil'), rpc('bcr_listProposals', [null, null, 50])]);
  const c = council.council;
  show(
    h('h1', {}, 'Foundation governance'),
    h('p', {}, 'The reserve moves only by a council resolution: a signer proposes, a threshold of signers approves, a public notice delay runs, then anyone executes.'),
    fields([
      ['reserve', accountLink(council.reserve)],
      ['reserve balance', bcr(council.reserveBalance), 'gov-reserve'],
      ['council', c ? c.signers.map((signer, i) => [i ? ', ' : '', accountLink(signer)]) : 'none: the reserve is frozen'],
      ['threshold', c ? `${c.threshold} of ${c.signers.length}` : '—', 'gov-threshold'],
      ['notice delay', c ? `${c.noticeSlots} slots` : '—'],
    ]),
    h('h2', {}, `Proposals (${list.total})`),
    table(['#', 'state', 'action', 'purpose', 'approvals', 'executable from', 'proposer'], list.proposals.map((p) => h('tr', { testid: `proposal-${p.id}` },
      h('td', {}, String(p.seq)),
      h('td', {}, p.state),
      h('td', {}, p.action === 'spend' ? [bcr(p.amount), ' to ', accountLink(p.recipient)] : `new council (${p.council.threshold} of ${p.council.signers.length})`),
      h('td', {}, p.purpose || '—', p.docHash ? h('div', { class: 'mono muted' }, `doc ${short(p.docHash)}`) : null),
      h('td', {}, `${p.approvalsCounted} of ${p.threshold ?? '—'}`),
      h('td', {}, p.executableFromSlot === null ? (p.closedSlot === null ? '—' : `closed at slot ${p.closedSlot}`) : `slot ${p.executableFromSlot}`),
      h('td', {}, accountLink(p.proposer)),
    )), 'gov-proposals'),
  );
}

const ATTESTATION_PAGE = 50;

async function attestationsPage(hash, from, show) {
  const { attestations: records, total } = await rpc('bcr_getAttestations', [hash, 'latest', false, from, ATTESTATION_PAGE]);
  if (total === 0) return show(h('h1', {}, 'No attestations'), h('p', {}, `Nothing on chain attests the content hash ${hash}.`));
  const pager = h('p', { testid: 'attest-pager' },
    from > 0 ? link(`#/hash/${hash}/${Math.max(0, from - ATTESTATION_PAGE)}`, '← earlier', { testid: 'attest-earlier' }) : null,
    ` records ${from + 1}-${from + records.length} of ${total} `,
    from + records.length < total ? link(`#/hash/${hash}/${from + records.length}`, 'later →', { testid: 'attest-later' }) : null);
  show(
    h('h1', {}, 'Attestations'),
    h('p', {}, 'Every record of this content hash, in the order recorded. A light client checks them against a header it trusts with bcr attest verify.'),
    fields([['content hash', h('span', { class: 'mono' }, hash), 'attest-hash'], ['records', String(total), 'attest-count']]),
    pager,
    table(['#', 'time', 'block', 'attester', 'tag', 'refers to', 'metadata', 'record (tx)'], records.map((r, i) => h('tr', { testid: `attestation-${from + i}` },
      h('td', {}, String(from + i + 1)),
      h('td', {}, when(r.time)),
      h('td', {}, blockLink(r.height, String(r.height))),
      h('td', {}, accountLink(r.attester)),
      h('td', {}, r.tag),
      h('td', {}, r.ref ? txLink(r.ref) : '—'),
      h('td', {}, r.metaText ?? (r.meta === '0x' ? '—' : h('span', { class: 'mono' }, short(r.meta)))),
      h('td', {}, txLink(r.id)),
    )), 'attest-records'),
  );
}

// ---- search and routing ----

async function search(text) {
  const q = text.trim();
  if (/^\d+$/.test(q)) return `#/block/${q}`;
  const miner = /^(?:m|miner\s*)(\d+)$/i.exec(q);
  if (miner) return `#/miner/${miner[1]}`;
  if (/^0x[0-9a-fA-F]{40}$/.test(q)) return `#/account/${q}`;
  if (/^0x[0-9a-fA-F]{64}$/.test(q)) {
    const block = await rpc('bcr_getBlockById', [q, false]).catch(() => null);
    if (block) return `#/block/${q}`;
    // Not a block: a tx id, else a content hash that something attests.
    const tx = await rpc('bcr_getTransaction', [q]).catch(() => null);
    if (tx) return `#/tx/${q}`;
    const attested = await rpc('bcr_getAttestations', [q]).catch(() => null);
    return attested && attested.attestations.length ? `#/hash/${q}` : `#/tx/${q}`;
  }
  return null;
}

document.getElementById('search-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = document.getElementById('search');
  const target = await search(input.value);
  if (target) location.hash = target;
  else if ((navigation += 1)) show(h('h1', {}, 'Search'), h('p', { class: 'error', testid: 'search-error' }, `Not understood: "${input.value}". Give a height, a block or tx id or an attested content hash (0x + 64 hex), an address (0x + 40 hex) or a miner (m1).`));
});

const routes = [
  [/^#?\/?$/, (m, show) => homePage(show)],
  [/^#\/block\/(\w+)$/, (m, show) => blockPage(m[1], show)],
  [/^#\/tx\/(0x[0-9a-fA-F]{64})$/, (m, show) => txPage(m[1], show)],
  [/^#\/account\/(0x[0-9a-fA-F]{40})$/, (m, show) => accountPage(m[1], show)],
  [/^#\/miner\/(\d+)$/, (m, show) => minerPage(m[1], show)],
  [/^#\/power$/, (m, show) => powerPage(show)],
  [/^#\/supply$/, (m, show) => supplyPage(show)],
  [/^#\/market$/, (m, show) => marketPage(show)],
  [/^#\/governance$/, (m, show) => governancePage(show)],
  [/^#\/apps$/, (m, show) => appsPage(show)],
  [/^#\/hash\/(0x[0-9a-fA-F]{64})(?:\/(\d{1,9}))?$/, (m, show) => attestationsPage(m[1], Number(m[2] ?? 0), show)],
];

let routeListener = null;
/** Counts navigations: a page renders (and listens to heads) only while it is the latest one. */
let navigation = 0;

async function route() {
  if (routeListener) headListeners.delete(routeListener);
  routeListener = null;
  const mine = ++navigation;
  const current = () => mine === navigation;
  // The page's own `show`: a slow earlier page that finishes after a later one renders nothing.
  const showMine = (...nodes) => {
    if (current()) show(...nodes);
  };
  const hash = location.hash;
  const found = routes.map(([pattern, page]) => [pattern.exec(hash), page]).find(([m]) => m);
  showMine(h('p', { class: 'muted' }, 'Loading…'));
  try {
    if (!found) return showMine(h('h1', {}, 'Not found'), h('p', {}, `No page ${hash}.`));
    const onHead = await found[1](found[0], showMine);
    if (typeof onHead === 'function' && current()) {
      routeListener = (next) => void onHead(next).catch(() => undefined);
      headListeners.add(routeListener);
    }
  } catch (error) {
    showMine(h('h1', {}, 'Error'), h('p', { class: 'error', testid: 'page-error' }, error instanceof Error ? error.message : String(error)));
  } finally {
    // Page loads finished, current or not (tests wait on it instead of on time).
    document.body.dataset.pagesSettled = String(Number(document.body.dataset.pagesSettled ?? 0) + 1);
  }
}

window.addEventListener('hashchange', route);
rpc('bcr_chainHead').then(setHead, () => undefined);
connectLive();
route();
