//! Seeds the local sandbox so it looks like a platform team's organization: an organization
//! with one OU per environment and a suspended OU, a network account with a transit gateway, its route table and
//! the flow-log bucket, and a platform account with the shared EKS clusters. Used by `vend` and the end-to-end tests;
//! never against AWS.

use crate::classify::classify;
use crate::clients::assume_role;
use aws_config::SdkConfig;
use aws_sdk_organizations::operation::create_organization::CreateOrganizationError;
use aws_sdk_organizations::types::{CreateAccountState, OrganizationFeatureSet};
use std::collections::BTreeMap;
use vending_domain::{PlatformConfig, StepError};

/// What to create.
#[derive(Debug, Clone)]
pub struct SeedSpec {
    /// Environment names; each gets an OU of that name under the root.
    pub environments: Vec<String>,
    /// Names of the shared EKS clusters.
    pub clusters: Vec<String>,
    /// The role assumed in member accounts: what CreateAccount names as the new accounts'
    /// member role.
    pub member_role_name: String,
    /// The organization's people: IAM roles of the management account (ARNs) that requests and
    /// the config name as owners, viewers and trusted principals. IAM refuses a trust policy
    /// naming a principal that does not exist, in the sandbox as in AWS.
    pub principals: Vec<String>,
    /// Identity Store groups (display names) that requests name as teams.
    pub groups: Vec<String>,
    /// Permission sets of the Identity Center instance (names), each with the AWS managed
    /// policy `ReadOnlyAccess` (what a set grants does not matter to the service).
    pub permission_sets: Vec<String>,
}

/// What was created, with the ids the platform config needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededPlatform {
    /// The organization root.
    pub root_id: String,
    /// OU id per environment.
    pub ou_ids: BTreeMap<String, String>,
    /// The suspended OU, where offboarded accounts go.
    pub suspended_ou_id: String,
    /// The network account.
    pub network_account_id: String,
    /// Its transit gateway.
    pub transit_gateway_id: String,
    /// The transit gateway's route table.
    pub transit_gateway_route_table_id: String,
    /// The platform account, which holds the clusters.
    pub platform_account_id: String,
    /// The bucket that receives VPC flow logs.
    pub flow_logs_bucket_arn: String,
    /// The bucket AWS Config delivers to (its policy lets AWS Config write).
    pub config_bucket: String,
    /// The bucket trails write to (its policy lets CloudTrail write).
    pub trail_bucket: String,
    /// The Identity Center instance of the management account.
    pub instance_arn: String,
    /// Its identity store.
    pub identity_store_id: String,
}

impl SeededPlatform {
    /// Points `config` at what was seeded: OU ids by environment name, the network account,
    /// its transit gateway and route table, the flow-log bucket, the clusters' account.
    pub fn apply(&self, config: &mut PlatformConfig) {
        for (name, env) in &mut config.environments {
            if let Some(ou) = self.ou_ids.get(name) {
                env.ou_id.clone_from(ou);
            }
        }
        let n = &mut config.network;
        n.account_id.clone_from(&self.network_account_id);
        n.transit_gateway_id.clone_from(&self.transit_gateway_id);
        n.transit_gateway_route_table_id
            .clone_from(&self.transit_gateway_route_table_id);
        n.flow_logs_bucket_arn
            .clone_from(&self.flow_logs_bucket_arn);
        for env in config.environments.values_mut() {
            let Some(baseline) = &mut env.baseline else {
                continue;
            };
            if let Some(bucket) = baseline
                .config
                .as_mut()
                .and_then(|c| c.delivery_bucket.as_mut())
            {
                bucket.clone_from(&self.config_bucket);
            }
            if let Some(bucket) = baseline.trail.as_mut().and_then(|t| t.bucket.as_mut()) {
                bucket.clone_from(&self.trail_bucket);
            }
        }
        if let Some(off) = &mut config.offboarding {
            off.suspended_ou_id.clone_from(&self.suspended_ou_id);
        }
        for cluster in &mut config.clusters {
            cluster.account_id.clone_from(&self.platform_account_id);
        }
        if let Some(ic) = &mut config.identity_center {
            ic.instance_arn.clone_from(&self.instance_arn);
            ic.identity_store_id.clone_from(&self.identity_store_id);
        }
    }
}

/// The name of the seeded suspended OU.
const SUSPENDED_OU: &str = "Suspended";

/// The name of the seeded flow-log bucket.
const FLOW_LOGS_BUCKET: &str = "sandbox-vpc-flow-logs";

/// The seeded buckets of the account baseline's recording, and the service each lets write.
const RECORDING_BUCKETS: [(&str, &str); 2] = [
    ("sandbox-config-logs", "config.amazonaws.com"),
    ("sandbox-cloudtrail-logs", "cloudtrail.amazonaws.com"),
];

