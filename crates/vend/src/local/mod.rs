//! Local mode: the real workflow definition on the local executor, with every function's
//! handler running in this process against the sandbox through the real SDK clients.
//!
//! Only the endpoint (the sandbox) and the executor differ from AWS: the handlers are the
//! functions' own `handle` functions, given the same adapters their `main.rs` builds.

use crate::sandbox::{Sandbox, SandboxError, repo_root};
use asl_executor::{ExecutionResult, Executor, HistoryEvent, TaskError, TaskHandler, handler_fn};
use aws_config::SdkConfig;
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use vending_aws::clients::sandbox_config;
use vending_aws::seed::{SeedSpec, SeededPlatform, seed};
use vending_aws::{Clients, DynamoRegistry, EventBridgeBus, MemberAccounts, OrganizationsAdapter};
use vending_domain::config::{GitDestinationConfig, GitOpsConfig};
use vending_domain::{PlatformConfig, StepError};

/// The registry table in the sandbox.
pub const REGISTRY_TABLE: &str = "tenant-registry";
/// The service's event bus in the sandbox.
pub const EVENT_BUS: &str = "tenant-vending";
/// The name of the vending state machine.
pub const STATE_MACHINE: &str = "tenant-vending";

/// Why local mode could not run.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The sandbox did not start.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// Seeding or preparing the sandbox failed.
    #[error("preparing the sandbox: {0}")]
    Prepare(StepError),
    /// A repo file is missing or unreadable.
    #[error("{0}")]
    File(String),
    /// The executor refused the definition or the execution.
    #[error("the executor: {0}")]
    Executor(#[from] asl_executor::Error),
}

/// What every step needs, built once as each Lambda's `main.rs` builds it at init.
#[derive(Debug)]
pub struct Platform {
    /// The platform config (pointed at the seeded sandbox).
    pub config: PlatformConfig,
    /// Organizations of the management account.
    pub org: OrganizationsAdapter,
    /// The registry.
    pub registry: DynamoRegistry,
    /// The event bus.
    pub bus: EventBridgeBus,
    /// Member accounts, through the member role.
    pub accounts: MemberAccounts,
    /// Where HandOff commits tenant manifests.
    pub destination: hand_off::Destination,
}

/// One step call, as `vend local` shows it live.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// The Task state.
    pub state: String,
    /// Real time the handler took.
    pub elapsed: Duration,
    /// `None` on success, else the stable error name and message.
    pub error: Option<(String, String)>,
}

/// Receives each step call as it ends.
pub type Observer = Arc<dyn Fn(&StepReport) + Send + Sync>;

fn task_error(e: StepError) -> TaskError {
    TaskError::new(e.error_type(), e.to_string())
}

/// Wraps a handler: runs it with the platform, reports it to the observer.
fn step<F, Fut>(platform: &Arc<Platform>, observer: &Observer, f: F) -> Arc<dyn TaskHandler>
where
    F: Fn(Arc<Platform>, Value) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, StepError>> + Send + 'static,
{
    let (platform, observer, f) = (platform.clone(), observer.clone(), Arc::new(f));
    handler_fn(move |req| {
        let (platform, observer, f) = (platform.clone(), observer.clone(), f.clone());
        async move {
            let started = Instant::now();
            let result = f(platform, req.payload).await;
            observer(&StepReport {
                state: req.state_name,
                elapsed: started.elapsed(),
                error: result
                    .as_ref()
                    .err()
                    .map(|e| (e.error_type().to_owned(), e.to_string())),
            });
            result.map_err(task_error)
        }
    })
}

/// The workflow's Task states, each backed by the function `<State>Function` of the template.
pub const WORKFLOW_FUNCTIONS: [&str; 9] = [
    "Normalize",
    "EnsureAccount",
    "CheckAccount",
    "PlaceAccount",
    "ProvisionNetwork",
    "ProvisionIdentity",
    "GrantClusterAccess",
    "HandOff",
    "RecordFailure",
];

/// The ARN a workflow function has on the local executor, and the substitution naming it.
pub fn function_arn(executor: &Executor, state: &str) -> (String, String) {
    let region = &executor.config().region;
    let account = &executor.config().account_id;
    (
        format!("{state}FunctionArn"),
        format!("arn:aws:lambda:{region}:{account}:function:tenant-vending-{state}"),
    )
}

