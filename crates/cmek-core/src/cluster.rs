//! Cluster spec rules: the OAS's own (name, password, port, components against the provider
//! catalog, the 4-vCPU rule) and the CMEK project's (Dedicated on AWS, in the key's region only).

use crate::api::{
    CloudProvider, ClusterType, Components, CreateClusterReq, IpAccessListItem, ListProviderRegionsResp,
    ProviderRegion, QuantityRange, StorageComponent, StorageProfile, StorageRange, UpdateComponents,
};
use crate::error::{ErrorCode, FieldError, RuleError};

pub const NAME_MIN: usize = 4;
pub const NAME_MAX: usize = 64;
pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 64;
pub const DEFAULT_PORT: i32 = 4000;
pub const PORT_MIN: i32 = 1024;
pub const PORT_MAX: i32 = 65535;
/// Used by TiDB's status port; the OAS excludes it.
pub const RESERVED_PORT: i32 = 10080;
/// The simulation's ceiling on nodes of one component (v1beta has no maximum; a bound keeps a
/// typo such as 30000 from being taken literally).
pub const MAX_NODES: i32 = 150;
pub const MAX_IP_ACCESS_LIST: usize = 100;
pub const MAX_DESCRIPTION: usize = 256;

/// Fields whose value is a secret: never repeated in a message, never stored in clear.
pub const SECRET_FIELDS: &[&str] = &["config.root_password"];

pub fn is_secret_field(path: &str) -> bool {
    SECRET_FIELDS.contains(&path)
}

/// The CMEK facts of the project a cluster is created in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmekContext<'a> {
    /// The project was created without CMEK: any type, provider and catalog region.
    NotEnabled,
    /// A CMEK project whose key is not configured yet.
    NoKey,
    /// A CMEK project with its key in this region.
    Key { region: &'a str },
}

/// Where a cluster of a CMEK project may go, or why it may not go anywhere yet.
pub fn check_cmek_placement(
    ctx: CmekContext<'_>,
    cluster_type: ClusterType,
    provider: CloudProvider,
    region: &str,
) -> Result<(), RuleError> {
    match ctx {
        CmekContext::NotEnabled => Ok(()),
        CmekContext::NoKey => Err(RuleError::new(
            ErrorCode::CmekNotConfigured,
            "this project encrypts with a customer-managed key, and none is configured yet: configure the key on the project's Encryption Access page (POST /api/v1beta/projects/{project_id}/aws-cmek) before creating clusters",
        )),
        CmekContext::Key { region: key_region } => {
            let mut fields = Vec::new();
            if cluster_type != ClusterType::Dedicated {
                fields.push(FieldError::new(
                    "cluster_type",
                    format!("\"{}\" is not allowed: CMEK projects host only DEDICATED clusters", cluster_type.as_str()),
                ));
            }
            if provider != CloudProvider::Aws {
                fields.push(FieldError::new(
                    "cloud_provider",
                    format!(
                        "\"{}\" is not allowed: CMEK projects host only clusters on AWS, where the key is",
                        provider.as_str()
                    ),
                ));
            }
            if !fields.is_empty() {
                return Err(RuleError::fields(ErrorCode::CmekClusterNotAllowed, fields));
            }
            if region != key_region {
                return Err(RuleError::fields(
                    ErrorCode::CmekClusterRegionMismatch,
                    vec![FieldError::new(
                        "region",
                        format!(
                            "\"{region}\" is not allowed: this project encrypts with the key in {key_region}, so its clusters run in {key_region} only"
                        ),
                    )],
                ));
            }
            Ok(())
        }
    }
}

/// Cluster name: 4–64 letters, digits and hyphens, starting and ending with a letter or digit.
pub fn check_name(name: &str) -> Result<(), String> {
    let n = name.chars().count();
    if !(NAME_MIN..=NAME_MAX).contains(&n) {
        return Err(format!("\"{name}\" has {n} characters; a cluster name has {NAME_MIN}–{NAME_MAX}"));
    }
    if let Some((c, at, what)) = crate::text::hidden_character(name) {
        // Not echoed: a direction override in the message would turn the message around too.
        return Err(format!("the name {}", crate::text::hidden_character_message(c, at, what)));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
        return Err(format!("\"{name}\" contains {c:?}; use only letters, digits and hyphens"));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(format!("\"{name}\" must start and end with a letter or digit"));
    }
    Ok(())
}

