//! Local mode: the deployed path, on the sandbox. The real workflow definition runs on the
//! local executor; every function's handler runs in this process with the real SDK clients,
//! each with the credentials of a role holding exactly its `Policies` of
//! `infra/template.yaml` (`strict`); executions start through the sandbox's Step Functions API
//! (the portal's TenantRequest function, the console, or the template's EventBridge rules),
//! and a dispatcher runs them (`service`).
//!
//! Only the endpoint (the sandbox) and the executor differ from AWS: the handlers are the
//! functions' own `handle` functions, given the same adapters their `main.rs` builds.

mod service;
pub mod strict;

use crate::sandbox::{Sandbox, SandboxError, SandboxOptions, repo_root};
use asl_executor::{
    ExecutionResult, Executor, ExecutorConfig, HistoryEvent, TaskError, TaskHandler, handler_fn,
};
use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use vending_aws::clients::sandbox_config;
use vending_aws::seed::{SeedSpec, SeededPlatform, seed};
use vending_aws::{
    Clients, DynamoRegistry, EventBridgeBus, IdentityCenter, MemberAccounts, OrganizationsAdapter,
    StepFunctionsWorkflow,
};
use vending_domain::config::{GitDestinationConfig, GitOpsConfig, PermissionsBoundary};
use vending_domain::steps::{
    AssignTeams, CheckAccount, EnsureAccount, GrantClusterAccess, HandOff, Normalize, Offboard,
    PlaceAccount, ProvisionIdentity, ProvisionNetwork, RecordFailure, STATES, Step, call_measured,
};
use vending_domain::telemetry::StepMeasure;
use vending_domain::{PlatformConfig, StepError};

pub use service::TRIGGER_QUEUE;

/// The registry table in the sandbox.
pub const REGISTRY_TABLE: &str = "tenant-registry";
/// The service's event bus in the sandbox.
pub const EVENT_BUS: &str = "tenant-vending";
/// The name of the vending state machine.
pub const STATE_MACHINE: &str = "tenant-vending";
/// The name of the batch re-run state machine.
pub const RERUN_STATE_MACHINE: &str = "tenant-rerun";
/// The name of the offboarding state machine.
pub const OFFBOARDING_STATE_MACHINE: &str = "tenant-offboarding";
/// The real time each virtual second of a Wait or a retry interval takes locally: the
/// definition's waits pass in milliseconds, yet in proportion to each other, so an execution
/// queued for an account-creation slot waits while the slot holders' AWS calls go on, instead
/// of spinning through its whole timeout in an instant.
pub const WAIT_PACE: Duration = Duration::from_millis(10);

/// How long a local execution may take in real time before a wait gives up.
pub const EXECUTION_LIMIT: Duration = Duration::from_secs(120);

/// Why local mode could not run.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The sandbox did not start.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// Seeding or preparing the sandbox failed.
    #[error("preparing the sandbox: {0}")]
    Prepare(StepError),
    /// Setting up the platform on the sandbox failed.
    #[error("setting up the local platform: {0}")]
    Setup(String),
    /// A repo file is missing or unreadable.
    #[error("{0}")]
    File(String),
    /// The executor refused the definition or the execution.
    #[error("the executor: {0}")]
    Executor(#[from] asl_executor::Error),
}

/// What a function needs, built once as its `main.rs` builds it at init, on its credentials.
#[derive(Debug)]
pub struct Platform {
    /// The platform config (pointed at the seeded sandbox).
    pub config: PlatformConfig,
    /// The configuration the function's clients use.
    pub sdk: SdkConfig,
    /// Organizations of the management account.
    pub org: OrganizationsAdapter,
    /// The registry.
    pub registry: DynamoRegistry,
    /// The event bus.
    pub bus: EventBridgeBus,
    /// Member accounts, through the member role.
    pub accounts: MemberAccounts,
    /// IAM Identity Center of the config's instance.
    pub teams: IdentityCenter,
    /// The vending state machine, as the portal starts it.
    pub workflow: StepFunctionsWorkflow,
    /// Where HandOff commits tenant manifests (HandOff's platform only: its secret and bucket
    /// are HandOff's to read).
    pub destination: Option<vending_gitops::Destination>,
}