/// Registers every function of the workflow with the executor, under the names SAM would
/// give them; returns the definition's substitutions (`${NormalizeFunctionArn}` ...).
pub fn register_functions(
    executor: &Executor,
    platform: &Arc<Platform>,
    observer: &Observer,
) -> HashMap<String, String> {
    let handlers: Vec<(&str, Arc<dyn TaskHandler>)> = vec![
        (
            "Normalize",
            step(platform, observer, |p, v| async move {
                normalize::handle(&v, &p.config)
            }),
        ),
        (
            "EnsureAccount",
            step(platform, observer, |p, v| async move {
                ensure_account::handle(&p.org, &p.registry, v).await
            }),
        ),
        (
            "CheckAccount",
            step(platform, observer, |p, v| async move {
                check_account::handle(&p.org, &p.registry, v).await
            }),
        ),
        (
            "PlaceAccount",
            step(platform, observer, |p, v| async move {
                place_account::handle(&p.org, &p.accounts, &p.config, v).await
            }),
        ),
        (
            "ProvisionNetwork",
            step(platform, observer, |p, v| async move {
                provision_network::handle(&p.accounts, &p.registry, &p.config, v).await
            }),
        ),
        (
            "ProvisionIdentity",
            step(platform, observer, |p, v| async move {
                provision_identity::handle(&p.accounts, &p.config, v).await
            }),
        ),
        (
            "GrantClusterAccess",
            step(platform, observer, |p, v| async move {
                grant_cluster_access::handle(&p.accounts, &p.config, v).await
            }),
        ),
        (
            "HandOff",
            step(platform, observer, |p, v| async move {
                hand_off::handle(&p.registry, &p.bus, &p.destination, &p.config, v).await
            }),
        ),
        (
            "RecordFailure",
            step(platform, observer, |p, v| async move {
                record_failure::handle(&p.registry, &p.bus, v).await
            }),
        ),
    ];
    let mut subs = HashMap::new();
    for (state, handler) in handlers {
        let (key, arn) = function_arn(executor, state);
        executor.register_function(&arn, handler);
        subs.insert(key, arn);
    }
    subs
}

/// A sandbox seeded like a platform team's organization, the platform config pointed at it,
/// and the vending state machine on a local executor with every handler registered.
pub struct Local {
    /// The sandbox (stopped on drop).
    pub sandbox: Sandbox,
    /// Management-account configuration for the sandbox.
    pub sdk: SdkConfig,
    /// What seeding created.
    pub seeded: SeededPlatform,
    /// The steps' dependencies.
    pub platform: Arc<Platform>,
    /// The executor.
    pub executor: Executor,
    /// The vending state machine.
    pub state_machine_arn: String,
    /// Scratch space: the git destination's cache, and its repository unless the config
    /// names a `file://` one.
    pub scratch: tempfile::TempDir,
}

impl std::fmt::Debug for Local {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local")
            .field("endpoint", &self.sandbox.endpoint())
            .field("state_machine_arn", &self.state_machine_arn)
            .finish_non_exhaustive()
    }
}

/// Points the config's GitOps destination at something local: a `file://` repository is
/// kept (and created bare when missing); any other git remote is replaced by a new bare
/// repository in `scratch`; an S3 destination gets its bucket in the sandbox.
async fn local_gitops(
    config: &mut PlatformConfig,
    sdk: &SdkConfig,
    scratch: &std::path::Path,
) -> Result<(), LocalError> {
    match &mut config.gitops {
        GitOpsConfig::Git(git) => {
            let path = match git.url.strip_prefix("file://") {
                Some(path) => std::path::PathBuf::from(path),
                None => {
                    let path = scratch.join("gitops.git");
                    *git = GitDestinationConfig {
                        url: format!("file://{}", path.display()),
                        credentials_secret_arn: None,
                        ..git.clone()
                    };
                    path
                }
            };
            vending_gitops::ensure_bare_repository(&path).map_err(LocalError::File)
        }
        GitOpsConfig::S3(s3) => vending_aws::seed::ensure_bucket(sdk, &s3.bucket)
            .await
            .map_err(LocalError::Prepare),
    }
}