/// Makes `bucket` with a policy that lets `service` put its logs under `AWSLogs/`.
async fn ensure_log_bucket(sdk: &SdkConfig, bucket: &str, service: &str) -> Result<(), StepError> {
    ensure_bucket(sdk, bucket).await?;
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "s3:PutObject",
            "Resource": format!("arn:aws:s3:::{bucket}/AWSLogs/*")
        }]
    });
    crate::manifests::path_style_client(sdk)
        .put_bucket_policy()
        .bucket(bucket)
        .policy(policy.to_string())
        .send()
        .await
        .map_err(|e| classify("PutBucketPolicy", &e))?;
    Ok(())
}

async fn create_member_account(
    org: &aws_sdk_organizations::Client,
    name: &str,
    role_name: &str,
) -> Result<String, StepError> {
    let out = org
        .create_account()
        .email(format!("{name}@sandbox.example.com"))
        .account_name(name)
        .role_name(role_name)
        .send()
        .await
        .map_err(|e| classify("CreateAccount", &e))?;
    let request = out
        .create_account_status()
        .and_then(|s| s.id())
        .unwrap_or_default()
        .to_owned();
    // The sandbox reports IN_PROGRESS for a few polls; it counts polls, not time.
    for _ in 0..50 {
        let st = org
            .describe_create_account_status()
            .create_account_request_id(&request)
            .send()
            .await
            .map_err(|e| classify("DescribeCreateAccountStatus", &e))?;
        let st = st.create_account_status();
        if st.and_then(|s| s.state()) == Some(&CreateAccountState::Succeeded) {
            return st
                .and_then(|s| s.account_id())
                .map(str::to_owned)
                .ok_or_else(|| StepError::Internal("no account id".into()));
        }
    }
    Err(StepError::Internal(format!(
        "the sandbox never finished creating {name}"
    )))
}

/// Seeds the sandbox behind `config` (which must point at it).
pub async fn seed(config: &SdkConfig, spec: &SeedSpec) -> Result<SeededPlatform, StepError> {
    let org = aws_sdk_organizations::Client::new(config);
    match org
        .create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(CreateOrganizationError::AlreadyInOrganizationException(_))
            ) => {}
        Err(e) => return Err(classify("CreateOrganization", &e)),
    }
    let roots = org
        .list_roots()
        .send()
        .await
        .map_err(|e| classify("ListRoots", &e))?;
    let root_id = roots
        .roots()
        .first()
        .and_then(|r| r.id())
        .unwrap_or_default()
        .to_owned();
    let suspended_ou_id = org
        .create_organizational_unit()
        .parent_id(&root_id)
        .name(SUSPENDED_OU)
        .send()
        .await
        .map_err(|e| classify("CreateOrganizationalUnit", &e))?
        .organizational_unit()
        .and_then(|o| o.id())
        .unwrap_or_default()
        .to_owned();
    let mut ou_ids = BTreeMap::new();
    for env in &spec.environments {
        let out = org
            .create_organizational_unit()
            .parent_id(&root_id)
            .name(env)
            .send()
            .await
            .map_err(|e| classify("CreateOrganizationalUnit", &e))?;
        ou_ids.insert(
            env.clone(),
            out.organizational_unit()
                .and_then(|o| o.id())
                .unwrap_or_default()
                .to_owned(),
        );
    }

    seed_principals(config, &spec.principals).await?;
    let network_account_id = create_member_account(&org, "network", &spec.member_role_name).await?;
    let network = assume_role(config, &network_account_id, &spec.member_role_name, "seed").await;
    let ec2 = aws_sdk_ec2::Client::new(&network);
    let tgw = ec2
        .create_transit_gateway()
        .description("shared transit gateway")
        .send()
        .await
        .map_err(|e| classify("CreateTransitGateway", &e))?;
    let transit_gateway_id = tgw
        .transit_gateway()
        .and_then(|t| t.transit_gateway_id())
        .unwrap_or_default()
        .to_owned();
    let rtb = ec2
        .create_transit_gateway_route_table()
        .transit_gateway_id(&transit_gateway_id)
        .send()
        .await
        .map_err(|e| classify("CreateTransitGatewayRouteTable", &e))?;
    let transit_gateway_route_table_id = rtb
        .transit_gateway_route_table()
        .and_then(|t| t.transit_gateway_route_table_id())
        .unwrap_or_default()
        .to_owned();

    ensure_bucket(&network, FLOW_LOGS_BUCKET).await?;
    for (bucket, service) in RECORDING_BUCKETS {
        ensure_log_bucket(&network, bucket, service).await?;
    }

    let platform_account_id =
        create_member_account(&org, "platform", &spec.member_role_name).await?;
    let platform = assume_role(config, &platform_account_id, &spec.member_role_name, "seed").await;
    let eks = aws_sdk_eks::Client::new(&platform);
    for name in &spec.clusters {
        eks.create_cluster()
            .name(name)
            .role_arn(format!(
                "arn:aws:iam::{platform_account_id}:role/eks-cluster"
            ))
            .resources_vpc_config(aws_sdk_eks::types::VpcConfigRequest::builder().build())
            .send()
            .await
            .map_err(|e| classify("CreateCluster", &e))?;
    }
    let (instance_arn, identity_store_id) = seed_identity_center(config, spec).await?;
    Ok(SeededPlatform {
        instance_arn,
        identity_store_id,
        root_id,
        ou_ids,
        suspended_ou_id,
        network_account_id,
        transit_gateway_id,
        transit_gateway_route_table_id,
        platform_account_id,
        flow_logs_bucket_arn: format!("arn:aws:s3:::{FLOW_LOGS_BUCKET}"),
        config_bucket: RECORDING_BUCKETS[0].0.to_owned(),
        trail_bucket: RECORDING_BUCKETS[1].0.to_owned(),
    })
}

