//! The shared state every handler and layer gets: storage, the catalog, key checks, the sandbox
//! KMS, the command line, authentication and the gateway. Built once at start (`serve.rs`).

use crate::auth::Auth;
use crate::config::ServeArgs;
use crate::db::Db;
use crate::key_access::KeyService;
use crate::kms::sandbox::SandboxKms;
use cmek_core::api::ListProviderRegionsResp;
use cmek_core::lifecycle::Durations;
use std::sync::Arc;

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub db: Arc<Db>,
    pub catalog: ListProviderRegionsResp,
    /// Checks of the projects' CMEK keys against KMS, and their health.
    pub key_access: KeyService,
    pub sandbox: Arc<SandboxKms>,
    /// The sandbox's AWS KMS endpoint (`POST /`), which the key checks also reach in sandbox mode.
    pub aws_kms: Arc<crate::kms::aws_api::AwsEndpoint>,
    pub durations: Durations,
    pub args: ServeArgs,
    pub auth: Auth,
    pub cluster_lists: crate::list_cache::ListCache,
    /// Gateway mode: v1beta is served by this upstream (see `gateway`).
    pub gateway: Option<Arc<crate::gateway::Gateway>>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// The provider catalog this server offers (`GET /api/v1beta/clusters/provider/regions`).
pub fn catalog() -> ListProviderRegionsResp {
    serde_json::from_str(include_str!("catalog.json")).expect("catalog.json is checked by a test")
}

impl AppState {
    /// `gateway`: gateway mode (then the sandbox KMS is not used to check keys).
    pub fn new(db: Arc<Db>, mut args: ServeArgs, auth: Auth, gateway: Option<Arc<crate::gateway::Gateway>>) -> Self {
        db.set_before_write(|tx| crate::store::settle_due(tx, crate::clock::now_ms()).map(drop));
        let sandbox_account = args.sandbox_account.0.clone().unwrap_or_else(|| "111122223333".to_owned());
        let sandbox = Arc::new(SandboxKms::new(Arc::clone(&db), sandbox_account));
        let aws_kms = Arc::new(crate::kms::aws_api::AwsEndpoint::new(sandbox.clone(), args.kms.sandbox_credentials()));
        // A gateway manages the organisation's real keys: the sandbox cannot know them, so its
        // key checks ask AWS KMS when --kms aws says so, and say they cannot check otherwise.
        let kms: Arc<dyn crate::kms::Kms> = match (&gateway, args.kms.kms) {
            (Some(_), crate::kms::KmsChoice::Sandbox) => Arc::new(crate::gateway::NoKms),
            _ => args.kms.port(Arc::clone(&aws_kms)),
        };
        let key_access = KeyService::new(kms, Arc::clone(&db), args.service_account.0.clone());
        let ms = (args.transition_secs * 1000.0).round() as i64;
        Self(Arc::new(Inner {
            db,
            catalog: catalog(),
            key_access,
            sandbox,
            aws_kms,
            durations: Durations::uniform(ms),
            args,
            auth,
            cluster_lists: Default::default(),
            gateway,
        }))
    }

    /// The AWS regions Dedicated clusters run in: where a CMEK key may be configured.
    pub fn cmek_regions(&self) -> Vec<&str> {
        self.catalog.regions(cmek_core::api::ClusterType::Dedicated, cmek_core::api::CloudProvider::Aws)
    }
}
