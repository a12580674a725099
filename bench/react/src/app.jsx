// The console's projects page (`?view=projects`) and a project's clusters page
// (`?view=clusters&project=ID`) in React 19: the same API calls for what is on screen, the same
// DOM, and the same `cmek:interactive` mark once the data is on screen (src/pages/mod.rs).
import { useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { ClusterTable, CmekBadge, Pager, timestamp } from './shared.jsx';

const PROJECTS_PAGE_SIZE = 10;
const CLUSTERS_PAGE_SIZE = 20;

async function get(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`${path} answered ${res.status}`);
  return res.json();
}

function useMarkInteractive(ready) {
  useEffect(() => {
    if (ready) requestAnimationFrame(() => {
      if (performance.getEntriesByName('cmek:interactive').length === 0) performance.mark('cmek:interactive');
    });
  }, [ready]);
}

function ProjectsPage() {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    get(`/api/v1beta/projects?page=1&page_size=${PROJECTS_PAGE_SIZE}`).then(setData, setError);
  }, []);
  useMarkInteractive(data !== null);
  return (
    <section className="page">
      <div className="page-head">
        <h1>Projects</h1>
        <a href="/projects/new" className="btn primary">Create project</a>
      </div>
      {error && <p role="alert">{String(error)}</p>}
      {!data && !error && <p className="loading" role="status">Loading projects</p>}
      {data && (
        <>
          <table className="list">
            <caption className="sr-only">Projects</caption>
            <thead>
              <tr>
                <th scope="col">Name</th><th scope="col">Encryption at rest</th>
                <th scope="col" className="num">Clusters</th><th scope="col">Created</th>
                <th scope="col"><span className="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((p) => (
                <tr key={p.id} data-project-id={p.id}>
                  <th scope="row"><a href={`/projects/${p.id}/clusters`}>{p.name}</a></th>
                  <td><CmekBadge enabled={p.aws_cmek_enabled} /></td>
                  <td className="num">{p.cluster_count}</td>
                  <td>{timestamp(p.create_timestamp)}</td>
                  <td><a href={`/projects/${p.id}/encryption`}>Encryption Access</a></td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={1} total={data.total} pageSize={PROJECTS_PAGE_SIZE} noun="projects" />
        </>
      )}
    </section>
  );
}

function ClustersPage({ projectId }) {
  const [project, setProject] = useState(null);
  const [clusters, setClusters] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    // v1beta has no "get project": the console looks for it in the list too.
    get('/api/v1beta/projects?page=1&page_size=100')
      .then((l) => setProject(l.items.find((p) => p.id === projectId) ?? { id: projectId, name: projectId }), setError);
    get(`/api/v1beta/projects/${projectId}/clusters?page=1&page_size=${CLUSTERS_PAGE_SIZE}`)
      .then((l) => setClusters({ ...l, updated: Date.now() }), setError);
  }, [projectId]);
  useMarkInteractive(project !== null && clusters !== null);
  const path = (rest) => `/projects/${projectId}/${rest}`;
  if (error) return <section className="page"><p role="alert">{String(error)}</p></section>;
  if (!project) return <section className="page"><p className="loading" role="status">Loading the project</p></section>;
  const updated = clusters && new Date(clusters.updated).toISOString();
  return (
    <section className="page">
      <nav className="crumbs" aria-label="Breadcrumb"><a href="/">Projects</a> › <span aria-current="page">{project.name}</span></nav>
      <div className="page-head">
        <h1>{project.name}</h1>
        <CmekBadge enabled={!!project.aws_cmek_enabled} />
      </div>
      <nav className="tabs" aria-label="Project">
        <a href={path('clusters')} aria-current="page">Clusters</a>
        <a href={path('encryption')}>Encryption Access</a>
        {project.aws_cmek_enabled && <a href={path('revoke')}>Revoke / restore</a>}
        <a href={path('events')}>Events</a>
      </nav>
      <section aria-labelledby="clusters-title">
        <div className="page-head">
          <h2 id="clusters-title">Clusters</h2>
          <div className="actions"><button type="button" className="btn primary" id="create-cluster">Create cluster</button></div>
        </div>
        <p className="updated" aria-live="off">{updated && `Last updated ${updated.slice(0, 10)} ${updated.slice(11, 19)} UTC`}</p>
        {!clusters && <p className="loading" role="status">Loading clusters</p>}
        {clusters && clusters.total === 0 && <p className="empty">No clusters in this project yet.</p>}
        {clusters && clusters.total > 0 && (
          <>
            <ClusterTable items={clusters.items} projectId={projectId} />
            <Pager page={1} total={clusters.total} pageSize={CLUSTERS_PAGE_SIZE} noun="clusters" />
          </>
        )}
      </section>
    </section>
  );
}

function App() {
  const q = new URLSearchParams(location.search);
  return (
    <>
      <header className="top">
        <a href="/" className="brand"><span className="brand-mark" aria-hidden="true">◆</span> CMEK Console</a>
        <nav aria-label="Main"><a href="/" aria-current="page">Projects</a></nav>
      </header>
      <main id="main" tabIndex={-1}>
        {q.get('view') === 'clusters' ? <ClustersPage projectId={q.get('project')} /> : <ProjectsPage />}
      </main>
    </>
  );
}

createRoot(document.getElementById('root')).render(<App />);
