//! The operator's commands: `vend request`, `status`, `list` and `rerun`, against the portal
//! API (`vend serve`, or a deployed one). They follow kubectl's and the AWS CLI's habits:
//! data on stdout in the format asked (`-o table|json|yaml|name`), progress and errors on
//! stderr (a live line when stderr is a terminal), colour only on a terminal and never with
//! `NO_COLOR`, and exit codes a script can branch on (`exit`).

use crate::client::{ApiClient, ClientError, Reply};
use serde::Serialize;
use serde_json::Value;
use std::io::Write;
use std::time::{Duration, Instant};
use vending_domain::api::{
    Accepted, ApiError, BatchAccepted, BatchRerunRequest, OffboardAccepted, OffboardBody,
    TenantList, TenantSummary, TenantView,
};
use vending_domain::drift::DriftReport;
use vending_domain::plan::{AccountAction, FileAction, NetworkAction, Plan, PlanAction};
use vending_domain::ports::TenantStatus;
use vending_domain::{PlatformConfig, TenantRequest};

/// The exit codes of the operator's commands.
pub mod exit {
    /// Done; the tenant (if any was waited for) is READY.
    pub const OK: u8 = 0;
    /// A tenant waited for or shown is FAILED.
    pub const FAILED: u8 = 1;
    /// The input is invalid: every bad field is listed on stderr (offline, or by the API).
    pub const INVALID: u8 = 2;
    /// The API refused for another reason (a conflict: the request id reused, a run in
    /// progress).
    pub const REFUSED: u8 = 3;
    /// No such tenant.
    pub const NOT_FOUND: u8 = 4;
    /// The API could not be reached, or failed (5xx).
    pub const UNAVAILABLE: u8 = 5;
    /// `--wait`/`--watch` gave up before the tenant was READY or FAILED.
    pub const TIMED_OUT: u8 = 6;
    /// `vend request` showed its plan and was told not to send it.
    pub const DECLINED: u8 = 7;
}

/// What `vend request` does with the request's plan before it sends the request.
pub enum Review<'a> {
    /// Sends it without a plan (`--no-plan`).
    Skip,
    /// Shows the plan on stderr, then sends it (not on a terminal, or `--yes`).
    Show,
    /// Shows the plan and sends the request only if the answer is yes (a terminal).
    Ask(&'a mut dyn FnMut() -> bool),
}

impl std::fmt::Debug for Review<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Review::Skip => "Skip",
            Review::Show => "Show",
            Review::Ask(_) => "Ask",
        })
    }
}

/// How data is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns with a header.
    #[default]
    Table,
    /// The API's JSON, pretty-printed.
    Json,
    /// The API's JSON as YAML.
    Yaml,
    /// `tenant/<id>`, one per line.
    Name,
}

/// Where a command writes, and how.
pub struct Io<'a> {
    /// Data.
    pub out: &'a mut dyn Write,
    /// Progress and errors.
    pub err: &'a mut dyn Write,
    /// Whether stderr is a terminal (a live progress line).
    pub live: bool,
    /// Whether stdout takes colour (a terminal, and no `NO_COLOR`).
    pub color: bool,
}

impl std::fmt::Debug for Io<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Io")
            .field("live", &self.live)
            .field("color", &self.color)
            .finish_non_exhaustive()
    }
}

/// Whether colour is wanted on a terminal: `NO_COLOR` set to anything non-empty says no.
pub fn color_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// How often `--wait` and `--watch` ask.
pub const POLL: Duration = Duration::from_millis(500);

fn status_text(status: TenantStatus, color: bool) -> String {
    let text = status.as_str();
    if !color {
        return text.to_owned();
    }
    let code = match status {
        TenantStatus::Ready => "32",
        TenantStatus::Failed => "31",
        TenantStatus::Provisioning => "33",
        TenantStatus::Requested => "36",
        TenantStatus::Offboarding => "35",
        TenantStatus::Closed => "90",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// Columns aligned under a header; a cell's width counts what shows (colour codes do not).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    fn shown(cell: &str) -> usize {
        let mut n = 0;
        let mut escape = false;
        for c in cell.chars() {
            match (escape, c) {
                (false, '\x1b') => escape = true,
                (true, 'm') => escape = false,
                (true, _) => {}
                (false, _) => n += 1,
            }
        }
        n
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(shown(cell));
        }
    }
    let line = |cells: Vec<String>| {
        let last = cells.len().saturating_sub(1);
        let mut text = String::new();
        for (i, cell) in cells.into_iter().enumerate() {
            text.push_str(&cell);
            if i < last {
                text.push_str(&" ".repeat(widths[i] - shown(&cell) + 2));
            }
        }
        text.push('\n');
        text
    };
    let mut text = line(header.iter().map(|h| (*h).to_owned()).collect());
    for row in rows {
        text.push_str(&line(row.clone()));
    }
    text
}

