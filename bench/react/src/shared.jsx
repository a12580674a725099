// What the console's clusters table shows, written the way a React app would write it: the same
// DOM (classes, attributes, text) as src/components/cluster_table.rs and status.rs.
import { memo } from 'react';

const TYPE_LABELS = { DEDICATED: 'Dedicated', DEVELOPER: 'Serverless' };
const STATUS_LABELS = {
  AVAILABLE: 'Available', CREATING: 'Creating', MODIFYING: 'Modifying', PAUSED: 'Paused', RESUMING: 'Resuming',
  UNAVAILABLE: 'Unavailable', IMPORTING: 'Importing', MAINTAINING: 'Maintaining', PAUSING: 'Pausing',
};

// Unix seconds as `2026-11-28 02:12 UTC` (src/format.rs).
export function timestamp(s) {
  const n = Number(s);
  if (!Number.isFinite(n)) return s;
  const iso = new Date(n * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

function tone(status) {
  switch (status) {
    case 'AVAILABLE': return ['ok', '●'];
    case 'PAUSED': return ['idle', '❚❚'];
    case 'UNAVAILABLE': return ['bad', '✕'];
    default: return STATUS_LABELS[status] ? ['busy', '◌'] : ['bad', '✕'];
  }
}

export function StatusBadge({ status }) {
  const [cls, icon] = tone(status);
  return (
    <span className={`badge ${cls}`}>
      <span className="icon" aria-hidden="true">{icon}</span>
      {STATUS_LABELS[status] ?? 'Unknown'}
    </span>
  );
}

export function CmekBadge({ enabled }) {
  return enabled ? (
    <span className="badge cmek">
      <svg className="icon" viewBox="0 0 16 16" width="11" height="11" aria-hidden="true">
        <path fill="currentColor" d="M4 7V5a4 4 0 0 1 8 0v2h1v8H3V7h1zm2 0h4V5a2 2 0 0 0-4 0v2z" />
      </svg>
      CMEK
    </span>
  ) : (
    <span className="badge plain">Escrow key</span>
  );
}

// A poll parses fresh objects: a row re-renders only when what it shows changed.
const sameRow = (a, b) =>
  a.c.id === b.c.id && a.c.name === b.c.name && a.c.cluster_type === b.c.cluster_type &&
  a.c.cloud_provider === b.c.cloud_provider && a.c.region === b.c.region &&
  a.c.create_timestamp === b.c.create_timestamp && a.c.status.cluster_status === b.c.status.cluster_status &&
  a.href === b.href;

const ClusterRow = memo(function ClusterRow({ c, href }) {
  return (
    <tr data-cluster-id={c.id} data-status={c.status.cluster_status}>
      <th scope="row"><a href={href}>{c.name}</a></th>
      <td>{TYPE_LABELS[c.cluster_type] ?? c.cluster_type}</td>
      <td>{c.cloud_provider}</td>
      <td>{c.region}</td>
      <td><StatusBadge status={c.status.cluster_status} /></td>
      <td>{timestamp(c.create_timestamp)}</td>
    </tr>
  );
}, sameRow);

export function ClusterTable({ items, projectId }) {
  return (
    <table className="list clusters">
      <caption className="sr-only">Clusters</caption>
      <thead>
        <tr>
          <th scope="col">Name</th><th scope="col">Type</th><th scope="col">Provider</th>
          <th scope="col">Region</th><th scope="col">Status</th><th scope="col">Created</th>
        </tr>
      </thead>
      <tbody>
        {items.map((c) => <ClusterRow key={c.id} c={c} href={`/projects/${projectId}/clusters/${c.id}`} />)}
      </tbody>
    </table>
  );
}

export function Pager({ page, total, pageSize, noun }) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  return (
    <nav className="pager" aria-label={`Pages of ${noun}`}>
      <button type="button" className="btn" aria-disabled={page <= 1 ? 'true' : undefined}>← Previous</button>
      <span aria-live="polite">Page {page} of {pages} · {total} {noun}</span>
      <button type="button" className="btn" aria-disabled={page >= pages ? 'true' : undefined}>Next →</button>
    </nav>
  );
}
