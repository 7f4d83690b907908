"""moto's own Step Functions interpreter on a definition, for `vend bench`'s comparison with the
local executor: DEFINITION_FILE EXECUTIONS. Starts the executions at once (moto runs each on
its own thread), waits for every one, and prints one JSON line: executions, failed, states
entered by one execution, seconds for all of them.

moto's interpreter is switched on per process (`execute_state_machine`), which is why this runs
on its own rather than in the sandbox, whose Step Functions API hands executions to the local
executor."""

import json
import logging
import sys
import time

import boto3
from moto import mock_aws

ROLE = "arn:aws:iam::123456789012:role/bench"


@mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
def main(path, executions):
    # moto's interpreter logs a missing path of a Choice's IsPresent as an error.
    logging.disable(logging.CRITICAL)
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with open(path) as f:
        machine = sfn.create_state_machine(name="bench", definition=f.read(), roleArn=ROLE)["stateMachineArn"]
    started = time.perf_counter()
    arns = [
        sfn.start_execution(stateMachineArn=machine, name=f"e{i}", input=json.dumps({"source": "portal"}))[
            "executionArn"
        ]
        for i in range(executions)
    ]
    statuses = []
    for arn in arns:
        while True:
            status = sfn.describe_execution(executionArn=arn)["status"]
            if status != "RUNNING":
                statuses.append(status)
                break
            time.sleep(0.002)
    seconds = time.perf_counter() - started
    events = sfn.get_execution_history(executionArn=arns[0], maxResults=1000)["events"]
    entered = sum(1 for e in events if e["type"].endswith("StateEntered"))
    failed = sum(1 for s in statuses if s != "SUCCEEDED")
    print(json.dumps({"executions": executions, "failed": failed, "transitions": entered, "seconds": seconds}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