fn or_dash<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// A value in a data format (`json`, `yaml`).
fn data<T: Serialize>(value: &T, format: Format) -> String {
    match format {
        Format::Yaml => yaml_serde::to_string(value).unwrap_or_default(),
        _ => serde_json::to_string_pretty(value).unwrap_or_default() + "\n",
    }
}

/// An accepted request or re-run.
pub fn render_accepted(accepted: &Accepted, format: Format) -> String {
    match format {
        Format::Table => table(
            &["TENANT", "REQUEST", "EXECUTION"],
            &[vec![
                accepted.tenant_id.to_string(),
                accepted.request_id.clone(),
                accepted
                    .execution_arn
                    .rsplit(':')
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            ]],
        ),
        Format::Name => format!("tenant/{}\n", accepted.tenant_id),
        _ => data(accepted, format),
    }
}

/// One tenant.
pub fn render_view(view: &TenantView, format: Format, color: bool) -> String {
    match format {
        Format::Table => {
            let mut text = table(
                &[
                    "TENANT",
                    "ENVIRONMENT",
                    "STATUS",
                    "STEP",
                    "ACCOUNT",
                    "CIDR",
                    "GENERATION",
                ],
                &[vec![
                    view.tenant_id.to_string(),
                    or_dash(view.environment.as_ref()),
                    status_text(view.status, color),
                    or_dash(view.step.as_ref()),
                    or_dash(view.account_id.as_ref()),
                    or_dash(view.cidr),
                    or_dash(view.generation),
                ]],
            );
            if let Some(f) = &view.failure {
                text.push_str(&format!("failed at {}: {}: {}\n", f.step, f.error, f.cause));
            }
            text
        }
        Format::Name => format!("tenant/{}\n", view.tenant_id),
        _ => data(view, format),
    }
}

/// A batch re-run: the tenants it runs (the batch's execution and what it skipped go to
/// stderr).
pub fn render_batch(batch: &BatchAccepted, format: Format) -> String {
    match format {
        Format::Table => table(
            &["TENANT", "REQUEST", "EXECUTION"],
            &batch
                .tenants
                .iter()
                .map(|t| {
                    vec![
                        t.tenant_id.to_string(),
                        t.request_id.clone(),
                        t.execution_name.clone(),
                    ]
                })
                .collect::<Vec<_>>(),
        ),
        Format::Name => batch
            .tenants
            .iter()
            .map(|t| format!("tenant/{}\n", t.tenant_id))
            .collect(),
        _ => data(batch, format),
    }
}

