//! Lookups in the provider catalog, the body of `GET /api/v1beta/clusters/provider/regions`
//! (`ListProviderRegions`): `items` of `{cluster_type, cloud_provider, region, tidb, tikv, …}`.

use serde_json::Value;

fn items(catalog: &Value) -> &Vec<Value> {
    catalog["items"].as_array().expect("the catalog has items")
}

/// The catalog entry of a cluster type, provider and region.
pub fn entry<'a>(catalog: &'a Value, cluster_type: &str, provider: &str, region: &str) -> &'a Value {
    items(catalog)
        .iter()
        .find(|i| i["cluster_type"] == cluster_type && i["cloud_provider"] == provider && i["region"] == region)
        .unwrap_or_else(|| panic!("no {cluster_type} {provider} {region} in the catalog"))
}

/// The regions the catalog offers for a cluster type and provider, in its order, each once.
pub fn regions(catalog: &Value, cluster_type: &str, provider: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items(catalog) {
        if i["cluster_type"] == cluster_type && i["cloud_provider"] == provider {
            let r = i["region"].as_str().expect("region").to_owned();
            if !out.contains(&r) {
                out.push(r);
            }
        }
    }
    out
}

/// The vCPUs of a node size such as `8C16G`.
fn vcpus(size: &str) -> Option<i64> {
    size.split_once('C')?.0.parse().ok()
}

/// A valid CreateCluster body for a Dedicated AWS cluster in `region`, with node sizes and counts
/// taken from the catalog: the first sizes that are not 4 vCPUs (which would oblige TiDB and TiKV
/// to match), their smallest counts and storage.
pub fn dedicated_aws_cluster(catalog: &Value, region: &str, name: &str) -> Value {
    let entry = entry(catalog, "DEDICATED", "AWS", region);
    let pick = |list: &Value| -> Value {
        list.as_array()
            .expect("profiles")
            .iter()
            .find(|p| vcpus(p["node_size"].as_str().unwrap_or_default()).is_some_and(|v| v != 4))
            .cloned()
            .unwrap_or_else(|| panic!("no non-4-vCPU size in {list}"))
    };
    let (tidb, tikv) = (pick(&entry["tidb"]), pick(&entry["tikv"]));
    serde_json::json!({
        "name": name,
        "cluster_type": "DEDICATED",
        "cloud_provider": "AWS",
        "region": region,
        "config": {
            "root_password": "Guide-pass-1234",
            "components": {
                "tidb": { "node_size": tidb["node_size"], "node_quantity": tidb["node_quantity_range"]["min"] },
                "tikv": {
                    "node_size": tikv["node_size"],
                    "node_quantity": tikv["node_quantity_range"]["min"],
                    "storage_size_gib": tikv["storage_size_gib_range"]["min"],
                },
            },
        },
    })
}
