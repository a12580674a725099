// The 10,000-row clusters table in hand-written DOM code: the limit the console's ClusterTable
// and React are compared with. Same DOM as src/components/cluster_table.rs, same window functions
// as src/bin/bench_table.rs; an update compares what each row shows and touches only what changed.
'use strict';
(() => {
  const TYPE_LABELS = { DEDICATED: 'Dedicated', DEVELOPER: 'Serverless' };
  const STATUS_LABELS = {
    AVAILABLE: 'Available', CREATING: 'Creating', MODIFYING: 'Modifying', PAUSED: 'Paused', RESUMING: 'Resuming',
    UNAVAILABLE: 'Unavailable', IMPORTING: 'Importing', MAINTAINING: 'Maintaining', PAUSING: 'Pausing',
  };
  const tone = (s) => s === 'AVAILABLE' ? ['badge ok', '●'] : s === 'PAUSED' ? ['badge idle', '❚❚']
    : (s === 'UNAVAILABLE' || !STATUS_LABELS[s]) ? ['badge bad', '✕'] : ['badge busy', '◌'];
  const timestamp = (s) => {
    const n = Number(s);
    if (!Number.isFinite(n)) return s;
    const iso = new Date(n * 1000).toISOString();
    return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
  };

  const tbody = document.querySelector('tbody');
  const template = document.createElement('template');
  template.innerHTML = '<tr><th scope="row"><a></a></th><td> </td><td> </td><td> </td>'
    + '<td><span><span class="icon" aria-hidden="true"> </span> </span></td><td> </td></tr>';
  const proto = template.content.firstChild;
  let rows = []; // [{ id, c, tr, name, type, provider, region, badge, icon, label, created }]
  let pending = null;

  function build(c) {
    const tr = proto.cloneNode(true);
    const th = tr.firstChild;
    const a = th.firstChild;
    const type = th.nextSibling, provider = type.nextSibling, region = provider.nextSibling;
    const badge = region.nextSibling.firstChild, created = region.nextSibling.nextSibling;
    const r = { id: c.id, c: null, tr, a, type: type.firstChild, provider: provider.firstChild,
      region: region.firstChild, badge, icon: badge.firstChild.firstChild, label: badge.lastChild,
      created: created.firstChild };
    tr.setAttribute('data-cluster-id', c.id);
    a.href = `/projects/1/clusters/${c.id}`;
    update(r, c);
    return r;
  }

  function update(r, c) {
    const o = r.c;
    if (!o || o.name !== c.name) r.a.textContent = c.name;
    if (!o || o.cluster_type !== c.cluster_type) r.type.data = TYPE_LABELS[c.cluster_type] ?? c.cluster_type;
    if (!o || o.cloud_provider !== c.cloud_provider) r.provider.data = c.cloud_provider;
    if (!o || o.region !== c.region) r.region.data = c.region;
    const s = c.status.cluster_status;
    if (!o || o.status.cluster_status !== s) {
      const [cls, icon] = tone(s);
      r.tr.setAttribute('data-status', s);
      r.badge.className = cls;
      r.icon.data = icon;
      r.label.data = STATUS_LABELS[s] ?? 'Unknown';
    }
    if (!o || o.create_timestamp !== c.create_timestamp) r.created.data = timestamp(c.create_timestamp);
    r.c = c;
  }

  function apply(list) {
    const same = rows.length === list.length && rows.every((r, i) => r.id === list[i].id);
    if (same) {
      for (let i = 0; i < list.length; i++) update(rows[i], list[i]);
      return;
    }
    // Keyed: keep the rows of clusters still there, build the new ones, drop the rest.
    const byId = new Map(rows.map((r) => [r.id, r]));
    const next = list.map((c) => {
      const r = byId.get(c.id);
      if (!r) return build(c);
      byId.delete(c.id);
      update(r, c);
      return r;
    });
    for (const r of byId.values()) r.tr.remove();
    const frag = document.createDocumentFragment();
    for (const r of next) frag.appendChild(r.tr);
    tbody.appendChild(frag);
    rows = next;
  }

  window.benchPrepare = (json) => { pending = JSON.parse(json); };
  window.benchApply = () => { apply(pending); pending = null; };
  window.benchReady = true;
})();