/// Root password: 8–64 characters. The message never repeats the password.
pub fn check_root_password(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&n) {
        return Err(format!("the password has {n} characters; it needs {PASSWORD_MIN}–{PASSWORD_MAX}"));
    }
    Ok(())
}

/// Port: 1024–65535 except 10080.
pub fn check_port(port: i32) -> Result<(), String> {
    if !(PORT_MIN..=PORT_MAX).contains(&port) {
        return Err(format!("{port} is outside {PORT_MIN}–{PORT_MAX}"));
    }
    if port == RESERVED_PORT {
        return Err(format!("{RESERVED_PORT} is reserved; choose another port in {PORT_MIN}–{PORT_MAX}"));
    }
    Ok(())
}

/// The vCPUs of a node size such as `8C16G`.
pub fn vcpus(node_size: &str) -> Option<i32> {
    let (cpu, rest) = node_size.split_once('C')?;
    let ram = rest.strip_suffix('G')?;
    if ram.is_empty() || !ram.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    cpu.parse().ok().filter(|n| *n > 0)
}

/// The RAM of a node size in bytes.
pub fn ram_bytes(node_size: &str) -> Option<i64> {
    let (_, rest) = node_size.split_once('C')?;
    let gib: i64 = rest.strip_suffix('G')?.parse().ok()?;
    gib.checked_mul(1024 * 1024 * 1024)
}

/// Quantity against `{min, step}`: at least `min`, and `min` plus a multiple of `step`.
pub fn check_quantity(q: i32, range: QuantityRange) -> Result<(), String> {
    if q < range.min {
        return Err(format!("{q} is below the minimum of {}", range.min));
    }
    if q > MAX_NODES {
        return Err(format!("{q} is above the maximum of {MAX_NODES}"));
    }
    if range.step > 1 && (q - range.min) % range.step != 0 {
        return Err(format!(
            "{q} is not allowed: use {} plus a multiple of {} ({})",
            range.min,
            range.step,
            examples(range)
        ));
    }
    Ok(())
}

fn examples(range: QuantityRange) -> String {
    let start = range.min.max(range.step.max(1));
    (0..3).map(|i| (start + i * range.step.max(1)).to_string()).collect::<Vec<_>>().join(", ") + ", …"
}

pub fn check_storage(gib: i32, range: StorageRange) -> Result<(), String> {
    if gib < range.min || gib > range.max {
        return Err(format!("{gib} GiB is outside {}–{} GiB for this node size", range.min, range.max));
    }
    Ok(())
}

fn sizes<T>(list: &[T], name: impl Fn(&T) -> &str) -> String {
    list.iter().map(name).collect::<Vec<_>>().join(", ")
}

fn check_storage_component(path: &str, c: &StorageComponent, profiles: &[StorageProfile], out: &mut Vec<FieldError>) {
    match profiles.iter().find(|p| p.node_size == c.node_size) {
        None => out.push(FieldError::new(
            format!("{path}.node_size"),
            format!(
                "\"{}\" is not offered in this region; choose one of {}",
                c.node_size,
                sizes(profiles, |p| &p.node_size)
            ),
        )),
        Some(p) => {
            if let Err(m) = check_quantity(c.node_quantity, p.node_quantity_range) {
                out.push(FieldError::new(format!("{path}.node_quantity"), m));
            }
            if let Err(m) = check_storage(c.storage_size_gib, p.storage_size_gib_range) {
                out.push(FieldError::new(format!("{path}.storage_size_gib"), m));
            }
        }
    }
}

