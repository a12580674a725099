//! The key-access port on the official AWS SDK (`aws-sdk-kms`): one code path for real AWS KMS
//! and for the sandbox, which is just another endpoint.
//!
//! - Real AWS (`--kms aws`): credentials and settings the standard AWS way (environment, shared
//!   config and profile, web identity, container or instance role); the region of each call is
//!   the key ARN's; `--kms-endpoint-url` points every call at a KMS-compatible endpoint instead.
//! - Sandbox (the default): the SDK signs with the sandbox's key pair and its HTTP client hands
//!   the request to the sandbox's AWS endpoint in process. Why not over loopback: the server may
//!   listen on 0.0.0.0, on IPv6 or behind a TLS proxy, with connection limits and timeouts meant
//!   for outside clients; in process, a key check depends on none of that, yet the request is
//!   still the SDK's own (serialized, SigV4-signed, verified, parsed by the same code the AWS
//!   CLI reaches on `POST /`).

use super::aws_api::AwsEndpoint;
use super::{KeyDescription, Kms, KmsError};
use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::config::{BehaviorVersion, Region};
use aws_sdk_kms::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::timeout::TimeoutConfig;
use cmek_core::arn::KmsKeyArn;
use cmek_core::kms::{KeyState, RotationStatus};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Hands SDK requests to the sandbox's AWS endpoint without a socket.
#[derive(Clone, Debug)]
struct InProcess(Arc<AwsEndpoint>);