impl Platform {
    fn new(config: PlatformConfig, sdk: SdkConfig, machines: &MachineArns) -> Platform {
        let clients = Clients::from_config(sdk.clone());
        Platform {
            org: OrganizationsAdapter::new(clients.organizations.clone()),
            registry: DynamoRegistry::new(clients.dynamodb.clone(), REGISTRY_TABLE),
            bus: EventBridgeBus::new(clients.eventbridge.clone(), EVENT_BUS),
            accounts: MemberAccounts::new(sdk.clone(), &config.member_role_name),
            teams: IdentityCenter::for_config(&sdk, &config),
            workflow: StepFunctionsWorkflow::new(clients.stepfunctions.clone(), &machines.vending)
                .with_batch(&machines.rerun)
                .with_offboarding(&machines.offboarding),
            destination: None,
            config,
            sdk,
        }
    }

    fn destination(&self) -> Result<&vending_gitops::Destination, StepError> {
        self.destination
            .as_ref()
            .ok_or_else(|| StepError::Internal("this function has no GitOps destination".into()))
    }
}

/// The local platform's state machines.
#[derive(Debug, Clone)]
pub struct MachineArns {
    /// Vending.
    pub vending: String,
    /// Batch re-runs.
    pub rerun: String,
    /// Offboarding.
    pub offboarding: String,
}

/// One step call, as `vend local` shows it live.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// The execution.
    pub execution: String,
    /// The Task state.
    pub state: String,
    /// Real time the handler took.
    pub elapsed: Duration,
    /// `None` on success, else the stable error name and message.
    pub error: Option<(String, String)>,
    /// What the step made that a reader would look for, in a line, when it says (the
    /// account's backup baseline, say).
    pub detail: Option<String>,
    /// Whom the call was about and what it measured: what the function emits in Lambda as
    /// an EMF document.
    pub measure: StepMeasure,
}

/// The line `vend local` shows under a step for what it made: today the account baseline
/// ProvisionIdentity ensured (each part's mode where it has one, and what it made or repaired,
/// or that it was as configured).
fn detail(output: &Value) -> Option<String> {
    let changed = |part: &Value| {
        let made: Vec<&str> = part["changed"]
            .as_array()
            .map(|c| c.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if made.is_empty() {
            "as configured".to_owned()
        } else {
            format!("made {}", made.join(", "))
        }
    };
    let name = |arn: &Value| {
        arn.as_str()
            .and_then(|a| a.rsplit([':', '/']).next())
            .unwrap_or_default()
            .to_owned()
    };
    let mut parts = Vec::new();
    if let Some(b) = output.get("backup") {
        parts.push(format!(
            "backup vault {}, plan {}, selection {}: {}",
            name(&b["vaultArn"]),
            name(&b["planArn"]),
            b["selectionId"].as_str().unwrap_or_default(),
            changed(b)
        ));
    }
    if let Some(c) = output.get("config") {
        parts.push(format!(
            "config ({}, recorder {}): {}",
            c["mode"].as_str().unwrap_or_default(),
            c["recorder"].as_str().unwrap_or_default(),
            changed(c)
        ));
    }
    if let Some(t) = output.get("trail") {
        parts.push(match t.get("trailArn") {
            Some(arn) => format!("trail {}: {}", name(arn), changed(t)),
            None => "trail: the organization's (Control Tower)".to_owned(),
        });
    }
    (!parts.is_empty()).then(|| format!("baseline: {}", parts.join("; ")))
}

/// Receives each step call as it ends.
pub type Observer = Arc<dyn Fn(&StepReport) + Send + Sync>;

fn task_error(e: StepError) -> TaskError {
    TaskError::new(e.error_type(), e.to_string())
}

/// Wraps a handler: runs it with its function's platform, reports it to the observer.
fn step<S, F, Fut>(
    functions: &Functions,
    observer: &Observer,
    f: F,
) -> (&'static str, Arc<dyn TaskHandler>)
where
    S: Step,
    F: Fn(Arc<Platform>, S::Input) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<S::Output, StepError>> + Send + 'static,
{
    let platform = function(functions, S::STATE);
    let (platform, observer, f) = (platform.clone(), observer.clone(), Arc::new(f));
    let handler = handler_fn(move |req| {
        let (platform, observer, f) = (platform.clone(), observer.clone(), f.clone());
        async move {
            let started = Instant::now();
            let trace = crate::trace::xray_trace_id(&req.execution_name);
            let (result, measure) =
                call_measured::<S, _, _>(|input| f(platform, input), req.payload, Some(trace))
                    .await;
            observer(&StepReport {
                execution: req.execution_name,
                state: req.state_name,
                elapsed: started.elapsed(),
                measure,
                error: result
                    .as_ref()
                    .err()
                    .map(|e| (e.error_type().to_owned(), e.to_string())),
                detail: result.as_ref().ok().and_then(detail),
            });
            result.map_err(task_error)
        }
    });
    (S::STATE, handler)
}

/// The ARN a workflow function has on the local executor, and the substitution naming it.
pub fn function_arn(executor: &Executor, state: &str) -> (String, String) {
    let region = &executor.config().region;
    let account = &executor.config().account_id;
    (
        format!("{state}FunctionArn"),
        format!("arn:aws:lambda:{region}:{account}:function:tenant-vending-{state}"),
    )
}

/// Every function's platform, by the template's logical id (`NormalizeFunction`).
pub type Functions = BTreeMap<String, Arc<Platform>>;

fn function<'a>(functions: &'a Functions, state: &str) -> &'a Arc<Platform> {
    &functions[&format!("{state}Function")]
}