/// A plan, read like Terraform's: what happens to the tenant, its account, network, roles and
/// access entries, each record field that changes, and each file's diff. Colour marks adds
/// (green), changes (yellow) and removals (red) when allowed.
pub fn render_plan(plan: &Plan, format: Format, color: bool) -> String {
    match format {
        Format::Table => {}
        Format::Name => return format!("tenant/{}\n", plan.tenant_id),
        _ => return data(plan, format),
    }
    let paint = |code: &str, text: &str| paint(color, code, text);
    let mut out = String::new();
    let action = match plan.action {
        PlanAction::Create => paint("32", "create"),
        PlanAction::Update => paint("33", "update"),
        PlanAction::Unchanged => "no changes".to_owned(),
    };
    out.push_str(&format!(
        "tenant {} ({}): {action}, generation {}\n",
        plan.tenant_id, plan.environment, plan.generation
    ));
    if let Some(status) = plan.status {
        out.push_str(&format!("  now: {}\n", status.as_str()));
    }
    let a = &plan.account;
    let account_action = match a.action {
        AccountAction::Create => "create",
        AccountAction::Adopt => "adopt",
        AccountAction::Keep => "keep",
    };
    out.push_str(&format!("\naccount: {account_action} {}", a.account_id));
    if let Some(email) = &a.email {
        out.push_str(&format!(" <{email}>"));
    }
    out.push_str(&format!("\n  ou: {}\n  alias: {}\n", a.ou_id, a.alias));
    for (k, v) in &a.tags {
        out.push_str(&format!("  tag {k}={v}\n"));
    }
    let n = &plan.network;
    let verb = match n.action {
        NetworkAction::Claim => "claim",
        NetworkAction::Keep => "keep",
    };
    out.push_str(&format!(
        "\nnetwork: {verb} {} in {}\n",
        n.cidr.map_or_else(
            || format!("no free /{} left", n.prefix_length),
            |c| c.to_string()
        ),
        n.region
    ));
    out.push_str("\nroles:\n");
    for r in &plan.roles {
        out.push_str(&format!(
            "  {} ({})\n    boundary: {}\n    trusted: {}\n    group: {}\n",
            r.name,
            r.template,
            r.boundary_arn,
            r.trusted.join(", "),
            r.kubernetes_group
        ));
    }
    if !plan.teams.is_empty() {
        out.push_str("\nteams:\n");
        for t in &plan.teams {
            out.push_str(&format!(
                "  {} -> {}: {}\n    role: {}\n",
                t.kind,
                t.permission_set,
                t.groups.join(", "),
                t.role_arn
            ));
            if let Some(template) = &t.cluster_access {
                out.push_str(&format!("    clusters: as {template}\n"));
            }
        }
    }
    out.push_str("\nclusters:\n");
    for c in &plan.clusters {
        out.push_str(&format!(
            "  {} ({}), namespaces {}\n",
            c.name,
            c.account_id,
            c.namespaces.join(", ")
        ));
        let rows: Vec<Vec<String>> = c
            .entries
            .iter()
            .map(|e| {
                vec![
                    format!("    {}", e.principal_arn),
                    e.kubernetes_groups.join(","),
                    e.access_policy_arn
                        .rsplit('/')
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                ]
            })
            .collect();
        for line in table(&["    PRINCIPAL", "GROUPS", "POLICY"], &rows).lines() {
            out.push_str(line);
            out.push('\n');
        }
    }
    if plan.baseline.is_some() {
        out.push_str("\nbaseline:\n");
    }
    if let Some(backup) = plan.baseline.as_ref().and_then(|b| b.backup.as_ref()) {
        out.push_str(&format!(
            "  backup vault {}, plan {}\n",
            backup.vault_name, backup.plan_name
        ));
        for r in &backup.rules {
            out.push_str(&format!(
                "    rule {}: {}, kept {} days\n",
                r.name, r.schedule, r.delete_after_days
            ));
        }
        out.push_str(&format!(
            "    selection: resources tagged {}\n    role: {}\n",
            backup.selection_tag, backup.role_arn
        ));
    }
    if let Some(c) = plan.baseline.as_ref().and_then(|b| b.config.as_ref()) {
        match &c.delivery_bucket {
            Some(bucket) => out.push_str(&format!(
                "  config ({}): recorder, delivering to {bucket}\n",
                c.mode
            )),
            None => out.push_str(&format!(
                "  config ({}): Control Tower's recorder\n",
                c.mode
            )),
        }
        if !c.rules.is_empty() {
            out.push_str(&format!("    rules: {}\n", c.rules.join(", ")));
        }
    }
    if let Some(t) = plan.baseline.as_ref().and_then(|b| b.trail.as_ref()) {
        match &t.bucket {
            Some(bucket) => out.push_str(&format!("  trail ({}): writing to {bucket}\n", t.mode)),
            None => out.push_str(&format!(
                "  trail ({}): the organization trail covers the account\n",
                t.mode
            )),
        }
    }
    if !plan.changes.is_empty() {
        out.push_str("\nrecord changes:\n");
        let shown = |v: &Option<Value>| {
            v.as_ref()
                .map_or_else(|| "(none)".to_owned(), Value::to_string)
        };
        for c in &plan.changes {
            out.push_str(&format!(
                "  {} {}: {} -> {}\n",
                paint("33", "~"),
                c.path,
                shown(&c.from),
                shown(&c.to)
            ));
        }
    }
    out.push_str("\nmanifests:\n");
    for m in &plan.manifests {
        let (mark, code) = match m.action {
            FileAction::Add => ("+", "32"),
            FileAction::Modify => ("~", "33"),
            FileAction::Delete => ("-", "31"),
            FileAction::Unchanged => ("=", "0"),
        };
        out.push_str(&format!("  {} {}\n", paint(code, mark), m.path));
    }
    for m in plan
        .manifests
        .iter()
        .filter(|m| m.action != FileAction::Unchanged && m.action != FileAction::Add)
    {
        out.push('\n');
        for line in m.diff.lines() {
            let code = match line.as_bytes().first() {
                Some(b'+') if !line.starts_with("+++") => "32",
                Some(b'-') if !line.starts_with("---") => "31",
                _ => "0",
            };
            out.push_str(&if code == "0" {
                line.to_owned()
            } else {
                paint(code, line)
            });
            out.push('\n');
        }
    }
    for w in &plan.warnings {
        out.push_str(&format!("\nwarning: {w}\n"));
    }
    out
}

