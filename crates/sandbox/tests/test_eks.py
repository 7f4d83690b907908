"""EKS access entries and their namespace-scoped access policies, served by the front."""

import pytest
from botocore.exceptions import ClientError

PRINCIPAL = "arn:aws:iam::123456789012:role/team-admin"
POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"


def test_access_entries_and_policies_round_trip(sandbox):
    eks = sandbox.client("eks")
    eks.create_cluster(name="shared", roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={})
    eks.create_access_entry(clusterName="shared", principalArn=PRINCIPAL, kubernetesGroups=["g"], tags={"t": "v"})
    with pytest.raises(ClientError) as refused:
        eks.create_access_entry(clusterName="shared", principalArn=PRINCIPAL)
    assert refused.value.response["Error"]["Code"] == "ResourceInUseException"
    entry = eks.describe_access_entry(clusterName="shared", principalArn=PRINCIPAL)["accessEntry"]
    assert entry["kubernetesGroups"] == ["g"] and entry["tags"] == {"t": "v"}
    scope = {"type": "namespace", "namespaces": ["team", "team-*"]}
    eks.associate_access_policy(clusterName="shared", principalArn=PRINCIPAL, policyArn=POLICY, accessScope=scope)
    listed = eks.list_associated_access_policies(clusterName="shared", principalArn=PRINCIPAL)
    assert listed["associatedAccessPolicies"][0]["accessScope"] == scope
    eks.disassociate_access_policy(clusterName="shared", principalArn=PRINCIPAL, policyArn=POLICY)
    eks.delete_access_entry(clusterName="shared", principalArn=PRINCIPAL)
    with pytest.raises(ClientError) as refused:
        eks.describe_access_entry(clusterName="shared", principalArn=PRINCIPAL)
    assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"
