//! The official v1beta OAS's operations this server does not implement. A request for one is
//! answered with an `ErrorResponse` that says so plainly (501, code 49950008), not with the
//! "there is no endpoint" of a wrong path, which would read as "this cluster does not exist".

/// A path under a cluster (the OAS's operations below are mostly there).
macro_rules! cluster {
    ($rest:literal) => {
        concat!("/api/v1beta/projects/{project_id}/clusters/{cluster_id}", $rest)
    };
}

/// A path under a cluster's access point.
macro_rules! accesspoint {
    ($rest:literal) => {
        concat!("/api/v1beta/projects/{project_id}/clusters/{cluster_id}/accesspoints/{accesspoint_id}", $rest)
    };
}

/// (method, path template, operationId), as the OAS names them.
pub const OPERATIONS: &[(&str, &str, &str)] = &[
    ("GET", cluster!("/accesspoints"), "ListAccesspoints"),
    ("POST", cluster!("/accesspoints"), "CreateAccesspoint"),
    ("GET", accesspoint!(""), "GetAccesspoint"),
    ("DELETE", accesspoint!(""), "DeleteAccesspoint"),
    ("PATCH", accesspoint!(""), "UpdateAccesspoint"),
    ("GET", accesspoint!("/privateLinkEndpoints"), "ListPrivateLinkEndpoints"),
    ("POST", accesspoint!("/privateLinkEndpoints"), "CreatePrivateLinkEndpoint"),
    ("GET", accesspoint!("/privateLinkEndpoints/{private_link_endpoint_id}"), "GetPrivateLinkEndpoint"),
    ("DELETE", accesspoint!("/privateLinkEndpoints/{private_link_endpoint_id}"), "DeletePrivateLinkEndpoint"),
    ("GET", cluster!("/imports"), "ListImportTasks"),
    ("POST", cluster!("/imports"), "CreateImportTask"),
    ("POST", cluster!("/imports/preview"), "PreviewImportData"),
    ("GET", cluster!("/imports/role_info"), "GetImportTaskRoleInfo"),
    ("POST", cluster!("/imports/upload_file"), "UploadLocalFile"),
    ("GET", cluster!("/imports/{import_id}"), "GetImportTask"),
    ("PATCH", cluster!("/imports/{import_id}"), "UpdateImportTask"),
    ("GET", cluster!("/private_endpoint_service"), "GetPrivateEndpointService"),
    ("POST", cluster!("/private_endpoint_service"), "CreatePrivateEndpointService"),
    ("GET", cluster!("/private_endpoints"), "ListPrivateEndpoints"),
    ("POST", cluster!("/private_endpoints"), "CreatePrivateEndpoint"),
    ("DELETE", cluster!("/private_endpoints/{endpoint_id}"), "DeletePrivateEndpoint"),
    ("GET", "/api/v1beta/projects/{project_id}/private_endpoints", "ListPrivateEndpointsOfProject"),
];

fn matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) =
        (template.split('/').collect(), path.trim_end_matches('/').split('/').collect());
    t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| (t.starts_with('{') && !p.is_empty()) || t == p)
}

/// The unimplemented operations at `path`: the one `method` names, else every one there.
pub fn find(method: &str, path: &str) -> Vec<&'static (&'static str, &'static str, &'static str)> {
    let at: Vec<_> = OPERATIONS.iter().filter(|(_, t, _)| matches(t, path)).collect();
    let exact: Vec<_> = at.iter().copied().filter(|(m, _, _)| *m == method).collect();
    if exact.is_empty() { at } else { exact }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_finds_its_operation() {
        let f = find("GET", "/api/v1beta/projects/1/clusters/2/accesspoints");
        assert_eq!(f.iter().map(|o| o.2).collect::<Vec<_>>(), ["ListAccesspoints"]);
        let f = find("PUT", "/api/v1beta/projects/1/clusters/2/imports/3");
        assert_eq!(f.iter().map(|o| o.2).collect::<Vec<_>>(), ["GetImportTask", "UpdateImportTask"]);
        assert!(find("GET", "/api/v1beta/projects/1/clusters/2/nothing").is_empty());
        assert!(find("GET", "/api/v1beta/projects//private_endpoints").is_empty());
    }
}