/// The component rules against the region's catalog entry, including the 4-vCPU rule.
pub fn check_components(c: &Components, entry: &ProviderRegion) -> Vec<FieldError> {
    let mut out = Vec::new();
    let base = "config.components";
    match entry.tidb.iter().find(|p| p.node_size == c.tidb.node_size) {
        None => out.push(FieldError::new(
            format!("{base}.tidb.node_size"),
            format!(
                "\"{}\" is not offered in this region; choose one of {}",
                c.tidb.node_size,
                sizes(&entry.tidb, |p| &p.node_size)
            ),
        )),
        Some(p) => {
            if let Err(m) = check_quantity(c.tidb.node_quantity, p.node_quantity_range) {
                out.push(FieldError::new(format!("{base}.tidb.node_quantity"), m));
            }
        }
    }
    check_storage_component(&format!("{base}.tikv"), &c.tikv, &entry.tikv, &mut out);
    let tiflash = c.tiflash.as_ref().filter(|t| t.node_quantity != 0 || !t.node_size.is_empty());
    if let Some(t) = tiflash {
        if entry.tiflash.is_empty() {
            out.push(FieldError::new(format!("{base}.tiflash"), "TiFlash is not offered in this region"));
        } else {
            check_storage_component(&format!("{base}.tiflash"), t, &entry.tiflash, &mut out);
        }
    }
    // "If the vCPUs of TiDB or TiKV component is 4, then their vCPUs need to be the same. If the
    // vCPUs of TiDB or TiKV component is 4, then the cluster does not support TiFlash."
    if let (Some(db), Some(kv)) = (vcpus(&c.tidb.node_size), vcpus(&c.tikv.node_size)) {
        if (db == 4 || kv == 4) && db != kv {
            out.push(FieldError::new(
                format!("{base}.tikv.node_size"),
                format!(
                    "with a 4-vCPU node size, TiDB and TiKV must have the same vCPUs (TiDB has {db}, TiKV has {kv})"
                ),
            ));
        }
        if (db == 4 || kv == 4) && tiflash.is_some_and(|t| t.node_quantity > 0) {
            out.push(FieldError::new(
                format!("{base}.tiflash"),
                "TiFlash is not available when TiDB or TiKV uses a 4-vCPU node size",
            ));
        }
    }
    out
}

/// IPv4 or IPv6 CIDR such as `203.0.113.0/24` or `2001:db8::/32`.
pub fn check_cidr(cidr: &str) -> Result<(), String> {
    let Some((addr, bits)) = cidr.split_once('/') else {
        return Err(format!("\"{cidr}\" is not a CIDR block such as 203.0.113.7/32"));
    };
    // Digits only: `u8::from_str` would also take a leading "+".
    let bits: u8 = Some(bits)
        .filter(|b| !b.is_empty() && b.bytes().all(|c| c.is_ascii_digit()))
        .and_then(|b| b.parse().ok())
        .ok_or_else(|| format!("\"{cidr}\" has an invalid prefix length"))?;
    let max = if addr.parse::<std::net::Ipv4Addr>().is_ok() {
        32
    } else if addr.parse::<std::net::Ipv6Addr>().is_ok() {
        128
    } else {
        return Err(format!("\"{addr}\" in \"{cidr}\" is not an IPv4 or IPv6 address"));
    };
    if bits > max {
        return Err(format!("\"{cidr}\" has prefix /{bits}; the maximum is /{max}"));
    }
    Ok(())
}

fn check_ip_access_list(list: &[IpAccessListItem], out: &mut Vec<FieldError>) {
    if list.len() > MAX_IP_ACCESS_LIST {
        out.push(FieldError::new(
            "config.ip_access_list",
            format!("{} entries; at most {MAX_IP_ACCESS_LIST}", list.len()),
        ));
    }
    for (i, item) in list.iter().enumerate() {
        if let Err(m) = check_cidr(&item.cidr) {
            out.push(FieldError::new(format!("config.ip_access_list[{i}].cidr"), m));
        }
        if let Some(d) = &item.description
            && d.chars().count() > MAX_DESCRIPTION
        {
            out.push(FieldError::new(
                format!("config.ip_access_list[{i}].description"),
                format!("{} characters; at most {MAX_DESCRIPTION}", d.chars().count()),
            ));
        }
    }
}

