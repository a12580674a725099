//! What the project pages share (provided by the project frame, `pages::project`): which
//! project, the project itself (v1beta has no "get project": it is found in the list), its
//! configured key, and its CMEK context as cmek-core derives it.

use crate::api::RequestError;
use cmek_core::api::{AwsCmekSpec, ListAwsCmekResp, Project};
use cmek_core::project_cmek::ProjectCmek;
use leptos::prelude::*;

/// What the project pages share.
#[derive(Clone, Copy)]
pub struct ProjectCtx {
    pub id: Memo<String>,
    pub project: LocalResource<Result<Option<Project>, RequestError>>,
    /// The configured key(s) (`GET …/aws-cmek`).
    pub keys: LocalResource<Result<ListAwsCmekResp, RequestError>>,
}

impl ProjectCtx {
    /// The project once loaded (and found).
    pub fn loaded(&self) -> Option<Project> {
        match self.project.get() {
            Some(Ok(Some(p))) => Some(p),
            _ => None,
        }
    }

    /// The project's configured key, once loaded.
    pub fn key(&self) -> Option<AwsCmekSpec> {
        match self.keys.get() {
            Some(Ok(k)) => k.items.into_iter().next(),
            _ => None,
        }
    }

    /// Whether the keys have loaded (successfully).
    pub fn keys_loaded(&self) -> bool {
        matches!(self.keys.get(), Some(Ok(_)))
    }

    /// The project's CMEK context (cmek-core's), once it is known: the project has loaded and,
    /// for a CMEK project, so have its keys (`None` meanwhile, or when the keys failed to load).
    pub fn cmek(&self) -> Option<ProjectCmek> {
        let project = self.loaded()?;
        let keys = match self.keys.get() {
            Some(Ok(k)) => Some(k.items),
            _ => None,
        };
        ProjectCmek::known(project.aws_cmek_enabled, keys.as_deref())
    }

    pub fn path(&self, rest: &str) -> String {
        format!("/projects/{}/{rest}", self.id.get())
    }
}

pub fn use_project() -> ProjectCtx {
    expect_context::<ProjectCtx>()
}
