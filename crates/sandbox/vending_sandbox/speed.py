"""Where moto spends its time for nothing in the sandbox (measured with py-spy on the sandbox
under `vend bench`'s burst of tenants; figures in docs/benchmarks.md).

- moto finds the account of every request's access key by looking in each account's IAM
  backend of each of the six partitions. A partition's backend is created on first look, and
  each creation parses every AWS-managed policy (about 75 ms here): a new account cost about
  half a second of the sandbox's single core. Tenant vending uses the `aws` partition only, so
  only that one is looked in.
- Each new account's IAM backend parsed moto's file of AWS-managed policies again (a fifth of
  the sandbox's time under load): the file is parsed once, each account still gets its own
  policy objects (their attachment counts are the account's).
- Each new account's EC2 backend, one per region, loaded moto's default AMIs and made an EBS
  snapshot for each (another fifth). Nothing the vending does reads an image, so none are
  loaded (`MOTO_EC2_LOAD_DEFAULT_AMIS=false`).
- Every request listed its handler class's methods with `inspect.getmembers` to find the
  action's (an eighth of the time left): the list is kept per class.
- A DynamoDB transaction deep-copied every table it touches to roll back on failure: the
  registry's table grows with every tenant, so each transaction cost more than the last. Only
  the items the transaction names are copied now, and restored if it is cancelled.
"""

import copy
import json
import os

_INSTALLED = []


def install():
    if _INSTALLED:
        return
    _INSTALLED.append(True)
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    _one_partition()
    _managed_policies_parsed_once()
    _transactions_copy_their_items()
    _method_names_kept()


def _one_partition():
    import moto.iam.models as iam_models

    def get_account_id_from(access_key):
        for account_id, account in list(iam_models.iam_backends.items()):
            if access_key in account["aws"].access_keys:
                return account_id
        return iam_models.DEFAULT_ACCOUNT_ID

    iam_models.get_account_id_from = get_account_id_from


def _managed_policies_parsed_once():
    import moto.iam.models as iam_models

    parsed = {}

    def init_aws_policies(self):
        if not iam_models.load_iam_aws_managed_policies():
            return []
        if not parsed:
            parsed.update(json.loads(iam_models.aws_managed_policies_data))
        return [
            iam_models.AWSManagedPolicy.from_data(name, self.account_id, self.region_name, data)
            for name, data in parsed.items()
        ]

    iam_models.IAMBackend._init_aws_policies = init_aws_policies


class _TablesNotCopied:
    """moto's `copy` module, as its DynamoDB backend sees it, except that a table is not
    deep-copied: the transaction's items are, by the wrapper below."""

    def __init__(self, table_type):
        self.table_type = table_type
        self.copy = copy.copy

    def deepcopy(self, x, memo=None):
        if isinstance(x, self.table_type):
            return x
        return copy.deepcopy(x, memo)


def _transactions_copy_their_items():
    import moto.dynamodb.models as ddb
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    ddb.copy = _TablesNotCopied(Table)
    original = ddb.DynamoDBBackend.transact_write_items

    def touched(backend, transact_items):
        """(table, hash, range, a copy of the item or None) for each item the transaction names."""
        saved = []
        for entry in transact_items:
            for body in entry.values():
                table = backend.tables.get(body.get("TableName"))
                if table is None:
                    continue
                key = body.get("Key") or body.get("Item") or {}
                if table.hash_key_attr not in key:
                    continue
                hash_value = DynamoType(key[table.hash_key_attr])
                range_value = None
                if table.range_key_attr:
                    if table.range_key_attr not in key:
                        continue
                    range_value = DynamoType(key[table.range_key_attr])
                if range_value is None:
                    current = table.items.get(hash_value)
                else:
                    current = table.items.get(hash_value, {}).get(range_value)
                saved.append((table, hash_value, range_value, copy.deepcopy(current)))
        return saved

    def restore(saved):
        for table, hash_value, range_value, item in reversed(saved):
            if range_value is None:
                if item is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = item
            else:
                rows = table.items[hash_value]
                if item is None:
                    rows.pop(range_value, None)
                else:
                    rows[range_value] = item

    def transact_write_items(self, transact_items):
        saved = touched(self, transact_items)
        try:
            return original(self, transact_items)
        except Exception:
            restore(saved)
            raise

    ddb.DynamoDBBackend.transact_write_items = transact_write_items


def _method_names_kept():
    import functools

    import moto.core.responses as responses

    responses.method_names_from_class = functools.lru_cache(maxsize=None)(responses.method_names_from_class)