/// Every field rule of CreateCluster against the catalog (the CMEK placement is checked by
/// [`check_cmek_placement`] first, so its refusal can point at the Encryption Access step).
pub fn check_create(req: &CreateClusterReq, catalog: &ListProviderRegionsResp) -> Vec<FieldError> {
    let mut out = Vec::new();
    if let Err(m) = check_name(&req.name) {
        out.push(FieldError::new("name", m));
    }
    if let Err(m) = check_root_password(&req.config.root_password) {
        out.push(FieldError::new("config.root_password", m));
    }
    let port = req.config.port.unwrap_or(DEFAULT_PORT);
    if let Err(m) = check_port(port) {
        out.push(FieldError::new("config.port", m));
    } else if req.cluster_type == ClusterType::Developer && port != DEFAULT_PORT {
        out.push(FieldError::new(
            "config.port",
            format!("{port} is not allowed: Serverless clusters listen on {DEFAULT_PORT}"),
        ));
    }
    if let Some(list) = &req.config.ip_access_list {
        check_ip_access_list(list, &mut out);
    }
    match catalog.find(req.cluster_type, req.cloud_provider, &req.region) {
        None => {
            let offered = catalog.regions(req.cluster_type, req.cloud_provider);
            out.push(FieldError::new(
                "region",
                if offered.is_empty() {
                    format!("{} clusters are not offered on {}", req.cluster_type.as_str(), req.cloud_provider.as_str())
                } else {
                    format!(
                        "\"{}\" is not a region offered for {} on {}; choose one of {}",
                        req.region,
                        req.cluster_type.as_str(),
                        req.cloud_provider.as_str(),
                        offered.join(", ")
                    )
                },
            ));
        }
        Some(entry) => {
            if req.cluster_type == ClusterType::Dedicated {
                match &req.config.components {
                    None => out.push(FieldError::new(
                        "config.components",
                        "is required for a DEDICATED cluster (tidb and tikv at least)",
                    )),
                    Some(c) => out.extend(check_components(c, entry)),
                }
            }
        }
    }
    out
}

/// The OAS: on AWS, "wait at least six hours between storage changes".
pub const STORAGE_CHANGE_INTERVAL_MS: i64 = 6 * 3600 * 1000;

/// UpdateCluster modifies Dedicated clusters: a Serverless (`DEVELOPER`) cluster is neither
/// paused, resumed nor scaled through it. `field` is the part of the request that asked.
pub fn check_update_target(cluster_type: ClusterType, field: &str) -> Result<(), RuleError> {
    if cluster_type == ClusterType::Dedicated {
        return Ok(());
    }
    let what = if field == "config.paused" { "paused or resumed" } else { "scaled" };
    Err(RuleError::fields(
        ErrorCode::ValidationFailed,
        vec![FieldError::new(
            field,
            format!(
                "a {} (Serverless) cluster cannot be {what}: UpdateCluster modifies DEDICATED clusters",
                cluster_type.as_str()
            ),
        )],
    ))
}

/// A TiKV storage change on AWS at `now_ms`, the last one having been at `last_change_ms`:
/// refused within six hours of it, saying when the next one may be made.
pub fn check_storage_change_interval(
    provider: CloudProvider,
    last_change_ms: Option<i64>,
    now_ms: i64,
) -> Result<(), RuleError> {
    let Some(last) = last_change_ms else { return Ok(()) };
    if provider != CloudProvider::Aws || now_ms.saturating_sub(last) >= STORAGE_CHANGE_INTERVAL_MS {
        return Ok(());
    }
    let wait_min = (last + STORAGE_CHANGE_INTERVAL_MS - now_ms + 59_999) / 60_000;
    Err(RuleError::fields(
        ErrorCode::StorageChangeTooSoon,
        vec![FieldError::new(
            "config.components.tikv.storage_size_gib",
            format!(
                "the TiKV storage was changed {} minutes ago; on AWS storage can change once every six hours, so the next change is possible in {} h {:02} min",
                now_ms.saturating_sub(last) / 60_000,
                wait_min / 60,
                wait_min % 60
            ),
        )],
    ))
}