/// A listing.
pub fn render_list(tenants: &[TenantSummary], format: Format, color: bool) -> String {
    match format {
        Format::Table => table(
            &["TENANT", "ENVIRONMENT", "STATUS", "ACCOUNT", "GENERATION"],
            &tenants
                .iter()
                .map(|t| {
                    vec![
                        t.tenant_id.to_string(),
                        or_dash(t.environment.as_ref()),
                        status_text(t.status, color),
                        or_dash(t.account_id.as_ref()),
                        or_dash(t.generation),
                    ]
                })
                .collect::<Vec<_>>(),
        ),
        Format::Name => tenants
            .iter()
            .map(|t| format!("tenant/{}\n", t.tenant_id))
            .collect(),
        _ => data(
            &TenantList {
                tenants: tenants.to_vec(),
                next_token: None,
            },
            format,
        ),
    }
}

/// Lists every field of a refusal on stderr; returns its exit code.
fn refused(io: &mut Io<'_>, reply: &Reply) -> u8 {
    let error: ApiError = serde_json::from_value(reply.body.clone()).unwrap_or(ApiError {
        message: reply.body.to_string(),
        errors: Vec::new(),
        error: None,
    });
    let _ = writeln!(io.err, "error: {} ({})", error.message, reply.status);
    for e in &error.errors {
        let _ = writeln!(io.err, "  {}: {}", e.field, e.reason);
    }
    match reply.status {
        400 => exit::INVALID,
        404 => exit::NOT_FOUND,
        s if s >= 500 => exit::UNAVAILABLE,
        _ => exit::REFUSED,
    }
}

fn unreachable(io: &mut Io<'_>, e: &ClientError) -> u8 {
    let _ = writeln!(io.err, "error: {e}");
    exit::UNAVAILABLE
}

/// Calls the API and reads its answer as `T` when the status is one of `ok`; otherwise says
/// why on stderr and gives the exit code (unreachable, refused, or an answer it cannot read).
async fn call<T: serde::de::DeserializeOwned>(
    client: &ApiClient,
    io: &mut Io<'_>,
    method: &str,
    target: &str,
    body: Option<&Value>,
    ok: &[u16],
) -> Result<T, u8> {
    let reply = client
        .call(method, target, body)
        .await
        .map_err(|e| unreachable(io, &e))?;
    if !ok.contains(&reply.status) {
        return Err(refused(io, &reply));
    }
    serde_json::from_value(reply.body).map_err(|e| {
        let _ = writeln!(io.err, "error: an answer this vend does not read: {e}");
        exit::UNAVAILABLE
    })
}

/// A tenant request read from a file: the request itself, or an API Gateway event that
/// carries it (as `events/portal-request.json` does).
pub fn request_body(text: &str) -> Result<Value, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    if value.get("requestContext").is_some()
        && let Some(body) = value.get("body").and_then(Value::as_str)
    {
        return serde_json::from_str(body)
            .map_err(|e| format!("the event's body is not JSON: {e}"));
    }
    Ok(value)
}