/// IAM Identity Center of the management account: its instance, the permission sets and
/// the groups `spec` names. Returns the instance's ARN and its identity store's id.
async fn seed_identity_center(
    config: &SdkConfig,
    spec: &SeedSpec,
) -> Result<(String, String), StepError> {
    let admin = aws_sdk_ssoadmin::Client::new(config);
    let instances = admin
        .list_instances()
        .send()
        .await
        .map_err(|e| classify("ListInstances", &e))?;
    let Some(instance) = instances.instances().first() else {
        return Err(StepError::Internal(
            "the sandbox has no IAM Identity Center instance".into(),
        ));
    };
    let instance_arn = instance.instance_arn().unwrap_or_default().to_owned();
    let store = instance.identity_store_id().unwrap_or_default().to_owned();
    for name in &spec.permission_sets {
        let made = admin
            .create_permission_set()
            .instance_arn(&instance_arn)
            .name(name)
            .send()
            .await
            .map_err(|e| classify("CreatePermissionSet", &e))?;
        let arn = made
            .permission_set()
            .and_then(|p| p.permission_set_arn())
            .unwrap_or_default();
        admin
            .attach_managed_policy_to_permission_set()
            .instance_arn(&instance_arn)
            .permission_set_arn(arn)
            .managed_policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
            .send()
            .await
            .map_err(|e| classify("AttachManagedPolicyToPermissionSet", &e))?;
    }
    let groups = aws_sdk_identitystore::Client::new(config);
    for name in &spec.groups {
        groups
            .create_group()
            .identity_store_id(&store)
            .display_name(name)
            .send()
            .await
            .map_err(|e| classify("CreateGroup", &e))?;
    }
    Ok((instance_arn, store))
}

/// The people of the organization: a role for each principal ARN of this account, which its
/// users would assume.
async fn seed_principals(config: &SdkConfig, principals: &[String]) -> Result<(), StepError> {
    let iam = aws_sdk_iam::Client::new(config);
    let sts = aws_sdk_sts::Client::new(config);
    let account = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| classify("GetCallerIdentity", &e))?
        .account()
        .unwrap_or_default()
        .to_owned();
    let trust = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": "sts:AssumeRole"
        }]
    })
    .to_string();
    let mut seen = std::collections::BTreeSet::new();
    for arn in principals {
        let Some((path, name)) = arn
            .strip_prefix(&format!("arn:aws:iam::{account}:role"))
            .and_then(|p| p.rsplit_once('/'))
        else {
            continue;
        };
        if !seen.insert(name.to_owned()) {
            continue;
        }
        iam.create_role()
            .role_name(name)
            .path(format!("{path}/"))
            .assume_role_policy_document(&trust)
            .send()
            .await
            .map_err(|e| classify("CreateRole", &e))?;
    }
    Ok(())
}

/// Creates `bucket` in the region of `sdk` unless this account already owns it.
pub async fn ensure_bucket(sdk: &SdkConfig, bucket: &str) -> Result<(), StepError> {
    let s3 = crate::manifests::path_style_client(sdk);
    let created = s3
        .create_bucket()
        .bucket(bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                    sdk.region().map_or("eu-west-1", |r| r.as_ref()),
                ))
                .build(),
        )
        .send()
        .await;
    match created {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_bucket_already_owned_by_you()) =>
        {
            Ok(())
        }
        Err(e) => Err(classify("CreateBucket", &e)),
    }
}