/// The rules of a components change (PATCH `config.components`) on an existing cluster.
pub fn check_update_components(
    current: &Components,
    change: &UpdateComponents,
    entry: &ProviderRegion,
) -> Result<Components, RuleError> {
    if change.is_empty() {
        return Err(RuleError::new(
            ErrorCode::UpdateEmpty,
            "config.components names nothing to change: set node_size, node_quantity or storage_size_gib of tidb, tikv or tiflash",
        ));
    }
    let mut next = current.clone();
    let mut out = Vec::new();
    if let Some(t) = &change.tidb {
        if let Some(s) = &t.node_size {
            next.tidb.node_size = s.clone();
        }
        if let Some(q) = t.node_quantity {
            next.tidb.node_quantity = q;
        }
        if let Some(id) = &t.accesspoint_id
            && id.parse::<u64>().is_err()
        {
            out.push(FieldError::new(
                "config.components.tidb.accesspoint_id",
                format!("\"{id}\" is not a decimal uint64 id"),
            ));
        }
    }
    if let Some(k) = &change.tikv {
        apply_storage(&mut next.tikv, k, "config.components.tikv", &mut out);
    }
    if let Some(f) = &change.tiflash {
        match next.tiflash.as_mut() {
            Some(existing) => apply_storage(existing, f, "config.components.tiflash", &mut out),
            None => match (&f.node_size, f.storage_size_gib, f.node_quantity) {
                (Some(size), Some(gib), Some(q)) => {
                    next.tiflash =
                        Some(StorageComponent { node_size: size.clone(), storage_size_gib: gib, node_quantity: q })
                }
                _ => out.push(FieldError::new(
                    "config.components.tiflash",
                    "adding TiFlash needs node_size, storage_size_gib and node_quantity together",
                )),
            },
        }
    }
    out.extend(check_components(&next, entry));
    if !out.is_empty() {
        return Err(RuleError::fields(ErrorCode::ValidationFailed, out));
    }
    if next == *current {
        return Err(RuleError::new(
            ErrorCode::UpdateEmpty,
            "the components already are as requested: nothing to change",
        ));
    }
    Ok(next)
}

