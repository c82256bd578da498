// The small inline policies integration tests write (each in a temporary folder of its own): the HR attributes every rule may read, and a
// one-application policy (chat: everyone gets all-staff; war-room can be requested for an hour,
// with its owner's approval when asked).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const hrAttributesYaml = `attributes:
  - { name: employeeId, type: string }
  - { name: status, type: string }
  - { name: department, type: string }
  - { name: title, type: string }
  - { name: managerId, type: string }
  - { name: region, type: string }
  - { name: employmentType, type: string }
regions: [eu, us]`;

/** Writes one policy file (`policy.yaml`: the HR attributes, then `yaml`) to a temporary folder named after `name`; returns the folder. */
export function writePolicyYaml(name: string, yaml: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `policy-${name}-`));
  writeFileSync(path.join(dir, 'policy.yaml'), `\n${hrAttributesYaml}\n${yaml}`);
  return dir;
}

/**
 * Writes the chat policy to a temporary folder, owned by `owner`, with the `lifecycle` section given
 * (YAML flow mapping), and any more `approvals` rules and chat `entitlements` (YAML flow mappings);
 * `ownerApproval`: a war-room request waits for the owner's approval. Returns the folder.
 */
export function writeChatPolicy(options: { name: string; owner: string; lifecycle: string; approvals?: string[]; entitlements?: string[]; ownerApproval?: boolean }): string {
  return writePolicyYaml(
    options.name,
    `approverGroups:
  - { id: chat-owners, members: [${options.owner}] }
${options.approvals?.length || options.ownerApproval ? `approvals:\n${[...(options.ownerApproval ? ['{ id: owner-only, mode: any-of, approvers: [app-owner], timeout: PT5M }'] : []), ...(options.approvals ?? [])].map((a) => `  - ${a}`).join('\n')}\n` : ''}applications:
  - id: chat
    connector: scim
    config: chat
    owner: chat-owners
    classification: internal
    entitlements:
      - { id: all-staff }
      - { id: war-room, maxDuration: PT1H${options.ownerApproval ? ', approval: owner-only' : ''} }
${(options.entitlements ?? []).map((e) => `      - ${e}\n`).join('')}roles:
  - { id: staff, entitlements: [chat:all-staff] }
birthright:
  - { id: everyone, when: 'employmentType == "employee"', roles: [staff] }
lifecycle: ${options.lifecycle}
`,
  );
}