/// Checks a request offline with the domain's own rules (every rule when the platform config
/// is at hand, the shape only otherwise); lists every bad field.
pub fn check_offline(
    io: &mut Io<'_>,
    body: &Value,
    config: Option<&PlatformConfig>,
) -> Result<(), u8> {
    let checked = TenantRequest::from_value(body).and_then(|r| match config {
        Some(config) => r.validate(config).map(|_| ()),
        None => Ok(()),
    });
    match checked {
        Ok(()) => Ok(()),
        Err(errors) => {
            let _ = writeln!(io.err, "error: invalid request (checked before sending)");
            for e in &errors.errors {
                let _ = writeln!(io.err, "  {}: {}", e.field, e.reason);
            }
            Err(exit::INVALID)
        }
    }
}

/// `vend request`: checks, shows what it would do (`review`: the API's plan on stderr, and
/// on a terminal a question), sends, and with `wait` follows the tenant to READY or FAILED.
pub async fn request(
    client: &ApiClient,
    io: &mut Io<'_>,
    body: &Value,
    config: Option<&PlatformConfig>,
    format: Format,
    wait: Option<Duration>,
    review: Review<'_>,
) -> u8 {
    if let Err(code) = check_offline(io, body, config) {
        return code;
    }
    if !matches!(review, Review::Skip) {
        let plan = match call::<Plan>(client, io, "POST", "/plans", Some(body), &[200]).await {
            Ok(plan) => plan,
            Err(code) => return code,
        };
        let _ = write!(
            io.err,
            "{}",
            render_plan(&plan, Format::Table, io.live && color_allowed())
        );
        if let Review::Ask(confirm) = review {
            let _ = write!(io.err, "Send this request? Only 'yes' sends it: ");
            let _ = io.err.flush();
            if !confirm() {
                let _ = writeln!(io.err, "not sent");
                return exit::DECLINED;
            }
        }
    }
    let accepted: Accepted = match call(client, io, "POST", "/tenants", Some(body), &[202]).await {
        Ok(a) => a,
        Err(code) => return code,
    };
    if let Some(message) = &accepted.message {
        let _ = writeln!(io.err, "{message}");
    }
    match wait {
        None => {
            let _ = write!(io.out, "{}", render_accepted(&accepted, format));
            exit::OK
        }
        Some(limit) => {
            follow(
                client,
                io,
                accepted.tenant_id.as_str(),
                Until::Vended(Some(&accepted.request_id)),
                format,
                limit,
            )
            .await
        }
    }
}

async fn get(client: &ApiClient, tenant: &str) -> Result<Reply, ClientError> {
    client
        .call("GET", &format!("/tenants/{tenant}"), None)
        .await
}

/// Whether a tenant's vending has ended: nothing runs on it, it is READY or FAILED, and (when
/// following a request) the registry has taken that request (an update of a READY tenant
/// shows READY from its previous request until its execution begins).
/// What a follower waits for.
#[derive(Debug, Clone, Copy)]
enum Until<'a> {
    /// The vending's end (of this request, when given): READY or FAILED.
    Vended(Option<&'a str>),
    /// The offboarding's end: CLOSED, a failure recorded while OFFBOARDING, or the tenant
    /// taken back by a new request (once it was seen OFFBOARDING).
    Offboarded {
        /// The offboarding's execution (its name).
        execution: &'a str,
        /// Whether the tenant was seen OFFBOARDING by it yet (before, it is what it was).
        seen: bool,
    },
}

impl Until<'_> {
    fn done(&mut self, view: &TenantView) -> bool {
        let running = view
            .execution
            .as_ref()
            .is_some_and(|e| e.status == "RUNNING");
        match self {
            Until::Vended(request) => {
                !running
                    && matches!(view.status, TenantStatus::Ready | TenantStatus::Failed)
                    && request.is_none_or(|r| view.request_id == r)
            }
            Until::Offboarded { execution, seen } => match view.status {
                TenantStatus::Closed => true,
                TenantStatus::Offboarding => {
                    let ours = view
                        .offboarding
                        .as_ref()
                        .is_some_and(|o| o.execution == *execution);
                    *seen |= ours;
                    // A failure of an earlier offboarding is not this one's.
                    ours && view.failure.is_some()
                }
                _ => *seen && !running,
            },
        }
    }

    /// The exit code of a view it was waiting for.
    fn code(&self, view: &TenantView) -> u8 {
        let ok = match self {
            Until::Vended(_) => view.status != TenantStatus::Failed,
            Until::Offboarded { .. } => view.status == TenantStatus::Closed,
        };
        if ok { exit::OK } else { exit::FAILED }
    }
}