/// Reads a file of the repository.
pub fn repo_file(path: &str) -> Result<String, LocalError> {
    let full = repo_root().join(path);
    std::fs::read_to_string(&full)
        .map_err(|e| LocalError::File(format!("reading {}: {e}", full.display())))
}

/// The repository's workflow definition.
pub fn definition() -> Result<Value, LocalError> {
    serde_json::from_str(&repo_file("workflows/tenant-vending.asl.json")?)
        .map_err(|e| LocalError::File(format!("the workflow definition is not JSON: {e}")))
}

/// The repository's example platform config.
pub fn example_config() -> Result<PlatformConfig, LocalError> {
    PlatformConfig::from_json(&repo_file("infra/platform-config.json")?)
        .map_err(|e| LocalError::File(format!("infra/platform-config.json: {e}")))
}

impl Local {
    /// Starts the sandbox (a new account needs `account_polls` status polls), seeds it from
    /// `config` (its environments and clusters), points `config` at what was seeded, and
    /// prepares the executor. `observer` sees every step call.
    pub async fn start(
        config: PlatformConfig,
        account_polls: u32,
        observer: Observer,
    ) -> Result<Local, LocalError> {
        Local::start_with(config, account_polls, |executor, platform| {
            register_functions(executor, platform, &observer)
        })
        .await
    }

    /// Like `start`, with the workflow's functions registered by `register` (which returns the
    /// definition's substitutions): the cold-start bench registers built bootstraps instead.
    pub async fn start_with<F>(
        mut config: PlatformConfig,
        account_polls: u32,
        register: F,
    ) -> Result<Local, LocalError>
    where
        F: FnOnce(&Executor, &Arc<Platform>) -> HashMap<String, String>,
    {
        let sandbox = Sandbox::start(account_polls)?;
        let sdk = sandbox_config(&sandbox.endpoint(), &config.region);
        let spec = SeedSpec {
            environments: config.environments.keys().cloned().collect(),
            clusters: config.clusters.iter().map(|c| c.name.clone()).collect(),
            member_role_name: config.member_role_name.clone(),
        };
        let seeded = seed(&sdk, &spec).await.map_err(LocalError::Prepare)?;
        seeded.apply(&mut config);
        let scratch = tempfile::tempdir()
            .map_err(|e| LocalError::File(format!("creating a scratch folder: {e}")))?;
        local_gitops(&mut config, &sdk, scratch.path()).await?;
        config
            .validate()
            .map_err(|e| LocalError::Prepare(StepError::InvalidRequest(e)))?;
        let clients = Clients::from_config(sdk.clone());
        let registry = DynamoRegistry::new(clients.dynamodb.clone(), REGISTRY_TABLE);
        registry.ensure_table().await.map_err(LocalError::Prepare)?;
        clients
            .eventbridge
            .create_event_bus()
            .name(EVENT_BUS)
            .send()
            .await
            .map_err(|e| {
                LocalError::Prepare(StepError::Internal(format!("CreateEventBus: {e}")))
            })?;
        let destination =
            hand_off::destination(&config, &sdk, &scratch.path().join("gitops-cache.git"))
                .await
                .map_err(LocalError::Prepare)?;
        let platform = Arc::new(Platform {
            destination,
            org: OrganizationsAdapter::new(clients.organizations.clone()),
            bus: EventBridgeBus::new(clients.eventbridge.clone(), EVENT_BUS),
            accounts: MemberAccounts::new(sdk.clone(), &config.member_role_name),
            registry,
            config,
        });
        let executor = Executor::default();
        let subs = register(&executor, &platform);
        let state_machine_arn =
            executor.create_state_machine(STATE_MACHINE, &definition()?, &subs)?;
        Ok(Local {
            sandbox,
            sdk,
            seeded,
            platform,
            executor,
            state_machine_arn,
            scratch,
        })
    }

    /// Runs one execution to its end.
    pub async fn vend(
        &self,
        name: &str,
        input: Value,
    ) -> Result<(ExecutionResult, Vec<HistoryEvent>), LocalError> {
        Ok(self
            .executor
            .run(&self.state_machine_arn, Some(name), input)
            .await?)
    }
}