/// Registers every function of the workflow with the executor, under the names SAM would
/// give them, each with its own platform; returns the definition's substitutions.
pub fn register_functions(
    executor: &Executor,
    functions: &Functions,
    observer: &Observer,
) -> HashMap<String, String> {
    let handlers: Vec<(&str, Arc<dyn TaskHandler>)> = vec![
        step::<Normalize, _, _>(functions, observer, |p, input| async move {
            normalize::handle(&p.org, &p.registry, &p.config, input).await
        }),
        step::<EnsureAccount, _, _>(functions, observer, |p, input| async move {
            ensure_account::handle(&p.org, &p.registry, &p.config, input).await
        }),
        step::<CheckAccount, _, _>(functions, observer, |p, input| async move {
            check_account::handle(&p.org, &p.registry, input).await
        }),
        step::<PlaceAccount, _, _>(functions, observer, |p, input| async move {
            place_account::handle(&p.org, &p.accounts, &p.config, input).await
        }),
        step::<ProvisionNetwork, _, _>(functions, observer, |p, input| async move {
            provision_network::handle(&p.accounts, &p.registry, &p.config, input).await
        }),
        step::<ProvisionIdentity, _, _>(functions, observer, |p, input| async move {
            provision_identity::handle(&p.accounts, &p.config, input).await
        }),
        step::<AssignTeams, _, _>(functions, observer, |p, input| async move {
            assign_teams::handle(&p.teams, &p.accounts, &p.config, input).await
        }),
        step::<GrantClusterAccess, _, _>(functions, observer, |p, input| async move {
            grant_cluster_access::handle(&p.accounts, &p.config, input).await
        }),
        step::<HandOff, _, _>(functions, observer, |p, input| async move {
            hand_off::handle(&p.registry, &p.bus, p.destination()?, &p.config, input).await
        }),
        step::<RecordFailure, _, _>(functions, observer, |p, input| async move {
            record_failure::handle(&p.registry, &p.bus, input).await
        }),
        step::<Offboard, _, _>(functions, observer, |p, input| async move {
            offboard(&p, input).await
        }),
    ];
    let mut subs = HashMap::new();
    for (state, handler) in handlers {
        let (key, arn) = function_arn(executor, state);
        executor.register_function(&arn, handler);
        subs.insert(key, arn);
    }
    subs
}

/// The Offboard step on a function's platform (its `main.rs` builds the same services).
async fn offboard(
    p: &Platform,
    input: vending_domain::steps::OffboardInput,
) -> Result<vending_domain::steps::OffboardProgress, StepError> {
    let services = offboard_tenant::Services {
        org: &p.org,
        registry: &p.registry,
        bus: &p.bus,
        accounts: &p.accounts,
        destination: p.destination()?,
    };
    offboard_tenant::handle(&services, &p.config, input).await
}