/// Follows a tenant until its vending ends (READY or FAILED) or `limit` passes, showing each
/// step on stderr; prints the tenant at the end.
async fn follow(
    client: &ApiClient,
    io: &mut Io<'_>,
    tenant: &str,
    mut until: Until<'_>,
    format: Format,
    limit: Duration,
) -> u8 {
    let started = Instant::now();
    let mut last = String::new();
    loop {
        let reply = match get(client, tenant).await {
            Ok(r) => r,
            Err(e) => return unreachable(io, &e),
        };
        if reply.status != 200 {
            return refused(io, &reply);
        }
        let view: TenantView = match serde_json::from_value(reply.body.clone()) {
            Ok(v) => v,
            Err(e) => {
                let _ = writeln!(io.err, "error: an answer this vend does not read: {e}");
                return exit::UNAVAILABLE;
            }
        };
        let line = format!(
            "{}  {}  {}",
            view.tenant_id,
            view.status.as_str(),
            view.step.as_deref().unwrap_or("")
        )
        .trim_end()
        .to_owned();
        if line != last {
            if io.live {
                let _ = write!(
                    io.err,
                    "\r\x1b[K{line}  {:.0}s",
                    started.elapsed().as_secs_f64()
                );
            } else {
                let _ = writeln!(io.err, "{line}");
            }
            last = line;
        }
        if until.done(&view) {
            if io.live {
                let _ = writeln!(io.err);
            }
            let _ = write!(io.out, "{}", render_view(&view, format, io.color));
            return until.code(&view);
        }
        if started.elapsed() > limit {
            if io.live {
                let _ = writeln!(io.err);
            }
            let _ = writeln!(
                io.err,
                "error: {tenant} is still {} after {} s",
                view.status.as_str(),
                limit.as_secs()
            );
            return exit::TIMED_OUT;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// `vend status`: the tenant now, or with `watch` until its vending ends.
pub async fn status(
    client: &ApiClient,
    io: &mut Io<'_>,
    tenant: &str,
    format: Format,
    watch: Option<Duration>,
) -> u8 {
    if let Some(limit) = watch {
        return follow(client, io, tenant, Until::Vended(None), format, limit).await;
    }
    let reply = match get(client, tenant).await {
        Ok(r) => r,
        Err(e) => return unreachable(io, &e),
    };
    if reply.status != 200 {
        return refused(io, &reply);
    }
    match serde_json::from_value::<TenantView>(reply.body) {
        Ok(view) => {
            let _ = write!(io.out, "{}", render_view(&view, format, io.color));
            if view.status == TenantStatus::Failed {
                exit::FAILED
            } else {
                exit::OK
            }
        }
        Err(e) => {
            let _ = writeln!(io.err, "error: an answer this vend does not read: {e}");
            exit::UNAVAILABLE
        }
    }
}

/// The query string of a listing's filters.
pub fn list_target(
    environment: Option<&str>,
    status: Option<&str>,
    labels: &[String],
    next: Option<&str>,
) -> String {
    // Everything but RFC 3986's unreserved characters is escaped.
    const ESCAPED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    let enc = |s: &str| percent_encoding::utf8_percent_encode(s, ESCAPED).to_string();
    let mut params = Vec::new();
    if let Some(e) = environment {
        params.push(format!("environment={}", enc(e)));
    }
    if let Some(s) = status {
        params.push(format!("status={}", enc(s)));
    }
    for l in labels {
        params.push(format!("tag={}", enc(l)));
    }
    params.push(format!("limit={}", vending_domain::registry::MAX_PAGE));
    if let Some(n) = next {
        params.push(format!("nextToken={}", enc(n)));
    }
    format!("/tenants?{}", params.join("&"))
}

/// `vend list`: every page of the listing.
pub async fn list(
    client: &ApiClient,
    io: &mut Io<'_>,
    environment: Option<&str>,
    status: Option<&str>,
    labels: &[String],
    format: Format,
) -> u8 {
    let mut tenants = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let target = list_target(environment, status, labels, next.as_deref());
        let page: TenantList = match call(client, io, "GET", &target, None, &[200]).await {
            Ok(p) => p,
            Err(code) => return code,
        };
        tenants.extend(page.tenants);
        match page.next_token {
            Some(token) => next = Some(token),
            None => break,
        }
    }
    if tenants.is_empty() && format == Format::Table {
        let _ = writeln!(io.err, "no tenants");
        return exit::OK;
    }
    let _ = write!(io.out, "{}", render_list(&tenants, format, io.color));
    exit::OK
}

/// `vend rerun`: a re-run of each tenant named; the worst exit code of them.
pub async fn rerun(
    client: &ApiClient,
    io: &mut Io<'_>,
    tenants: &[String],
    rerun_id: Option<&str>,
    format: Format,
) -> u8 {
    let mut code = exit::OK;
    for tenant in tenants {
        let body = rerun_id.map(|id| serde_json::json!({"rerunId": id}));
        let reply = match client
            .call("POST", &format!("/tenants/{tenant}/rerun"), body.as_ref())
            .await
        {
            Ok(r) => r,
            Err(e) => return unreachable(io, &e),
        };
        if reply.status != 202 {
            code = code.max(refused(io, &reply));
            continue;
        }
        match serde_json::from_value::<Accepted>(reply.body) {
            Ok(accepted) => {
                let _ = write!(io.out, "{}", render_accepted(&accepted, format));
            }
            Err(e) => {
                let _ = writeln!(io.err, "error: an answer this vend does not read: {e}");
                code = code.max(exit::UNAVAILABLE);
            }
        }
    }
    code
}

/// `vend offboard`: starts the tenant's offboarding (`DELETE /tenants/{tenantId}`); with
/// `wait`, follows it until the tenant is CLOSED (exit 0), its offboarding failed, or a new
/// request took it back (exit 1).
pub async fn offboard(
    client: &ApiClient,
    io: &mut Io<'_>,
    tenant: &str,
    body: &OffboardBody,
    format: Format,
    wait: Option<Duration>,
) -> u8 {
    let body = serde_json::to_value(body).unwrap_or_default();
    let path = format!("/tenants/{tenant}");
    let accepted: OffboardAccepted =
        match call(client, io, "DELETE", &path, Some(&body), &[202]).await {
            Ok(a) => a,
            Err(code) => return code,
        };
    let execution = accepted
        .execution_arn
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let _ = writeln!(
        io.err,
        "offboarding {} ({execution}){}",
        accepted.tenant_id,
        if accepted.close_account {
            ": its account is closed after the grace period"
        } else {
            ": its account stays, suspended"
        }
    );
    match wait {
        None => {
            let _ = write!(
                io.out,
                "{}",
                match format {
                    Format::Table => table(
                        &["TENANT", "EXECUTION", "CLOSE ACCOUNT"],
                        &[vec![
                            accepted.tenant_id.to_string(),
                            execution,
                            accepted.close_account.to_string(),
                        ]],
                    ),
                    Format::Name => format!("tenant/{}\n", accepted.tenant_id),
                    _ => data(&accepted, format),
                }
            );
            exit::OK
        }
        Some(limit) => {
            follow(
                client,
                io,
                accepted.tenant_id.as_str(),
                Until::Offboarded {
                    execution: &execution,
                    seen: false,
                },
                format,
                limit,
            )
            .await
        }
    }
}

/// `vend plan`: checks the request offline, then asks the API what it would do; changes
/// nothing.
pub async fn plan(
    client: &ApiClient,
    io: &mut Io<'_>,
    body: &Value,
    config: Option<&PlatformConfig>,
    format: Format,
) -> u8 {
    if let Err(code) = check_offline(io, body, config) {
        return code;
    }
    match call::<Plan>(client, io, "POST", "/plans", Some(body), &[200]).await {
        Ok(plan) => {
            let _ = write!(io.out, "{}", render_plan(&plan, format, io.color));
            exit::OK
        }
        Err(code) => code,
    }
}

/// `vend plan TENANT`: the tenant's drift, from the API (which reads its resources and
/// changes nothing).
pub async fn drift(client: &ApiClient, io: &mut Io<'_>, tenant: &str, format: Format) -> u8 {
    let path = format!("/tenants/{tenant}/drift");
    match call::<DriftReport>(client, io, "GET", &path, None, &[200]).await {
        Ok(report) => {
            let _ = write!(io.out, "{}", render_drift(&report, format, io.color));
            exit::OK
        }
        Err(code) => code,
    }
}

/// `text` in the SGR colour `code` when `color`, else as it is.
fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// A drift report: one block per difference, as a plan shows a change (`-` missing, `+` there
/// and not in the record, `~` different), with what the record says and what there is.
pub fn render_drift(report: &DriftReport, format: Format, color: bool) -> String {
    match format {
        Format::Table => {}
        Format::Name => return format!("tenant/{}\n", report.tenant_id),
        _ => return data(report, format),
    }
    let paint = |code: &str, text: &str| paint(color, code, text);
    let mut out = String::new();
    let n = report.differences.len();
    if n == 0 {
        out.push_str(&format!(
            "tenant {}, generation {}: no drift ({} resources checked)\n",
            report.tenant_id,
            report.generation,
            report.checked.len()
        ));
        return out;
    }
    out.push_str(&format!(
        "tenant {}, generation {}: {n} difference{} in {} resources checked\n",
        report.tenant_id,
        report.generation,
        if n == 1 { "" } else { "s" },
        report.checked.len()
    ));
    for d in &report.differences {
        let sign = match (d.field.as_str(), d.actual.as_str()) {
            ("exists", "(missing)") => paint("31", "-"),
            ("exists", _) => paint("32", "+"),
            _ => paint("33", "~"),
        };
        out.push_str(&format!("  {sign} {}  {}\n", d.resource, d.field));
        out.push_str(&format!("      record: {}\n", d.expected));
        out.push_str(&format!("      actual: {}\n", d.actual));
    }
    out.push_str(&format!(
        "`vend rerun {}` brings them back to the record.\n",
        report.tenant_id
    ));
    out
}

/// `vend rerun --selector ...` (or several tenants): one batch re-run through the API, which
/// starts one execution of the batch workflow; prints the tenants it runs.
pub async fn rerun_batch(
    client: &ApiClient,
    io: &mut Io<'_>,
    request: &BatchRerunRequest,
    format: Format,
) -> u8 {
    let body = serde_json::to_value(request).unwrap_or_default();
    let batch: BatchAccepted =
        match call(client, io, "POST", "/reruns", Some(&body), &[200, 202]).await {
            Ok(b) => b,
            Err(code) => return code,
        };
    for s in &batch.skipped {
        let _ = writeln!(io.err, "skipped {}: {}", s.tenant_id, s.reason);
    }
    match &batch.execution_arn {
        Some(arn) => {
            let _ = writeln!(
                io.err,
                "batch {arn}: {} tenant(s), {} at a time",
                batch.tenants.len(),
                batch.concurrency
            );
        }
        None => {
            let _ = writeln!(io.err, "nothing to re-run");
        }
    }
    let _ = write!(io.out, "{}", render_batch(&batch, format));
    exit::OK
}

/// The body of a batch re-run from the command line: the tenants named, or a selector from
/// `--env`, `--status` and `-l key=value`; every bad part named.
pub fn batch_request(
    tenants: &[String],
    environment: Option<&str>,
    status: Option<&str>,
    labels: &[String],
    concurrency: u32,
    rerun_id: Option<&str>,
) -> Result<BatchRerunRequest, vending_domain::ValidationErrors> {
    let mut errs = vending_domain::ValidationErrors::default();
    let mut request = BatchRerunRequest {
        concurrency: Some(concurrency),
        rerun_id: rerun_id.map(str::to_owned),
        ..BatchRerunRequest::default()
    };
    if tenants.is_empty() {
        let mut selector = vending_domain::api::Selector {
            environment: environment.map(str::to_owned),
            ..Default::default()
        };
        if let Some(text) = status {
            match TenantStatus::parse(text) {
                Some(s) => selector.status = Some(s),
                None => errs.push("status", format!("'{text}' is not a status")),
            }
        }
        for label in labels {
            match label.split_once('=') {
                Some((k, v)) if !k.is_empty() => {
                    selector.tags.insert(k.to_owned(), v.to_owned());
                }
                _ => errs.push("selector", format!("'{label}' is not key=value")),
            }
        }
        request.selector = Some(selector);
    } else {
        request.tenants = Some(tenants.to_vec());
    }
    errs.into_result(request)
}