fn apply_storage(
    c: &mut StorageComponent,
    change: &crate::api::UpdateStorageComponent,
    path: &str,
    out: &mut Vec<FieldError>,
) {
    if let Some(s) = &change.node_size {
        c.node_size = s.clone();
    }
    if let Some(q) = change.node_quantity {
        c.node_quantity = q;
    }
    if let Some(g) = change.storage_size_gib {
        if g < c.storage_size_gib {
            out.push(FieldError::new(
                format!("{path}.storage_size_gib"),
                format!("{g} GiB is below the current {} GiB; storage can only grow", c.storage_size_gib),
            ));
        }
        c.storage_size_gib = g;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{CreateClusterConfig, TidbComponent, TidbProfile};

    pub(crate) fn catalog() -> ListProviderRegionsResp {
        let tidb =
            |s: &str| TidbProfile { node_size: s.into(), node_quantity_range: QuantityRange { min: 1, step: 1 } };
        let kv = |s: &str, min, max| StorageProfile {
            node_size: s.into(),
            node_quantity_range: QuantityRange { min: 3, step: 3 },
            storage_size_gib_range: StorageRange { min, max },
        };
        let flash = |s: &str| StorageProfile {
            node_size: s.into(),
            node_quantity_range: QuantityRange { min: 0, step: 1 },
            storage_size_gib_range: StorageRange { min: 500, max: 2048 },
        };
        let entry = |provider, region: &str| ProviderRegion {
            cluster_type: ClusterType::Dedicated,
            cloud_provider: provider,
            region: region.into(),
            tidb: vec![tidb("4C16G"), tidb("8C16G"), tidb("16C32G")],
            tikv: vec![kv("4C16G", 200, 2048), kv("8C32G", 500, 4096), kv("16C64G", 500, 4096)],
            tiflash: vec![flash("8C64G"), flash("16C128G")],
        };
        ListProviderRegionsResp {
            items: vec![
                entry(CloudProvider::Aws, "us-west-2"),
                entry(CloudProvider::Aws, "us-east-1"),
                entry(CloudProvider::Gcp, "us-central1"),
                ProviderRegion {
                    cluster_type: ClusterType::Developer,
                    cloud_provider: CloudProvider::Aws,
                    region: "us-west-2".into(),
                    tidb: vec![],
                    tikv: vec![],
                    tiflash: vec![],
                },
            ],
        }
    }

    pub(crate) fn request() -> CreateClusterReq {
        CreateClusterReq {
            name: "Cluster0".into(),
            cluster_type: ClusterType::Dedicated,
            cloud_provider: CloudProvider::Aws,
            region: "us-west-2".into(),
            config: CreateClusterConfig {
                root_password: "password_example".into(),
                port: Some(4000),
                components: Some(Components {
                    tidb: TidbComponent { node_size: "8C16G".into(), node_quantity: 2 },
                    tikv: StorageComponent { node_size: "8C32G".into(), storage_size_gib: 1024, node_quantity: 3 },
                    tiflash: None,
                }),
                ip_access_list: Some(vec![IpAccessListItem {
                    cidr: "8.8.8.8/32".into(),
                    description: Some("My IP".into()),
                }]),
            },
        }
    }

    fn fields(req: &CreateClusterReq) -> Vec<String> {
        check_create(req, &catalog()).into_iter().map(|f| f.field).collect()
    }

    #[test]
    fn the_oas_example_is_valid() {
        assert_eq!(check_create(&request(), &catalog()), vec![]);
    }

    #[test]
    fn names() {
        for ok in ["abcd", "Cluster0", "a-b-c-d", &"a".repeat(64)] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["abc", "-abcd", "abcd-", "ab_cd", "ab cd", &"a".repeat(65), "clüster"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ports() {
        assert!(check_port(4000).is_ok());
        assert!(check_port(1024).is_ok() && check_port(65535).is_ok());
        assert!(check_port(1023).is_err() && check_port(65536).is_err());
        assert!(check_port(10080).unwrap_err().contains("reserved"));
    }

    #[test]
    fn password_message_never_repeats_it() {
        let e = check_root_password("short").unwrap_err();
        assert!(!e.contains("short"), "{e}");
        assert!(check_root_password(&"x".repeat(65)).is_err());
    }

    #[test]
    fn quantities_follow_min_and_step() {
        let r = QuantityRange { min: 3, step: 3 };
        assert!(check_quantity(3, r).is_ok() && check_quantity(9, r).is_ok());
        assert!(check_quantity(4, r).unwrap_err().contains("multiple of 3"));
        assert!(check_quantity(0, r).is_err());
        assert!(check_quantity(MAX_NODES + 3, r).is_err());
        assert!(check_quantity(0, QuantityRange { min: 0, step: 1 }).is_ok());
    }

    #[test]
    fn component_rules() {
        let mut r = request();
        r.config.components.as_mut().unwrap().tikv.node_quantity = 4;
        r.config.components.as_mut().unwrap().tikv.storage_size_gib = 100;
        r.config.components.as_mut().unwrap().tidb.node_size = "2C4G".into();
        assert_eq!(
            fields(&r),
            vec![
                "config.components.tidb.node_size",
                "config.components.tikv.node_quantity",
                "config.components.tikv.storage_size_gib"
            ]
        );
    }

    #[test]
    fn four_vcpu_rule() {
        let mut r = request();
        let c = r.config.components.as_mut().unwrap();
        c.tidb.node_size = "4C16G".into();
        assert_eq!(fields(&r), vec!["config.components.tikv.node_size"]);
        let c = r.config.components.as_mut().unwrap();
        c.tikv = StorageComponent { node_size: "4C16G".into(), storage_size_gib: 500, node_quantity: 3 };
        assert_eq!(fields(&r), Vec::<String>::new());
        r.config.components.as_mut().unwrap().tiflash =
            Some(StorageComponent { node_size: "8C64G".into(), storage_size_gib: 500, node_quantity: 1 });
        assert_eq!(fields(&r), vec!["config.components.tiflash"]);
    }

    #[test]
    fn dedicated_needs_components_and_catalog_region() {
        let mut r = request();
        r.config.components = None;
        assert_eq!(fields(&r), vec!["config.components"]);
        let mut r = request();
        r.region = "mars-1".into();
        let e = check_create(&r, &catalog());
        assert!(e[0].message.contains("us-west-2, us-east-1"), "{}", e[0].message);
    }

    #[test]
    fn serverless_listens_on_4000_only() {
        let mut r = request();
        r.cluster_type = ClusterType::Developer;
        r.config.components = None;
        assert_eq!(fields(&r), Vec::<String>::new());
        r.config.port = Some(5000);
        assert_eq!(fields(&r), vec!["config.port"]);
    }

    #[test]
    fn cidrs() {
        for ok in ["8.8.8.8/32", "10.0.0.0/8", "0.0.0.0/0", "2001:db8::/32"] {
            assert!(check_cidr(ok).is_ok(), "{ok}");
        }
        for bad in ["8.8.8.8", "8.8.8.8/33", "300.1.1.1/32", "x/1", "2001:db8::/129", "1.2.3.4/-1"] {
            assert!(check_cidr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cmek_placement() {
        use CloudProvider::*;
        use ClusterType::*;
        assert!(check_cmek_placement(CmekContext::NotEnabled, Developer, Gcp, "x").is_ok());
        let e = check_cmek_placement(CmekContext::NoKey, Dedicated, Aws, "us-west-2").unwrap_err();
        assert_eq!(e.code, ErrorCode::CmekNotConfigured);
        assert!(e.message.contains("Encryption Access"));
        let key = CmekContext::Key { region: "us-west-2" };
        assert!(check_cmek_placement(key, Dedicated, Aws, "us-west-2").is_ok());
        let e = check_cmek_placement(key, Dedicated, Aws, "us-east-1").unwrap_err();
        assert_eq!(e.code, ErrorCode::CmekClusterRegionMismatch);
        assert!(e.message.contains("us-west-2") && e.message.contains("us-east-1"));
        let e = check_cmek_placement(key, Developer, Gcp, "us-west-2").unwrap_err();
        assert_eq!(e.code, ErrorCode::CmekClusterNotAllowed);
        assert_eq!(e.fields.len(), 2);
    }

    #[test]
    fn update_components() {
        let r = request();
        let cat = catalog();
        let entry = cat.find(ClusterType::Dedicated, CloudProvider::Aws, "us-west-2").unwrap();
        let current = r.config.components.unwrap();
        let grow = UpdateComponents {
            tikv: Some(crate::api::UpdateStorageComponent {
                storage_size_gib: Some(2048),
                node_quantity: Some(6),
                node_size: None,
            }),
            ..Default::default()
        };
        let next = check_update_components(&current, &grow, entry).unwrap();
        assert_eq!((next.tikv.node_quantity, next.tikv.storage_size_gib), (6, 2048));
        let shrink = UpdateComponents {
            tikv: Some(crate::api::UpdateStorageComponent { storage_size_gib: Some(600), ..Default::default() }),
            ..Default::default()
        };
        let e = check_update_components(&current, &shrink, entry).unwrap_err();
        assert!(e.fields[0].message.contains("only grow"));
        let half_flash = UpdateComponents {
            tiflash: Some(crate::api::UpdateStorageComponent { node_size: Some("8C64G".into()), ..Default::default() }),
            ..Default::default()
        };
        assert_eq!(
            check_update_components(&current, &half_flash, entry).unwrap_err().fields[0].field,
            "config.components.tiflash"
        );
        let nothing = UpdateComponents { tikv: Some(Default::default()), ..Default::default() };
        assert_eq!(check_update_components(&current, &nothing, entry).unwrap_err().code, ErrorCode::UpdateEmpty);
        let same = UpdateComponents {
            tikv: Some(crate::api::UpdateStorageComponent { node_quantity: Some(3), ..Default::default() }),
            ..Default::default()
        };
        assert_eq!(check_update_components(&current, &same, entry).unwrap_err().code, ErrorCode::UpdateEmpty);
    }

    #[test]
    fn node_sizes() {
        assert_eq!(vcpus("8C16G"), Some(8));
        assert_eq!(vcpus("Shared0"), None);
        assert_eq!(ram_bytes("8C16G"), Some(17179869184));
    }
}

#[cfg(test)]
mod update_rules {
    use super::*;

    #[test]
    fn storage_changes_on_aws_wait_six_hours() {
        let h = 3600 * 1000;
        assert!(check_storage_change_interval(CloudProvider::Aws, None, 0).is_ok());
        let e = check_storage_change_interval(CloudProvider::Aws, Some(0), h).unwrap_err();
        assert_eq!(e.code, ErrorCode::StorageChangeTooSoon);
        assert!(e.message.contains("in 5 h 00 min"), "{}", e.message);
        assert!(check_storage_change_interval(CloudProvider::Aws, Some(0), 6 * h).is_ok());
        assert!(check_storage_change_interval(CloudProvider::Gcp, Some(0), h).is_ok());
    }

    #[test]
    fn only_dedicated_clusters_are_updated() {
        assert!(check_update_target(ClusterType::Dedicated, "config.paused").is_ok());
        let e = check_update_target(ClusterType::Developer, "config.paused").unwrap_err();
        assert_eq!(e.fields[0].field, "config.paused");
        assert!(e.message.contains("cannot be paused"), "{}", e.message);
    }
}