/// How to run the local platform.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// How the sandbox behaves.
    pub sandbox: SandboxOptions,
    /// Run each function with only its template policy, every call authorized (default).
    pub strict: bool,
    /// The SAM template whose policies and rules apply (default: the repository's).
    pub template: Option<String>,
    /// Send each execution's history to the sandbox as it grows, so Step Functions'
    /// GetExecutionHistory (and `GET /tenants/{id}`) shows where a running one is.
    pub mirror_history: bool,
    /// The real time each virtual second of a wait takes (`WAIT_PACE`).
    pub wait_pace: Duration,
}

impl Default for LocalOptions {
    fn default() -> LocalOptions {
        LocalOptions {
            sandbox: SandboxOptions::default(),
            strict: true,
            template: None,
            mirror_history: false,
            wait_pace: WAIT_PACE,
        }
    }
}

/// The local platform: a sandbox seeded like a platform team's organization, the platform
/// config pointed at it, the functions on their own roles, the state machine on the local
/// executor behind the sandbox's Step Functions API, and the template's rules delivering.
pub struct Local {
    /// The sandbox (stopped on drop).
    pub sandbox: Sandbox,
    /// The management account's root configuration for the sandbox: the operator, the console.
    pub sdk: SdkConfig,
    /// What seeding created.
    pub seeded: SeededPlatform,
    /// The operator's view of the platform (root credentials), for inspection.
    pub platform: Arc<Platform>,
    /// Every function's platform, on its own credentials.
    pub functions: Functions,
    /// Every function's credentials (strict mode), by logical id.
    pub credentials: BTreeMap<String, Credentials>,
    /// The executor.
    pub executor: Executor,
    /// The vending state machine.
    pub state_machine_arn: String,
    /// The real time each virtual second of a wait takes.
    pub wait_pace: Duration,
    /// Scratch space: the git destination's cache, and its repository unless the config
    /// names a `file://` one.
    pub scratch: tempfile::TempDir,
    service: service::Service,
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

/// Every JSON value of the samples in `events/`, with JSON held in strings (an API Gateway
/// event's body) read too.
fn sample_values() -> Vec<Value> {
    fn walk(v: Value, out: &mut Vec<Value>) {
        match &v {
            Value::String(s) => {
                if let Ok(inner) = serde_json::from_str::<Value>(s)
                    && inner.is_object()
                {
                    walk(inner, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i.clone(), out)),
            Value::Object(o) => o.values().for_each(|i| walk(i.clone(), out)),
            _ => {}
        }
        out.push(v);
    }
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir(repo_root().join("events")) else {
        return out;
    };
    for entry in dir.flatten() {
        if let Ok(text) = std::fs::read_to_string(entry.path())
            && let Ok(v) = serde_json::from_str::<Value>(&text)
        {
            walk(v, &mut out);
        }
    }
    out
}

/// The principals the samples of `events/` name: the organization's people in the sandbox.
pub fn sample_principals() -> Vec<String> {
    let mut out: Vec<String> = sample_values()
        .into_iter()
        .filter_map(|v| match v {
            Value::String(s) if s.starts_with("arn:aws:iam::") && s.contains(":role/") => Some(s),
            _ => None,
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The Identity Store groups the samples of `events/` name as teams.
pub fn sample_groups() -> Vec<String> {
    let mut out: Vec<String> = sample_values()
        .iter()
        .filter_map(|v| v.get("teams")?.as_object())
        .flat_map(|teams| teams.values())
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|g| g.as_str().map(str::to_owned))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The platform's baseline in every new account: the customer-managed permissions boundary,
/// as a stack set would deploy it.
fn baseline(config: &PlatformConfig) -> Value {
    match &config.identity.permissions_boundary {
        PermissionsBoundary::CustomerManaged { name, path } => json!([{
            "name": name,
            "path": path,
            "document": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"},
                              {"Effect": "Deny", "Action": ["organizations:*", "account:*"], "Resource": "*"}]
            }
        }]),
        PermissionsBoundary::AwsManaged { .. } => json!([]),
    }
}

impl Local {
    /// Starts the local platform with the repository's workflow functions; `observer` sees
    /// every step call.
    pub async fn start(
        config: PlatformConfig,
        options: LocalOptions,
        observer: Observer,
    ) -> Result<Local, LocalError> {
        Local::start_with(config, options, |executor, functions| {
            register_functions(executor, functions, &observer)
        })
        .await
    }

    /// Like `start`, with the workflow's functions registered by `register` (which returns the
    /// definition's substitutions): the cold-start bench registers built bootstraps instead.
    pub async fn start_with<F>(
        mut config: PlatformConfig,
        options: LocalOptions,
        register: F,
    ) -> Result<Local, LocalError>
    where
        F: FnOnce(&Executor, &Functions) -> HashMap<String, String>,
    {
        let setup = |e: String| LocalError::Setup(e);
        // New accounts answer OptInRequired at first; not the seeded platform's own accounts.
        let sandbox = Sandbox::start(&SandboxOptions {
            ec2_optin_calls: 0,
            ..options.sandbox.clone()
        })?;
        let sdk = sandbox_config(&sandbox.endpoint(), &config.region);
        sandbox.configure(&json!({
            "baselinePolicies": baseline(&config),
            "eventsRegion": config.region,
        }))?;
        let mut principals: Vec<String> = config
            .identity
            .trusted_principals
            .iter()
            .chain(&config.adoption.default_owners)
            .map(|p| p.as_str().to_owned())
            .collect();
        principals.extend(sample_principals());
        let spec = SeedSpec {
            environments: config.environments.keys().cloned().collect(),
            clusters: config.clusters.iter().map(|c| c.name.clone()).collect(),
            member_role_name: config.member_role_name.clone(),
            principals,
            groups: sample_groups(),
            permission_sets: config
                .identity_center
                .iter()
                .flat_map(|ic| ic.assignments.iter().map(|a| a.permission_set.clone()))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect(),
        };
        let seeded = seed(&sdk, &spec).await.map_err(LocalError::Prepare)?;
        sandbox.configure(&json!({"ec2OptInCalls": options.sandbox.ec2_optin_calls}))?;
        seeded.apply(&mut config);
        let scratch = tempfile::tempdir()
            .map_err(|e| LocalError::File(format!("creating a scratch folder: {e}")))?;
        local_gitops(&mut config, &sdk, scratch.path()).await?;
        config
            .validate()
            .map_err(|e| LocalError::Prepare(StepError::InvalidRequest(e)))?;
        let clients = Clients::from_config(sdk.clone());
        DynamoRegistry::new(clients.dynamodb.clone(), REGISTRY_TABLE)
            .ensure_table()
            .await
            .map_err(LocalError::Prepare)?;
        clients
            .eventbridge
            .create_event_bus()
            .name(EVENT_BUS)
            .send()
            .await
            .map_err(|e| {
                LocalError::Prepare(StepError::Internal(format!("CreateEventBus: {e}")))
            })?;

        let account_id = sts_account(&sdk).await?;
        let executor = Executor::new(ExecutorConfig {
            region: config.region.clone(),
            account_id: account_id.clone(),
            time: asl_executor::TimeMode::Paced(options.wait_pace),
            ..ExecutorConfig::default()
        });
        let state_machine_arn = executor.state_machine_arn(STATE_MACHINE);
        let rerun_state_machine_arn = executor.state_machine_arn(RERUN_STATE_MACHINE);
        let arns = MachineArns {
            vending: state_machine_arn.clone(),
            rerun: rerun_state_machine_arn.clone(),
            offboarding: executor.state_machine_arn(OFFBOARDING_STATE_MACHINE),
        };
        let template_text = match &options.template {
            Some(t) => t.clone(),
            None => repo_file("infra/template.yaml")?,
        };
        let names = strict::LocalNames {
            account_id: account_id.clone(),
            region: config.region.clone(),
            table: REGISTRY_TABLE.into(),
            bus: EVENT_BUS.into(),
            state_machine_arn: state_machine_arn.clone(),
            rerun_state_machine_arn: rerun_state_machine_arn.clone(),
            offboarding_state_machine_arn: arns.offboarding.clone(),
            dead_letter_queue_arn: format!(
                "arn:aws:sqs:{}:{account_id}:tenant-vending-trigger-dlq",
                config.region
            ),
        };
        let deployment = strict::deployment(&config, &names);
        let credentials = if options.strict {
            strict::function_credentials(&sdk, &template_text, &deployment)
                .await
                .map_err(setup)?
        } else {
            BTreeMap::new()
        };
        let template = crate::template::parse(&template_text).map_err(|e| setup(e.to_string()))?;
        let logical_ids: Vec<String> =
            crate::template::resources_of(&template, "AWS::Serverless::Function")
                .into_iter()
                .map(|(id, _)| id.clone())
                .collect();
        let mut functions = Functions::new();
        for logical in logical_ids {
            let fn_sdk = match credentials.get(&logical) {
                Some(c) => strict::config_with(&sdk, c),
                None => sdk.clone(),
            };
            let mut platform = Platform::new(config.clone(), fn_sdk.clone(), &arns);
            // The functions that reach the GitOps destination, each with its own cache.
            if [
                "HandOffFunction",
                "OffboardFunction",
                vending_domain::api::INSPECT_TENANT,
            ]
            .contains(&logical.as_str())
            {
                platform.destination = Some(
                    vending_gitops::Destination::from_config(
                        &config,
                        &fn_sdk,
                        &scratch.path().join(format!("gitops-cache-{logical}.git")),
                    )
                    .await
                    .map_err(LocalError::Prepare)?,
                );
            }
            functions.insert(logical, Arc::new(platform));
        }
        for state in STATES.iter().chain([&Offboard::STATE]) {
            if !functions.contains_key(&format!("{state}Function")) {
                return Err(setup(format!("the template has no {state}Function")));
            }
        }
        let subs = register(&executor, &functions);
        let definition = definition()?;
        executor.create_state_machine(STATE_MACHINE, &definition, &subs)?;
        let rerun_definition: Value =
            serde_json::from_str(&repo_file("workflows/tenant-rerun.asl.json")?)
                .map_err(|e| LocalError::File(format!("workflows/tenant-rerun.asl.json: {e}")))?;
        let rerun_subs = HashMap::from([(
            "VendingStateMachineArn".to_owned(),
            state_machine_arn.clone(),
        )]);
        executor.register_resource(
            "arn:aws:states:::states:startExecution.sync:2",
            service::child_executions(&sdk),
        );
        executor.create_state_machine(RERUN_STATE_MACHINE, &rerun_definition, &rerun_subs)?;
        let offboarding_definition: Value = serde_json::from_str(&repo_file(
            "workflows/tenant-offboarding.asl.json",
        )?)
        .map_err(|e| LocalError::File(format!("workflows/tenant-offboarding.asl.json: {e}")))?;
        executor.create_state_machine(OFFBOARDING_STATE_MACHINE, &offboarding_definition, &subs)?;
        let rules = crate::template::state_machine_rules(&template, &deployment)
            .map_err(|e| setup(e.to_string()))?;
        let machines = [
            service::Machine {
                logical: "VendingStateMachine",
                name: STATE_MACHINE,
                definition: &definition,
                substitutions: &subs,
            },
            service::Machine {
                logical: "RerunStateMachine",
                name: RERUN_STATE_MACHINE,
                definition: &rerun_definition,
                substitutions: &rerun_subs,
            },
            service::Machine {
                logical: "OffboardingStateMachine",
                name: OFFBOARDING_STATE_MACHINE,
                definition: &offboarding_definition,
                substitutions: &subs,
            },
        ];
        let (_, triggers) = service::prepare(&sdk, &machines, &rules, &account_id)
            .await
            .map_err(setup)?;
        if options.strict {
            sandbox.configure(&json!({"enforceIam": true}))?;
        }
        let service = service::Service::start(
            &sdk,
            executor.clone(),
            sandbox.control(),
            vec![
                state_machine_arn.clone(),
                rerun_state_machine_arn.clone(),
                arns.offboarding.clone(),
            ],
            triggers,
            options.mirror_history,
        );
        let platform = Arc::new(Platform::new(config, sdk.clone(), &arns));
        Ok(Local {
            sandbox,
            sdk,
            seeded,
            platform,
            functions,
            credentials,
            executor,
            state_machine_arn,
            wait_pace: options.wait_pace,
            scratch,
            service,
        })
    }

    /// The platform config, pointed at the sandbox.
    pub fn config(&self) -> &PlatformConfig {
        &self.platform.config
    }

    /// Starts an execution as the console's "Start execution" does; returns its ARN.
    pub async fn start_execution(
        &self,
        name: Option<&str>,
        input: &Value,
    ) -> Result<String, LocalError> {
        self.service
            .start_execution(name, input)
            .await
            .map_err(LocalError::Setup)
    }

    /// Waits for an execution to end.
    pub async fn wait(
        &self,
        arn: &str,
    ) -> Result<(ExecutionResult, Vec<HistoryEvent>), LocalError> {
        service::wait(&self.executor, arn, EXECUTION_LIMIT)
            .await
            .map_err(LocalError::Setup)
    }

    /// Runs one execution to its end, started as the console starts it.
    pub async fn vend(
        &self,
        name: &str,
        input: Value,
    ) -> Result<(ExecutionResult, Vec<HistoryEvent>), LocalError> {
        let arn = self.start_execution(Some(name), &input).await?;
        self.wait(&arn).await
    }

    /// A portal request as API Gateway gives it to the TenantRequest function, answered by
    /// that function's handler on its own credentials: the HTTP answer. A 202 started the
    /// workflow with the request's body.
    pub async fn request(&self, event: Value) -> Value {
        let route = vending_runtime::http::read(&event)
            .ok()
            .map(|r| vending_domain::api::route(&r.method, &r.path));
        // API Gateway sends drift to InspectTenant, every other route to TenantRequest.
        if let Some(Ok(vending_domain::api::Endpoint::Drift(_))) = route {
            let p = &self.functions[vending_domain::api::INSPECT_TENANT];
            let Ok(destination) = p.destination() else {
                return json!({"statusCode": 500, "body": "InspectTenant has no GitOps destination"});
            };
            return inspect_tenant::handle(&p.registry, &p.accounts, destination, &p.config, event)
                .await;
        }
        let p = &self.functions[vending_domain::api::TENANT_REQUEST];
        tenant_request::handle(&p.registry, &p.workflow, &p.config, event).await
    }

    /// An event put on an EventBridge bus (`None`: the default bus), as its source would put
    /// it: AWS services' events (`aws.*` sources) as the service, others with PutEvents.
    pub async fn put_event(&self, bus: Option<&str>, event: &Value) -> Result<(), LocalError> {
        let source = event["source"].as_str().unwrap_or_default();
        if source.starts_with("aws.") {
            let account = self.executor.config().account_id.clone();
            return Ok(self.sandbox.put_service_event(
                &account,
                &self.platform.config.region,
                event,
            )?);
        }
        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .source(source)
            .detail_type(event["detail-type"].as_str().unwrap_or_default())
            .detail(event["detail"].to_string())
            .set_event_bus_name(bus.map(str::to_owned))
            .build();
        let out = aws_sdk_eventbridge::Client::new(&self.sdk)
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| LocalError::Setup(format!("PutEvents: {e:?}")))?;
        if out.failed_entry_count() > 0 {
            return Err(LocalError::Setup(format!(
                "PutEvents refused the event: {out:?}"
            )));
        }
        Ok(())
    }

    /// Waits until every trigger has been delivered and every execution has ended.
    pub async fn settle(&self) -> Result<(), LocalError> {
        self.service
            .settle(EXECUTION_LIMIT)
            .await
            .map_err(LocalError::Setup)
    }

    /// Every execution dispatched so far, in order, with its input.
    pub fn executions(&self) -> Vec<(String, Value)> {
        self.service.started()
    }
}

async fn sts_account(sdk: &SdkConfig) -> Result<String, LocalError> {
    let out = aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| LocalError::Setup(format!("GetCallerIdentity: {e:?}")))?;
    Ok(out.account().unwrap_or_default().to_owned())
}