impl HttpConnector for InProcess {
    fn call(&self, request: aws_smithy_runtime_api::client::orchestrator::HttpRequest) -> HttpConnectorFuture {
        let endpoint = Arc::clone(&self.0);
        HttpConnectorFuture::new(async move {
            let req = request.try_into_http1x().map_err(|e| ConnectorError::other(e.into(), None))?;
            let (mut parts, body) = req.into_parts();
            // What an HTTP/1.1 client sends on the wire (the SDK signs it from the URI).
            if let Some(authority) = parts.uri.authority().and_then(|a| http::HeaderValue::from_str(a.as_str()).ok()) {
                parts.headers.entry(http::header::HOST).or_insert(authority);
            }
            // KMS requests are small JSON documents the SDK holds in memory.
            let bytes = body.bytes().map(bytes::Bytes::copy_from_slice).unwrap_or_default();
            let (parts, body) = endpoint.serve(http::Request::from_parts(parts, bytes)).await.into_parts();
            HttpResponse::try_from(http::Response::from_parts(parts, SdkBody::from(body)))
                .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

impl HttpClient for InProcess {
    fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

// One per server: the size of the AWS variant does not matter.
#[allow(clippy::large_enum_variant)]
enum Backend {
    /// The SDK's settings from the standard sources, loaded on first use.
    Aws {
        endpoint_url: Option<String>,
        /// Taken on first use to load `config`.
        loader: Mutex<Option<aws_config::ConfigLoader>>,
        config: tokio::sync::OnceCell<aws_types::SdkConfig>,
    },
    Sandbox {
        endpoint: Arc<AwsEndpoint>,
    },
}

/// `Kms` on `aws-sdk-kms`.
pub struct AwsKms {
    backend: Backend,
    /// One client per region (a key's calls go to its own region).
    clients: Mutex<HashMap<String, Client>>,
}

/// Calls give up after this long, retries included: a key check must answer.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(20);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(6);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// The HTTPS client for real AWS: hyper with rustls on *ring* (no C build tools needed).
pub fn https_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls;
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
        .build_https()
}

impl AwsKms {
    /// Real AWS KMS (or a compatible service at `endpoint_url`), credentials from the standard
    /// AWS sources.
    pub fn aws(endpoint_url: Option<String>) -> Self {
        Self::from_loader(aws_config::defaults(BehaviorVersion::latest()), endpoint_url)
    }

    /// Real AWS KMS with settings from `loader` (tests give it their own credentials).
    pub fn from_loader(loader: aws_config::ConfigLoader, endpoint_url: Option<String>) -> Self {
        Self {
            backend: Backend::Aws { endpoint_url, loader: Mutex::new(Some(loader)), config: Default::default() },
            clients: Default::default(),
        }
    }

    /// The sandbox, through its AWS endpoint.
    pub fn sandbox(endpoint: Arc<AwsEndpoint>) -> Self {
        Self { backend: Backend::Sandbox { endpoint }, clients: Default::default() }
    }

    /// What the calls reach, for messages.
    fn service(&self) -> String {
        match &self.backend {
            Backend::Aws { endpoint_url: Some(url), .. } => format!("the KMS endpoint {url}"),
            Backend::Aws { endpoint_url: None, .. } => "AWS KMS".to_owned(),
            Backend::Sandbox { .. } => "the sandbox KMS".to_owned(),
        }
    }

    async fn client(&self, region: &str) -> Client {
        if let Some(c) = self.clients.lock().unwrap_or_else(|p| p.into_inner()).get(region) {
            return c.clone();
        }
        let config = match &self.backend {
            Backend::Aws { endpoint_url, loader, config } => {
                let shared = config
                    .get_or_init(|| async {
                        let loader = loader.lock().unwrap_or_else(|p| p.into_inner()).take();
                        loader
                            .unwrap_or_else(|| aws_config::defaults(BehaviorVersion::latest()))
                            .http_client(https_client())
                            .timeout_config(timeouts())
                            .load()
                            .await
                    })
                    .await;
                let mut b = aws_sdk_kms::config::Builder::from(shared).region(Region::new(region.to_owned()));
                if let Some(url) = endpoint_url {
                    b = b.endpoint_url(url);
                }
                b.build()
            }
            Backend::Sandbox { endpoint } => {
                let creds = endpoint.credentials();
                aws_sdk_kms::config::Builder::new()
                    .behavior_version(BehaviorVersion::latest())
                    .region(Region::new(region.to_owned()))
                    .credentials_provider(aws_sdk_kms::config::Credentials::new(
                        &creds.access_key_id,
                        &creds.secret_access_key,
                        None,
                        None,
                        "cmek-server sandbox",
                    ))
                    .endpoint_url("http://sandbox-kms.cmek-server.internal")
                    .http_client(InProcess(Arc::clone(endpoint)))
                    .timeout_config(timeouts())
                    .build()
            }
        };
        let client = Client::from_conf(config);
        self.clients.lock().unwrap_or_else(|p| p.into_inner()).insert(region.to_owned(), client.clone());
        client
    }

    /// The key's region from its ARN, or why the ARN can't be asked about.
    async fn client_for(&self, arn: &str, call: &'static str) -> Result<Client, KmsError> {
        let parsed = KmsKeyArn::parse(arn).map_err(|e| KmsError::InvalidArn {
            arn: arn.to_owned(),
            call,
            reason: e.to_string(),
        })?;
        Ok(self.client(&parsed.region).await)
    }

    /// An SDK failure in the port's terms, naming the key, the call and the cause.
    fn error<E>(&self, arn: &str, call: &'static str, e: SdkError<E, HttpResponse>) -> KmsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let service = self.service();
        if let SdkError::ServiceError(se) = &e {
            let code = se.err().code().unwrap_or("an unnamed error");
            let message = se.err().message().unwrap_or_default();
            let cause = format!("{code}: {message}");
            return match code {
                "NotFoundException" => KmsError::NotFound { arn: arn.to_owned(), call, cause },
                "AccessDeniedException" => KmsError::AccessDenied { arn: arn.to_owned(), call, cause },
                "UnrecognizedClientException"
                | "InvalidSignatureException"
                | "IncompleteSignatureException"
                | "MissingAuthenticationTokenException"
                | "ExpiredTokenException"
                | "InvalidClientTokenId" => KmsError::Unreachable {
                    arn: arn.to_owned(),
                    reason: format!(
                        "{call} was refused by {service} because of the server's own AWS credentials ({cause}); \
                         check the access key the server runs with"
                    ),
                },
                _ => KmsError::Unreachable {
                    arn: arn.to_owned(),
                    reason: format!("{call} failed at {service}: {cause}"),
                },
            };
        }
        let full = DisplayErrorContext(&e).to_string();
        if matches!(e, SdkError::DispatchFailure(_))
            && (full.contains("no identity resolver")
                || full.contains("NoIdentityResolver")
                || full.contains("credentials"))
        {
            tracing::warn!(error = %full, "no AWS credentials for {call}");
            return KmsError::Unreachable {
                arn: arn.to_owned(),
                reason: format!(
                    "{call} to {service} was not sent: the server has no usable AWS credentials (it looks in \
                     AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws/config and credentials with AWS_PROFILE, web \
                     identity, and the container or instance role)"
                ),
            };
        }
        let what = match &e {
            SdkError::TimeoutError(_) => "no answer in time",
            SdkError::DispatchFailure(_) => "the request could not be sent",
            SdkError::ResponseError(_) => "the answer could not be read",
            _ => "the request could not be made",
        };
        KmsError::Unreachable { arn: arn.to_owned(), reason: format!("{call} to {service}: {what}: {full}") }
    }
}

fn secs(t: Option<&aws_smithy_types::DateTime>) -> Option<i64> {
    t.map(aws_smithy_types::DateTime::secs)
}

#[async_trait]
impl Kms for AwsKms {
    async fn describe_key(&self, arn: &str) -> Result<KeyDescription, KmsError> {
        const CALL: &str = "DescribeKey";
        let client = self.client_for(arn, CALL).await?;
        let out = client.describe_key().key_id(arn).send().await.map_err(|e| self.error(arn, CALL, e))?;
        let Some(m) = out.key_metadata() else {
            return Err(KmsError::Unreachable {
                arn: arn.to_owned(),
                reason: format!("{CALL} to {} answered without KeyMetadata", self.service()),
            });
        };
        let parsed = KmsKeyArn::parse(arn).ok();
        Ok(KeyDescription {
            arn: m.arn().unwrap_or(arn).to_owned(),
            key_id: m.key_id().to_owned(),
            region: parsed.as_ref().map(|a| a.region.clone()).unwrap_or_default(),
            account_id: m.aws_account_id().map(str::to_owned).or(parsed.map(|a| a.account)).unwrap_or_default(),
            state: m.key_state().and_then(|s| KeyState::parse(s.as_str())).unwrap_or(KeyState::Unavailable),
            multi_region: m.multi_region().unwrap_or(false),
            deletion_date: secs(m.deletion_date()),
        })
    }

    async fn key_policy(&self, arn: &str) -> Result<String, KmsError> {
        const CALL: &str = "GetKeyPolicy";
        let client = self.client_for(arn, CALL).await?;
        // moto (and older KMS models) want the policy name spelled out.
        let out = client
            .get_key_policy()
            .key_id(arn)
            .policy_name("default")
            .send()
            .await
            .map_err(|e| self.error(arn, CALL, e))?;
        Ok(out.policy().unwrap_or_default().to_owned())
    }

    async fn rotation_status(&self, arn: &str) -> Result<RotationStatus, KmsError> {
        const CALL: &str = "GetKeyRotationStatus";
        let client = self.client_for(arn, CALL).await?;
        let out = client.get_key_rotation_status().key_id(arn).send().await.map_err(|e| self.error(arn, CALL, e))?;
        let mut status = RotationStatus {
            enabled: out.key_rotation_enabled(),
            period_days: out.rotation_period_in_days().map(i64::from),
            next_rotation_at: secs(out.next_rotation_date()),
            ..RotationStatus::default()
        };
        // The rotations so far (how the service notices one happened).
        let mut pages = client.list_key_rotations().key_id(arn).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.error(arn, "ListKeyRotations", e))?;
            for r in page.rotations() {
                status.rotation_count += 1;
                status.last_rotated_at = status.last_rotated_at.max(secs(r.rotation_date()));
            }
        }
        Ok(status)
    }
}
