//! A PATCH of a cluster (`UpdateCluster`): the one action it asks, and the rules of a
//! components change on the cluster as it stands. The server enforces them; they are here, with
//! the other cluster rules, so that the words are the core's.

use crate::api::{
    CloudProvider, ClusterType, Components, ListProviderRegionsResp, UpdateClusterConfig, UpdateComponents,
};
use crate::cluster::{check_storage_change_interval, check_update_components};
use crate::lifecycle::Action;
use crate::{ErrorCode, FieldError, RuleError};

/// The one thing a PATCH asks: pause (`config.paused: true`), resume (`false`) or change the
/// components (`config.components`); never two of them, never none.
pub fn decode_update(config: &UpdateClusterConfig) -> Result<Action, RuleError> {
    match (config.paused, &config.components) {
        (Some(_), Some(_)) => Err(RuleError::new(
            ErrorCode::UpdateConflictingFields,
            "config.paused and config.components cannot be set together: pause or resume, or change the components, in separate requests",
        )),
        (None, None) => Err(RuleError::new(
            ErrorCode::UpdateEmpty,
            "nothing to change: set config.paused (true pauses, false resumes) or config.components",
        )),
        (Some(true), None) => Ok(Action::Pause),
        (Some(false), None) => Ok(Action::Resume),
        (None, Some(_)) => Ok(Action::Modify),
    }
}

/// The request field that asked for `action`, as refusals name it.
pub fn update_field(action: Action) -> &'static str {
    match action {
        Action::Pause | Action::Resume => "config.paused",
        Action::Modify => "config.components",
    }
}

/// The cluster a components change applies to, as it stands.
#[derive(Clone, Copy, Debug)]
pub struct ScaleTarget<'a> {
    pub cluster_type: ClusterType,
    pub cloud_provider: CloudProvider,
    pub region: &'a str,
    /// `None` for a Serverless cluster.
    pub components: Option<&'a Components>,
    /// When its TiKV storage last changed (Unix ms), if ever.
    pub storage_changed_at_ms: Option<i64>,
}

/// A components change that passed the rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentChange {
    pub next: Components,
    /// Whether the TiKV storage size changes (AWS allows one such change per six hours).
    pub storage_changed: bool,
}

/// The rules of a components change at `now_ms`: the region must still be offered, the cluster
/// must have components, the change must fit the catalog, and a storage change must respect
/// the interval since the last one.
pub fn plan_component_change(
    catalog: &ListProviderRegionsResp,
    target: ScaleTarget<'_>,
    change: &UpdateComponents,
    now_ms: i64,
) -> Result<ComponentChange, RuleError> {
    let entry = catalog.find(target.cluster_type, target.cloud_provider, target.region).ok_or_else(|| {
        RuleError::new(
            ErrorCode::ValidationFailed,
            format!("{} is no longer offered, so the cluster cannot be scaled", target.region),
        )
    })?;
    let current = target.components.ok_or_else(|| {
        RuleError::fields(
            ErrorCode::ValidationFailed,
            vec![FieldError::new("config.components", "a Serverless cluster has no components to change")],
        )
    })?;
    let next = check_update_components(current, change, entry)?;
    let storage_changed = next.tikv.storage_size_gib != current.tikv.storage_size_gib;
    if storage_changed {
        check_storage_change_interval(target.cloud_provider, target.storage_changed_at_ms, now_ms)?;
    }
    Ok(ComponentChange { next, storage_changed })
}

/// What a new cluster of `cluster_type` keeps of the requested components: a Serverless
/// (`DEVELOPER`) cluster has none (the OAS: setting them "does not have any effects").
pub fn kept_components(cluster_type: ClusterType, requested: Option<&Components>) -> Option<&Components> {
    match cluster_type {
        ClusterType::Dedicated => requested,
        ClusterType::Developer => None,
    }
}

/// A restored cluster needs a name of its own: not the backed-up cluster's.
pub fn check_restore_name(source_name: &str, name: &str) -> Option<FieldError> {
    (name == source_name).then(|| {
        FieldError::new(
            "name",
            format!("\"{name}\" is the backed-up cluster's name; the restored cluster needs a different one"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::UpdateClusterConfig;

    #[test]
    fn a_patch_asks_exactly_one_thing() {
        let both = UpdateClusterConfig { paused: Some(true), components: Some(UpdateComponents::default()) };
        assert_eq!(decode_update(&both).unwrap_err().code, ErrorCode::UpdateConflictingFields);
        assert_eq!(decode_update(&UpdateClusterConfig::default()).unwrap_err().code, ErrorCode::UpdateEmpty);
        let pause = UpdateClusterConfig { paused: Some(true), components: None };
        assert_eq!(decode_update(&pause), Ok(Action::Pause));
        let resume = UpdateClusterConfig { paused: Some(false), components: None };
        assert_eq!(decode_update(&resume), Ok(Action::Resume));
        let modify = UpdateClusterConfig { paused: None, components: Some(UpdateComponents::default()) };
        assert_eq!(decode_update(&modify), Ok(Action::Modify));
        assert_eq!(update_field(Action::Resume), "config.paused");
        assert_eq!(update_field(Action::Modify), "config.components");
    }

    #[test]
    fn a_scale_needs_an_offered_region_and_components() {
        let catalog = ListProviderRegionsResp { items: Vec::new() };
        let target = ScaleTarget {
            cluster_type: ClusterType::Dedicated,
            cloud_provider: CloudProvider::Aws,
            region: "us-west-2",
            components: None,
            storage_changed_at_ms: None,
        };
        let e = plan_component_change(&catalog, target, &UpdateComponents::default(), 0).unwrap_err();
        assert_eq!(e.message, "us-west-2 is no longer offered, so the cluster cannot be scaled");
    }

    #[test]
    fn a_restored_cluster_needs_its_own_name() {
        assert!(check_restore_name("a", "b").is_none());
        assert_eq!(check_restore_name("a", "a").map(|f| f.field), Some("name".to_owned()));
        assert_eq!(kept_components(ClusterType::Developer, None), None);
    }
}
