"""Starts the local AWS sandbox: moto's server application behind the front of
`vending_sandbox`, on a loopback port the server chooses itself and prints on its first line of
standard output (`sandbox listening on http://HOST:PORT`), so callers never race for a port.

Usage: python front.py [--host 127.0.0.1] [--port 0] [--account-polls N] [--attachment-reads N]
                       [--ec2-optin-calls N] [--events-region REGION]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--account-polls", type=int, default=2)
    parser.add_argument("--attachment-reads", type=int, default=0)
    parser.add_argument("--ec2-optin-calls", type=int, default=0)
    parser.add_argument("--events-region", default="us-east-1")
    args = parser.parse_args()
    # Tenant roles attach AWS-managed policies, and member roles carry AdministratorAccess.
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"

    from vending_sandbox.server import serve

    serve(
        args.host,
        args.port,
        {
            "accountPolls": args.account_polls,
            "attachmentReads": args.attachment_reads,
            "ec2OptInCalls": args.ec2_optin_calls,
            "eventsRegion": args.events_region,
        },
        announce=lambda url: print(f"sandbox listening on {url}", flush=True),
    )


if __name__ == "__main__":
    main()
