//! The cluster form as typed, the request it makes, its errors (the server's rules, cmek-core),
//! the catalog defaults it fits to, the element id of each field the rules name, and its copy
//! in the tab (`crate::drafts`).

use cmek_core::FieldError;
use cmek_core::api::{
    CloudProvider, ClusterType, Components, CreateClusterConfig, CreateClusterReq, IpAccessListItem,
    ListProviderRegionsResp, StorageComponent, TidbComponent,
};
use cmek_core::cluster::{CmekContext, DEFAULT_PORT, check_cmek_placement, check_create};
use serde::{Deserialize, Serialize};

/// The element id of the control a rule's field path names, derived from the path: `config.`
/// and `components.` dropped; a component's field is `{component}-{field}`, the cluster's own
/// `cluster-{field}` (fields by their short names: `tier`, `provider`, `password`, `size`,
/// `quantity`, `storage`); an IP access list entry `ip-cidr-{i}` / `ip-desc-{i}`. A whole
/// component is its switch (`tiflash-enabled`), the whole list its add button, the components
/// as a whole the first of them.
pub fn field_id(path: &str) -> String {
    let path = path.strip_prefix("config.").unwrap_or(path);
    let path = path.strip_prefix("components.").unwrap_or(path);
    if let Some(rest) = path.strip_prefix("ip_access_list[") {
        let (i, tail) = rest.split_once(']').unwrap_or(("0", ""));
        return if tail.ends_with("description") { format!("ip-desc-{i}") } else { format!("ip-cidr-{i}") };
    }
    let short = |field: &str| {
        match field {
            "cluster_type" => "tier",
            "cloud_provider" => "provider",
            "root_password" => "password",
            "node_size" => "size",
            "node_quantity" => "quantity",
            "storage_size_gib" => "storage",
            other => other,
        }
        .replace('_', "-")
    };
    match path.split_once('.') {
        Some((component, field)) => format!("{component}-{}", short(field)),
        None => match path {
            "components" => "tidb-size".to_owned(),
            "ip_access_list" => "ip-add".to_owned(),
            "tidb" | "tikv" | "tiflash" => format!("{path}-enabled"),
            field => format!("cluster-{}", short(field)),
        },
    }
}

/// The form as typed (numbers as text, so nothing typed is lost). Never holds the password.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Draft {
    pub name: String,
    pub serverless: bool,
    pub gcp: bool,
    pub region: String,
    pub port: String,
    pub tidb_size: String,
    pub tidb_quantity: String,
    pub tikv_size: String,
    pub tikv_quantity: String,
    pub tikv_storage: String,
    pub tiflash: bool,
    pub tiflash_size: String,
    pub tiflash_quantity: String,
    pub tiflash_storage: String,
    pub ip_access_list: Vec<(String, String)>,
}

fn number(path: &str, text: &str, errors: &mut Vec<FieldError>) -> i32 {
    match text.trim().parse::<i32>() {
        Ok(n) => n,
        Err(_) => {
            let shown = if text.trim().is_empty() { "nothing".to_owned() } else { format!("\"{text}\"") };
            errors.push(FieldError::new(path, format!("{shown} is not a whole number")));
            0
        }
    }
}

impl Draft {
    pub fn cluster_type(&self) -> ClusterType {
        if self.serverless { ClusterType::Developer } else { ClusterType::Dedicated }
    }

    pub fn provider(&self) -> CloudProvider {
        if self.gcp { CloudProvider::Gcp } else { CloudProvider::Aws }
    }

