"""Checks of scim2-tester that are wrong about RFC 7643/7644 for our server, each with the reason.

Our server is not bent to a check that misreads the RFC: the check is configured out here, with
the RFC text that says why, and reported as "configured out" (never as passed).
"""

from scim2_tester import CheckResult

# (check title, resource type or None for any, a fragment of the checker's reason or None) -> why
CONFIGURED_OUT: dict[tuple[str, str | None, str | None], str] = {}


def configured_out_reason(result: CheckResult) -> str | None:
    for (title, resource_type, fragment), why in CONFIGURED_OUT.items():
        if result.title != title:
            continue
        if resource_type is not None and result.resource_type != resource_type:
            continue
        if fragment is not None and fragment not in (result.reason or ""):
            continue
        return why
    return None
