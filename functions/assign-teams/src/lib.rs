//! The AssignTeams step: each kind of team a request names (Identity Store groups, found by
//! display name) is assigned the kind's permission set on the tenant's account through IAM
//! Identity Center. CreateAccountAssignment is asynchronous: `assign` reads what is assigned,
//! starts what is missing and answers `IN_PROGRESS`; the workflow waits and runs `check`, which
//! polls the requests, until every one is made. Then the permission sets' roles in the account
//! (`AWSReservedSSO_<set>_<suffix>`, read by their full ARN) are what GrantClusterAccess maps
//! into the clusters. Nothing waits inside the function.

use std::collections::BTreeMap;
use vending_domain::ports::{Accounts, AssignmentStatus, Identity, TeamAccess};
use vending_domain::steps::{AssignTeamsInput, TeamAssignment, TeamGroup, TeamsRecord, TeamsState};
use vending_domain::{PlatformConfig, StepError, TenantSpec, ValidationErrors};

/// The step on its typed input (`vending_domain::steps::AssignTeams`).
pub async fn handle<T: TeamAccess, A: Accounts>(
    teams: &T,
    accounts: &A,
    config: &PlatformConfig,
    input: AssignTeamsInput,
) -> Result<TeamsRecord, StepError> {
    match input {
        AssignTeamsInput::Assign {
            spec,
            account_id,
            execution_name,
        } => assign(teams, accounts, config, &spec, &account_id, &execution_name).await,
        AssignTeamsInput::Check {
            teams: record,
            execution_name,
            ..
        } => check(teams, accounts, record, &execution_name).await,
    }
}

/// Resolves every name, then makes the assignments that are missing (read first).
pub async fn assign<T: TeamAccess, A: Accounts>(
    teams: &T,
    accounts: &A,
    config: &PlatformConfig,
    spec: &TenantSpec,
    account_id: &str,
    session: &str,
) -> Result<TeamsRecord, StepError> {
    if spec.teams.is_empty() {
        return Ok(TeamsRecord::none(account_id));
    }
    let mut assignments = resolve(teams, config, spec).await?;
    let mut pending = Vec::new();
    for a in &mut assignments {
        let assigned = teams
            .assigned_groups(account_id, &a.permission_set_arn)
            .await?;
        for group in &a.groups {
            if assigned.contains(&group.id) {
                continue;
            }
            match teams
                .assign(account_id, &a.permission_set_arn, &group.id)
                .await?
            {
                AssignmentStatus::InProgress { request_id } => pending.push(request_id),
                AssignmentStatus::Succeeded => {}
                AssignmentStatus::Failed { reason } => return Err(failed(a, group, &reason)),
            }
            tracing::info!(tenant = %spec.tenant_id, kind = %a.kind, group = %group.name, permission_set = %a.permission_set, "assignment started");
        }
    }
    let record = TeamsRecord {
        state: TeamsState::InProgress,
        account_id: account_id.to_owned(),
        assignments,
        pending,
    };
    if record.pending.is_empty() {
        finish(accounts, record, session).await
    } else {
        Ok(record)
    }
}

/// Polls the requests being made; when none is left, reads the roles.
pub async fn check<T: TeamAccess, A: Accounts>(
    teams: &T,
    accounts: &A,
    mut record: TeamsRecord,
    session: &str,
) -> Result<TeamsRecord, StepError> {
    let mut still = Vec::new();
    for request_id in &record.pending {
        match teams.assignment_status(request_id).await? {
            AssignmentStatus::InProgress { .. } => still.push(request_id.clone()),
            AssignmentStatus::Succeeded => {}
            AssignmentStatus::Failed { reason } => {
                return Err(StepError::Internal(format!(
                    "IAM Identity Center could not make the assignment {request_id} on account {}: {reason}",
                    record.account_id
                )));
            }
        }
    }
    record.pending = still;
    if record.pending.is_empty() {
        finish(accounts, record, session).await
    } else {
        Ok(record)
    }
}

/// Every assignment made: each permission set's role in the account, by its full ARN. A role
/// not there yet is `NotReady` (the workflow's Retry waits for Identity Center to provision it).
async fn finish<A: Accounts>(
    accounts: &A,
    mut record: TeamsRecord,
    session: &str,
) -> Result<TeamsRecord, StepError> {
    let iam = accounts.identity(&record.account_id, session).await?;
    for a in &mut record.assignments {
        let role = iam.permission_set_role(&a.permission_set).await?;
        let Some(role) = role else {
            return Err(StepError::NotReady(format!(
                "the role of permission set {} is not in account {} yet",
                a.permission_set, record.account_id
            )));
        };
        a.role_arn = Some(role);
    }
    record.state = TeamsState::Assigned;
    Ok(record)
}

/// Each kind the request names, with its permission set's ARN and its groups' ids; every name
/// that finds nothing is reported with its field, all at once.
async fn resolve<T: TeamAccess>(
    teams: &T,
    config: &PlatformConfig,
    spec: &TenantSpec,
) -> Result<Vec<TeamAssignment>, StepError> {
    let mut errs = ValidationErrors::default();
    let Some(ic) = &config.identity_center else {
        errs.push(
            "teams",
            "this platform does not assign teams (its config has no identityCenter)",
        );
        return Err(StepError::InvalidRequest(errs));
    };
    let mut sets: BTreeMap<&str, Option<String>> = BTreeMap::new();
    let mut out = Vec::new();
    // In the config's order, so the record's order never depends on the request's.
    for (i, template) in ic.assignments.iter().enumerate() {
        let Some(names) = spec.teams.get(&template.kind) else {
            continue;
        };
        let set = match sets.get(template.permission_set.as_str()) {
            Some(found) => found.clone(),
            None => {
                let found = teams.permission_set_arn(&template.permission_set).await?;
                sets.insert(&template.permission_set, found.clone());
                found
            }
        };
        if set.is_none() {
            errs.push(
                format!("identityCenter.assignments[{i}].permissionSet"),
                format!(
                    "no permission set named '{}' in {}",
                    template.permission_set, ic.instance_arn
                ),
            );
        }
        let mut groups = Vec::new();
        for (j, name) in names.iter().enumerate() {
            match teams.group_id(name).await? {
                Some(id) => groups.push(TeamGroup {
                    name: name.clone(),
                    id,
                }),
                None => errs.push(
                    format!("teams.{}[{j}]", template.kind),
                    format!(
                        "no group named '{name}' in identity store {}",
                        ic.identity_store_id
                    ),
                ),
            }
        }
        out.push(TeamAssignment {
            kind: template.kind.clone(),
            permission_set: template.permission_set.clone(),
            permission_set_arn: set.unwrap_or_default(),
            groups,
            role_arn: None,
            cluster_access: ic
                .cluster_template(template, &config.identity.roles)
                .map(|t| t.name.clone()),
        });
    }
    for kind in spec.teams.keys() {
        if ic.kind(kind).is_none() {
            errs.push(
                format!("teams.{kind}"),
                format!("'{kind}' is not a kind of team of this platform"),
            );
        }
    }
    errs.into_result(out).map_err(StepError::InvalidRequest)
}

fn failed(a: &TeamAssignment, group: &TeamGroup, reason: &str) -> StepError {
    StepError::Internal(format!(
        "IAM Identity Center could not assign {} to group '{}': {reason}",
        a.permission_set, group.name
    ))
}
