"""Where moto spends its time for nothing in the sandbox.

moto finds the account of every request's access key by looking in each account's IAM backend
of each of the six partitions. A partition's backend is created on first look, and each
creation parses every AWS-managed policy (about 75 ms here): a new account cost about half a
second of the sandbox's single core, most of a vending under load. Tenant vending uses the
`aws` partition only, so only that one is looked in.
"""

_INSTALLED = []


def install():
    if _INSTALLED:
        return
    _INSTALLED.append(True)
    import moto.iam.models as iam_models

    def get_account_id_from(access_key):
        for account_id, account in list(iam_models.iam_backends.items()):
            if access_key in account["aws"].access_keys:
                return account_id
        return iam_models.DEFAULT_ACCOUNT_ID

    iam_models.get_account_id_from = get_account_id_from
