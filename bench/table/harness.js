// Run by scripts/bench (bench/src/browser.rs) inside a table page — the console's ClusterTable
// (src/bin/bench_table.rs), vanilla.js or React (bench/react/src/table.jsx); each exposes
// benchPrepare(json) (not timed) and benchApply() (timed).
//
// A time runs from just before benchApply() to the moment the DOM shows the change and the
// browser has laid it out (a forced style + layout): script, style and layout, not paint, and
// no waiting for a frame, so the figures do not snap to 16.7 ms frames. The console's effects
// run as microtasks and React is driven with flushSync, so no frame can fall in between.

const PAGE = 100;

function yieldTask() {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => resolve();
    ch.port2.postMessage(0);
  });
}

function heap() {
  if (window.gc) { window.gc(); window.gc(); }
  return performance.memory ? performance.memory.usedJSHeapSize : null;
}

async function timed(quick, full) {
  if (window.gc) window.gc(); // the garbage of preparing is not the table's
  const t0 = performance.now();
  window.benchApply();
  const returned = performance.now() - t0;
  // Microtasks first (the console's effects), checking cheaply; tasks only as a fallback.
  let hops = 0;
  while (hops < 100000 && !quick()) { hops++; await null; }
  const shown = performance.now() - t0;
  while (!full()) {
    await yieldTask();
    if (performance.now() - t0 > 120000) throw new Error('the table did not show the change within 120 s');
  }
  const t1 = performance.now();
  void document.body.offsetHeight; // style + layout of what changed
  const t2 = performance.now();
  return { script: t1 - t0, total: t2 - t0, returned, shown, hops };
}

async function loadAll(pid, total) {
  const pages = Math.ceil(total / PAGE);
  const out = new Array(pages);
  let next = 1;
  async function worker() {
    while (next <= pages) {
      const p = next++;
      const res = await fetch(`/api/v1beta/projects/${pid}/clusters?page=${p}&page_size=${PAGE}`);
      if (!res.ok) throw new Error(`page ${p} answered ${res.status}`);
      out[p - 1] = (await res.json()).items;
    }
  }
  await Promise.all(Array.from({ length: 8 }, worker));
  return out.flat();
}

const LABELS = { AVAILABLE: 'Available', PAUSED: 'Paused' };

function shows(tr, status) {
  return tr && tr.getAttribute('data-status') === status && tr.cells[4].textContent.includes(LABELS[status]);
}

async function bench(op, arg) {
  const tbody = document.querySelector('table.clusters tbody');
  switch (op) {
    case 'load': {
      window.__items = await loadAll(arg.pid, arg.total);
      return { count: window.__items.length };
    }
    case 'render': {
      const items = window.__items;
      window.__items = null; // the page's own data only, in the heap figure
      const last = items[items.length - 1];
      window.benchPrepare(JSON.stringify(items));
      const before = heap();
      const done = () => tbody.lastElementChild && tbody.lastElementChild.getAttribute('data-cluster-id') === last.id
        && tbody.rows.length === items.length && shows(tbody.rows[items.length - 1], last.status.cluster_status);
      const t = await timed(done, done);
      return { ...t, rows: tbody.rows.length, heapBefore: before, heapAfter: heap(),
        wasmMemory: window.benchWasmMemory ? window.benchWasmMemory() : null };
    }
    case 'update': {
      // As a poll: a fresh list where 100 clusters, spread over the table, changed status.
      const items = JSON.parse(JSON.stringify(window.__items));
      const step = Math.floor(items.length / 100);
      const changed = [];
      for (let k = 0; k < 100; k++) {
        const i = (k * step + arg.round * 7) % items.length;
        const s = items[i].status;
        s.cluster_status = s.cluster_status === 'PAUSED' ? 'AVAILABLE' : 'PAUSED';
        changed.push([i, s.cluster_status]);
      }
      window.benchPrepare(JSON.stringify(items));
      const [li, ls] = changed[changed.length - 1];
      const t = await timed(() => shows(tbody.rows[li], ls), () => changed.every(([i, status]) => shows(tbody.rows[i], status)));
      window.__items = items;
      return t;
    }
    case 'sample': // what the rows are made of, for the log
      return { row: tbody.rows[0] && tbody.rows[0].outerHTML, childNodes: tbody.childNodes.length,
        elements: document.getElementsByTagName('*').length };
    default:
      throw new Error(`no operation ${op}`);
  }
}
