// The 10,000-row clusters table in React 19, driven by scripts/bench through the same window
// functions as the console's (src/bin/bench_table.rs) and the vanilla one (bench/table/vanilla.js).
import { useEffect, useState } from 'react';
import { flushSync } from 'react-dom';
import { createRoot } from 'react-dom/client';
import { ClusterTable } from './shared.jsx';

let setItems = null;
let pending = null;

function Bench() {
  const [items, set] = useState([]);
  setItems = set;
  useEffect(() => { window.benchReady = true; }, []);
  return <main className="page"><ClusterTable items={items} projectId="1" /></main>;
}

// Parsing is not timed (a poll would parse too); the objects are fresh, as a poll's are.
window.benchPrepare = (json) => { pending = JSON.parse(json); };
// flushSync: rendered and committed before benchApply returns, so the time has no frame in it
// (the same work React's scheduler would do a task later).
window.benchApply = () => { const next = pending; pending = null; flushSync(() => setItems(next)); };
createRoot(document.getElementById('root')).render(<Bench />);