    /// The request this draft makes, and the fields that are not even numbers.
    pub fn request(&self, password: &str) -> (CreateClusterReq, Vec<FieldError>) {
        let mut errors = Vec::new();
        let port =
            if self.port.trim().is_empty() { None } else { Some(number("config.port", &self.port, &mut errors)) };
        let components = (!self.serverless).then(|| Components {
            tidb: TidbComponent {
                node_size: self.tidb_size.clone(),
                node_quantity: number("config.components.tidb.node_quantity", &self.tidb_quantity, &mut errors),
            },
            tikv: StorageComponent {
                node_size: self.tikv_size.clone(),
                node_quantity: number("config.components.tikv.node_quantity", &self.tikv_quantity, &mut errors),
                storage_size_gib: number("config.components.tikv.storage_size_gib", &self.tikv_storage, &mut errors),
            },
            tiflash: self.tiflash.then(|| StorageComponent {
                node_size: self.tiflash_size.clone(),
                node_quantity: number("config.components.tiflash.node_quantity", &self.tiflash_quantity, &mut errors),
                storage_size_gib: number(
                    "config.components.tiflash.storage_size_gib",
                    &self.tiflash_storage,
                    &mut errors,
                ),
            }),
        });
        let ip_access_list = (!self.ip_access_list.is_empty()).then(|| {
            self.ip_access_list
                .iter()
                .map(|(cidr, d)| IpAccessListItem {
                    cidr: cidr.trim().to_owned(),
                    description: (!d.trim().is_empty()).then(|| d.trim().to_owned()),
                })
                .collect()
        });
        let req = CreateClusterReq {
            name: self.name.clone(),
            cluster_type: self.cluster_type(),
            cloud_provider: self.provider(),
            region: self.region.clone(),
            config: CreateClusterConfig { root_password: password.to_owned(), port, components, ip_access_list },
        };
        (req, errors)
    }

    /// Every field error: not-a-number first, then the rules the server applies.
    pub fn errors(&self, password: &str, catalog: &ListProviderRegionsResp, cmek: CmekContext<'_>) -> Vec<FieldError> {
        let (req, mut errors) = self.request(password);
        if let Err(e) = check_cmek_placement(cmek, req.cluster_type, req.cloud_provider, &req.region) {
            errors.extend(e.fields);
        }
        let typed: Vec<String> = errors.iter().map(|e| e.field.clone()).collect();
        errors.extend(check_create(&req, catalog).into_iter().filter(|e| !typed.contains(&e.field)));
        errors
    }

    /// Picks catalog defaults for whatever is empty or no longer offered in the region.
    pub fn fit(&mut self, catalog: &ListProviderRegionsResp) {
        let regions = catalog.regions(self.cluster_type(), self.provider());
        if !regions.contains(&self.region.as_str()) {
            self.region = regions.first().map(|r| (*r).to_owned()).unwrap_or_default();
        }
        let Some(entry) = catalog.find(self.cluster_type(), self.provider(), &self.region) else { return };
        // A node size the region offers, preferring 8 vCPUs or more.
        let eight_or_first = |sizes: Vec<&str>| {
            sizes
                .iter()
                .find(|s| cmek_core::cluster::vcpus(s).unwrap_or(0) >= 8)
                .or(sizes.first())
                .map(|s| s.to_string())
        };
        let tidb = eight_or_first(entry.tidb.iter().map(|p| p.node_size.as_str()).collect());
        if let Some(p) = tidb.and_then(|s| entry.tidb.iter().find(|p| p.node_size == s))
            && !entry.tidb.iter().any(|p| p.node_size == self.tidb_size)
        {
            self.tidb_size = p.node_size.clone();
            self.tidb_quantity = p.node_quantity_range.min.max(2).to_string();
        }
        let tikv = eight_or_first(entry.tikv.iter().map(|p| p.node_size.as_str()).collect());
        if let Some(p) = tikv.and_then(|s| entry.tikv.iter().find(|p| p.node_size == s))
            && !entry.tikv.iter().any(|p| p.node_size == self.tikv_size)
        {
            self.tikv_size = p.node_size.clone();
            self.tikv_quantity = p.node_quantity_range.min.max(3).to_string();
            self.tikv_storage = p.storage_size_gib_range.min.max(500).min(p.storage_size_gib_range.max).to_string();
        }
        if let Some(p) = entry.tiflash.first()
            && !entry.tiflash.iter().any(|p| p.node_size == self.tiflash_size)
        {
            self.tiflash_size = p.node_size.clone();
            self.tiflash_quantity = p.node_quantity_range.min.max(1).to_string();
            self.tiflash_storage = p.storage_size_gib_range.min.to_string();
        }
        if self.port.is_empty() {
            self.port = DEFAULT_PORT.to_string();
        }
    }
}

fn storage_key(project_id: &str) -> String {
    format!("cmek-console:draft-cluster:{project_id}")
}

pub fn load_draft(project_id: &str) -> Option<Draft> {
    crate::drafts::load(&storage_key(project_id))
}

pub fn save_draft(project_id: &str, d: Option<&Draft>) {
    crate::drafts::save(&storage_key(project_id), d)
}
