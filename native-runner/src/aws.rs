//! AWS clients: one `SdkConfig` from the standard credential and region
//! chain, explicit retries and timeouts, and a custom endpoint (a local
//! emulator) when `AWS_ENDPOINT_URL` or `--endpoint-url` says so, in which
//! case S3 uses path-style addressing.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// The clients the jobs use.
#[derive(Debug, Clone)]
pub struct Clients {
    /// DynamoDB.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// S3.
    pub s3: aws_sdk_s3::Client,
    /// Athena.
    pub athena: aws_sdk_athena::Client,
    /// Cognito user pools (the users report's names and emails).
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
}

/// How to reach AWS.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// A custom endpoint (`http://127.0.0.1:5000` for an emulator).
    pub endpoint_url: Option<String>,
    /// Attempts per request, the first included (throttling and 5xx are retried).
    pub max_attempts: u32,
}

impl Clients {
    /// Loads the configuration once and builds each client from it.
    pub async fn load(opts: &AwsOptions) -> Clients {
        let retry = RetryConfig::standard()
            .with_max_attempts(opts.max_attempts.max(1))
            .with_initial_backoff(Duration::from_millis(100))
            .with_max_backoff(Duration::from_secs(20));
        // A stalled body (no byte for a minute) fails the attempt instead of
        // hanging a scheduled run; the whole operation has ten minutes.
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(60))
            .operation_attempt_timeout(Duration::from_secs(60))
            .operation_timeout(Duration::from_secs(600))
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(retry).timeout_config(timeouts);
        if let Some(url) = &opts.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        let custom_endpoint = opts.endpoint_url.is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some();
        let s3_config = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(custom_endpoint)
            .interceptor(RetryNotice)
            .build();
        let ddb_config = aws_sdk_dynamodb::config::Builder::from(&config).interceptor(RetryNotice).build();
        let athena_config = aws_sdk_athena::config::Builder::from(&config).interceptor(RetryNotice).build();
        let cognito_config =
            aws_sdk_cognitoidentityprovider::config::Builder::from(&config).interceptor(RetryNotice).build();
        Clients {
            dynamodb: aws_sdk_dynamodb::Client::from_conf(ddb_config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            athena: aws_sdk_athena::Client::from_conf(athena_config),
            cognito: aws_sdk_cognitoidentityprovider::Client::from_conf(cognito_config),
        }
    }
}

/// Says on standard error when a request is tried again (after throttling,
/// a server error or a stalled answer), so that a slow run is never silent.
#[derive(Debug)]
struct RetryNotice;

impl Intercept for RetryNotice {
    fn name(&self) -> &'static str {
        "RetryNotice"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let attempt = cfg.load::<RequestAttempts>().map_or(1, RequestAttempts::attempts);
        if attempt > 1 {
            let op = cfg.load::<Metadata>().map(|m| format!("{} {}", m.service(), m.name())).unwrap_or_default();
            eprintln!("warning: {op}: attempt {attempt} (the last one was throttled, failed or stalled)");
        }
        Ok(())
    }
}

/// An SDK error in a line: the service's code and message when it answered,
/// otherwise the chain of causes (never a credential).
pub fn describe<E, R>(err: &aws_sdk_s3::error::SdkError<E, R>) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if let Some(service) = err.as_service_error() {
        if let Some(code) = service.code() {
            return format!("{code}: {}", service.message().unwrap_or("(no message)"));
        }
    }
    let text = aws_smithy_types::error::display::DisplayErrorContext(err).to_string();
    text.chars().take(400).collect()
}
