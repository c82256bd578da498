"""Runs every check of scim2-tester (an independent RFC 7643/7644 compliance checker) against a
SCIM service provider and reports them: counts, then each failure's name and reason.

    SCIM_COMPLIANCE_TOKEN=<bearer token> .provisioner/scim-compliance/venv/bin/python \
        scripts/scim-compliance/run.py --url http://127.0.0.1:8101/scim/v2 [--json]

Exit status: 0 when no applicable check failed, 1 when one did, 2 on bad usage. With --json the
report is one JSON object on stdout (the compliance test reads it); otherwise it is text.

A check passes with the statuses SUCCESS, COMPLIANT (a SHOULD followed) and ACCEPTABLE (a MAY
used); it fails with ERROR or CRITICAL (a MUST broken) and DEVIATION (a SHOULD not followed).
SKIPPED is not applicable. A check the checker gets wrong about the RFC is listed in
configured_out.py with the reason, and reported as configured out, never as passed.
"""

import argparse
import json
import os
import sys
import time
from importlib.metadata import version

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import CheckResult
from scim2_tester import Status
from scim2_tester import check_server

from configured_out import configured_out_reason

PASSED = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}
FAILED = {Status.ERROR, Status.CRITICAL, Status.DEVIATION}


def name_of(result: CheckResult) -> str:
    return f"{result.title}[{result.resource_type}]" if result.resource_type else str(result.title)


def outcome_of(result: CheckResult) -> tuple[str, str | None]:
    """passed | failed | skipped | configured-out, and the reason for configuring it out."""
    if result.status in PASSED:
        return "passed", None
    if result.status == Status.SKIPPED:
        return "skipped", None
    why = configured_out_reason(result)
    return ("configured-out", why) if why else ("failed", None)


def report(results: list[CheckResult], seconds: float) -> dict:
    checks = []
    for result in results:
        outcome, why = outcome_of(result)
        checks.append(
            {
                "name": name_of(result),
                "status": result.status.name,
                "outcome": outcome,
                "reason": result.reason,
                **({"configuredOutBecause": why} if why else {}),
            }
        )
    counts = {o: sum(1 for c in checks if c["outcome"] == o) for o in ("passed", "failed", "skipped", "configured-out")}
    return {"checker": f"scim2-tester {version('scim2-tester')}", "total": len(checks), **counts, "seconds": round(seconds, 1), "checks": checks}


def print_text(summary: dict) -> None:
    print(
        f"{summary['checker']}: {summary['total']} checks in {summary['seconds']} s: "
        f"{summary['passed']} passed, {summary['failed']} failed, {summary['skipped']} skipped (not applicable), "
        f"{summary['configured-out']} configured out"
    )
    for check in summary["checks"]:
        if check["outcome"] == "failed":
            print(f"  FAILED {check['name']} ({check['status']}): {check['reason']}")
    for check in summary["checks"]:
        if check["outcome"] == "configured-out":
            print(f"  configured out {check['name']} ({check['status']}: {check['reason']}): {check['configuredOutBecause']}")
    for check in summary["checks"]:
        if check["outcome"] == "skipped":
            print(f"  skipped {check['name']}: {check['reason']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="the SCIM base URL, e.g. http://127.0.0.1:8101/scim/v2")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    args = parser.parse_args()
    token = os.environ.get("SCIM_COMPLIANCE_TOKEN")
    if not token:
        print("scim-compliance: set SCIM_COMPLIANCE_TOKEN to a bearer token the server accepts", file=sys.stderr)
        return 2

    http = httpx2.Client(base_url=args.url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=30)
    started = time.monotonic()
    with http:
        results = check_server(SyncSCIMClient(http))
    summary = report(results, time.monotonic() - started)
    if args.json:
        print(json.dumps(summary))
    else:
        print_text(summary)
    return 1 if summary["failed"] > 0 else 0


if __name__ == "__main__":
    sys.exit(main())
