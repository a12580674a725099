// The floor page's one request, asked while the wasm loads, as the console's loader does
// (src/bin/bench_floor.rs). An external script: the server's CSP allows no other inline script.
(() => {
  const project = new URLSearchParams(location.search).get("project");
  const path = project
    ? `/api/v1beta/projects/${project}/clusters?page=1&page_size=20`
    : "/api/v1beta/projects?page=1&page_size=10";
  window.floorEarly = fetch(path, { credentials: "include", headers: { accept: "application/json", "x-cmek-console": "1" } })
    .then((r) => r.text());
})();
