// What each live command needs, as IAM authorizes it: per command and per identity (an account's
// role, the drill's identity, your own credentials), the API actions it calls and the dependent
// actions the Service Authorization Reference lists for them, each with its source. One table for
// the commands' --help, --print-policy and docs/permissions.md; a test keeps it in step with every
// SDK command the code sends (docs/aws-requirements.md, "Permissions as IAM authorizes them").
import type { PolicyDocument } from "../components/policies";

const reference = (page: string) => `https://docs.aws.amazon.com/service-authorization/latest/reference/list_${page}.html`;

/** The Service Authorization Reference page of each service the commands call. */
export const authorizationReference: Record<string, string> = {
    drs: reference("awselasticdisasterrecovery"),
    ec2: reference("amazonec2"),
    kms: reference("awskeymanagementservice"),
    iam: reference("awsidentityandaccessmanagementiam"),
    cloudtrail: reference("awscloudtrail"),
    sts: reference("awssecuritytokenservice"),
};

/**
 * The dependent actions the Service Authorization Reference lists for the actions the commands
 * call (its "Dependent actions" column, read 2026-12-04); an action not here lists none.
 */
export const dependentActions: Record<string, readonly string[]> = {
    "drs:StartRecovery": [
        "drs:CreateRecoveryInstanceForDrs",
        "drs:ListTagsForResource",
        "ec2:AttachVolume",
        "ec2:AuthorizeSecurityGroupEgress",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:CreateLaunchTemplate",
        "ec2:CreateLaunchTemplateVersion",
        "ec2:CreateSnapshot",
        "ec2:CreateTags",
        "ec2:CreateVolume",
        "ec2:DeleteLaunchTemplateVersions",
        "ec2:DeleteSnapshot",
        "ec2:DeleteVolume",
        "ec2:DescribeAccountAttributes",
        "ec2:DescribeAvailabilityZones",
        "ec2:DescribeImages",
        "ec2:DescribeInstanceAttribute",
        "ec2:DescribeInstanceStatus",
        "ec2:DescribeInstanceTypes",
        "ec2:DescribeInstances",
        "ec2:DescribeLaunchTemplateVersions",
        "ec2:DescribeLaunchTemplates",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSnapshots",
        "ec2:DescribeSubnets",
        "ec2:DescribeVolumes",
        "ec2:DetachVolume",
        "ec2:ModifyInstanceAttribute",
        "ec2:ModifyLaunchTemplate",
        "ec2:RevokeSecurityGroupEgress",
        "ec2:RunInstances",
        "ec2:StartInstances",
        "ec2:StopInstances",
        "ec2:TerminateInstances",
        "iam:PassRole",
    ],
    "drs:TerminateRecoveryInstances": [
        "drs:DescribeSourceServers",
        "ec2:DeleteVolume",
        "ec2:DescribeInstances",
        "ec2:DescribeVolumes",
        "ec2:TerminateInstances",
    ],
    "drs:UpdateReplicationConfiguration": [
        "ec2:CreateSecurityGroup",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:GetEbsDefaultKmsKeyId",
        "ec2:GetEbsEncryptionByDefault",
        "kms:CreateGrant",
        "kms:DescribeKey",
    ],
    "drs:DescribeRecoveryInstances": ["drs:DescribeSourceServers", "ec2:DescribeInstances"],
};

/** One API call a command makes with an identity. */
export interface Call {
    /** The call, as IAM names its action. */
    action: string;
    /** When the command makes it, if not on every run (a mode or flag). */
    when?: string;
    /** The call is expected to be refused (a check that passes when it is): it is listed, never granted. */
    refusedByDesign?: string;
    /** Actions the call needs beyond the dependent actions, because of how the command sends it. */
    also?: { actions: string[]; why: string };
}

export interface Identity {
    /** For --print-policy <id>. */
    id: string;
    /** Which credentials these are, in words. */
    who: string;
    calls: Call[];
    /** What else it needs that is not an action of its own (a policy the program attaches, a trust policy). */
    note?: string;
}

const you = (roles: string): Identity => ({
    id: "you",
    who: "your own credentials",
    calls: [{ action: "sts:AssumeRole", when: `on ${roles}` }],
    note: "sts:GetCallerIdentity, called once up front, needs no permission. Each role's trust policy must let you assume it.",
});

export type LiveCommand = "verify" | "align-servers" | "drill" | "initialize" | "extend" | "align-launch";

/**
 * What InitializeService does with the caller's permissions: the DRS user guide's policy for
 * initialising DRS programmatically (docs/aws-requirements.md, "Initialising DRS"): it creates
 * DRS's roles, their instance profiles and the service-linked role.
 */
const initializeNeeds = [
    "iam:AddRoleToInstanceProfile",
    "iam:AttachRolePolicy",
    "iam:CreateInstanceProfile",
    "iam:CreateRole",
    "iam:CreateServiceLinkedRole",
    "iam:GetInstanceProfile",
    "iam:GetRole",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfiles",
    "iam:ListInstanceProfilesForRole",
    "iam:ListRolePolicies",
    "iam:PassRole",
    "iam:TagRole",
    "ec2:CreateSecurityGroup",
    "ec2:CreateTags",
    "ec2:DescribeSecurityGroups",
];

/** Where each side's calls are made, in words. */
const stagingSide = "in each staging account (stagingAccounts[].roleArn, or your credentials there)";
const targetSide = "in each target account (target.roleArn or targets[].roleArn, or your credentials there)";

/** Every call of each live command, by identity. */
export const commandPermissions: Record<LiveCommand, Identity[]> = {
    verify: [
        {
            id: "staging",
            who: "in each staging account (stagingAccounts[].roleArn, or your credentials there)",
            calls: [
                { action: "kms:DescribeKey" },
                { action: "kms:GetKeyPolicy" },
                { action: "kms:GetKeyRotationStatus" },
                { action: "iam:GetRole" },
                { action: "drs:DescribeReplicationConfigurationTemplates" },
                { action: "drs:DescribeSourceServers" },
                { action: "drs:GetReplicationConfiguration" },
                { action: "drs:DescribeRecoverySnapshots", when: "server-readiness: each server's latest point in time" },
            ],
        },
        {
            id: "target",
            who: "in each target account (target.roleArn or targets[].roleArn, or your credentials there)",
            calls: [
                { action: "kms:DescribeKey" },
                { action: "kms:Decrypt", refusedByDesign: "target-direct-decrypt-denied passes when KMS refuses it" },
                { action: "drs:DescribeReplicationConfigurationTemplates" },
                { action: "drs:DescribeSourceServers" },
                { action: "iam:ListAttachedRolePolicies" },
                { action: "ec2:GetEbsEncryptionByDefault" },
                { action: "ec2:GetEbsDefaultKmsKeyId" },
                { action: "iam:GetRole", when: "with failback: DRS's failback roles for the origin, the network role" },
                { action: "iam:ListEntitiesForPolicy", when: "with failback to: on-premises: the Failback Client's credentials" },
                { action: "iam:ListRolePolicies", when: "with failback.networkReplication" },
            ],
            note: "kms:DescribeKey on a staging key also needs the key policy's statement for the target, which the program writes.",
        },
        {
            id: "source",
            who: "in each EC2 source account (stagingAccounts[].ec2SourceAccounts[].roleArn, or your credentials there)",
            calls: [{ action: "iam:GetRole", when: "with ec2SourceAccounts: DRS's failback and in-AWS right-sizing roles" }],
        },
        {
            id: "origin",
            who: "in each failback origin (stagingAccounts[].failback.roleArn, the origin's role in the config, or your credentials there)",
            calls: [
                { action: "drs:DescribeReplicationConfigurationTemplates", when: "with failback: DRS at the origin, and its template" },
                { action: "iam:GetRole", when: "with failback: the service-linked role, DRS's failback roles, the network role" },
                { action: "kms:DescribeKey", when: "with failback: the origin template's key" },
                { action: "kms:GetKeyPolicy", when: "with failback: the origin template's key" },
                { action: "iam:ListAttachedRolePolicies", when: "with failback.networkReplication" },
                { action: "iam:ListRolePolicies", when: "with failback.networkReplication" },
            ],
        },
        you("each roleArn the stack config names"),
    ],
    "align-servers": [
        {
            id: "staging",
            who: "in each staging account (stagingAccounts[].roleArn, or your credentials there)",
            calls: [
                { action: "drs:DescribeSourceServers" },
                { action: "drs:GetReplicationConfiguration" },
                { action: "kms:DescribeKey" },
                { action: "kms:GetKeyPolicy", when: "for a server on another customer managed key" },
                { action: "drs:DescribeRecoverySnapshots", when: "--batch" },
                { action: "ec2:DescribeSnapshots", when: "--batch" },
                { action: "drs:UpdateReplicationConfiguration", when: "--apply" },
            ],
        },
        you("each roleArn the stack config names"),
    ],
    drill: [
        {
            id: "target",
            who: "in the target account (target.roleArn, or your credentials there)",
            calls: [
                { action: "drs:DescribeSourceServers" },
                { action: "drs:GetLaunchConfiguration" },
                { action: "iam:GetRole" },
                { action: "iam:ListAttachedRolePolicies" },
                { action: "drs:DescribeRecoveryInstances", when: "--start, for each launched server; --failback" },
                { action: "ec2:DescribeVolumes", when: "--start, for each launched server" },
                { action: "cloudtrail:LookupEvents", when: "--start of a drill that failed, --diagnose, and --failback --start" },
                { action: "drs:DescribeJobs", when: "--failback: the kept drill job" },
                { action: "drs:ReverseReplication", when: "--failback --start, once per kept drill instance" },
            ],
            note: "With --failback, iam:GetRole also reads DRS's failback roles for the origin (docs/failback.md).",
        },
        {
            id: "drill-identity",
            who: "the drill's identity in the target (the key-user role, or your Identity Center session)",
            calls: [
                {
                    action: "drs:StartRecovery",
                    when: "--start",
                    also: { actions: ["drs:TagResource"], why: "the drill tags its job: a tag on create" },
                },
                { action: "drs:DescribeJobs" },
                { action: "drs:DescribeJobLogItems" },
                { action: "drs:TerminateRecoveryInstances", when: "--start, to clean up, and --cleanup" },
            ],
            note:
                "It also holds the key-use policies the target stack attaches (DrsCrossAccountKmsKeyUse): KMS refuses the staging keys without them. " +
                "AWS's managed policy AWSElasticDisasterRecoveryConsoleFullAccess_v2 grants these and more.",
        },
        {
            id: "staging",
            who: "in each staging account (stagingAccounts[].roleArn, --staging-role, or your credentials there)",
            calls: [
                { action: "drs:DescribeSourceServers" },
                { action: "drs:GetReplicationConfiguration" },
                { action: "cloudtrail:LookupEvents", when: "--start of a drill that failed, and --diagnose" },
            ],
        },
        {
            id: "origin",
            who: "with --failback, in each failback origin (stagingAccounts[].failback.roleArn, --staging-role, or your credentials there)",
            calls: [
                { action: "drs:DescribeReplicationConfigurationTemplates", when: "--failback: DRS at the origin, and its template's key" },
                { action: "iam:GetRole", when: "--failback: the service-linked role and DRS's failback roles" },
                { action: "kms:DescribeKey", when: "--failback: the origin template's key" },
                { action: "kms:GetKeyPolicy", when: "--failback: the origin template's key" },
                { action: "drs:DescribeSourceServers", when: "--failback: the new source server" },
                { action: "drs:GetReplicationConfiguration", when: "--failback --start: the new source server's key" },
                { action: "drs:DisconnectSourceServer", when: "--failback --start and --cleanup: removing the new source server" },
                { action: "drs:DeleteSourceServer", when: "--failback --start and --cleanup: removing the new source server" },
                { action: "cloudtrail:LookupEvents", when: "--failback --start that did not reach replication" },
            ],
            note:
                "Where the origin is a staging account of the stack, these join that account's calls above. The dependent actions of " +
                "drs:ReverseReplication, drs:DisconnectSourceServer and drs:DeleteSourceServer are not confirmed (docs/aws-requirements.md, Failback).",
        },
        you("the key-user role, and each roleArn the stack config names"),
    ],
    initialize: [
        {
            id: "staging",
            who: stagingSide,
            calls: initializeCalls(),
        },
        {
            id: "target",
            who: targetSide,
            calls: initializeCalls(),
        },
        you("each roleArn the stack config names"),
    ],
    extend: [
        {
            id: "target",
            who: "in the target account (target.roleArn, or your credentials there)",
            calls: [
                { action: "drs:ListExtensibleSourceServers" },
                { action: "drs:DescribeSourceServers" },
                {
                    action: "drs:CreateExtendedSourceServer",
                    when: "--apply",
                    also: { actions: ["drs:TagResource"], why: "the extended servers are tagged on create" },
                },
            ],
        },
        {
            id: "staging",
            who: "in each staging account, when its credentials are at hand (stagingAccounts[].roleArn, --staging-role, or your credentials there)",
            calls: [{ action: "drs:DescribeSourceServers" }, { action: "drs:GetReplicationConfiguration" }],
            note: "Without them the plan cannot say which servers are on the default key or not replicating: DRS refuses those when asked to extend them.",
        },
        you("each roleArn the stack config names"),
    ],
    "align-launch": [
        {
            id: "target",
            who: "in the target account (target.roleArn, or your credentials there)",
            calls: [
                { action: "drs:DescribeSourceServers" },
                { action: "drs:GetLaunchConfiguration" },
                {
                    action: "drs:UpdateLaunchConfiguration",
                    when: "--apply",
                    also: {
                        actions: ["ec2:CreateLaunchTemplateVersion", "ec2:DescribeLaunchTemplateVersions", "ec2:ModifyLaunchTemplate"],
                        why: "DRS writes each change into the server's EC2 launch template as a new default version",
                    },
                },
            ],
        },
        you("each roleArn the stack config names"),
    ],
};

/** initialize's calls in one account: whether DRS answers and its service-linked role exists, and with --apply InitializeService. */
function initializeCalls(): Call[] {
    return [
        { action: "drs:DescribeReplicationConfigurationTemplates" },
        { action: "iam:GetRole" },
        {
            action: "drs:InitializeService",
            when: "--apply, where DRS is not initialised",
            also: { actions: initializeNeeds, why: "the DRS user guide's policy for initialising DRS programmatically" },
        },
    ];
}

/** Every action an identity needs granted: its calls (those not refused by design), their dependent actions, and what else they need. */
export function grantedActions(identity: Identity): string[] {
    const actions = identity.calls
        .filter((c) => !c.refusedByDesign)
        .flatMap((c) => [c.action, ...(dependentActions[c.action] ?? []), ...(c.also?.actions ?? [])]);
    return [...new Set(actions)].sort();
}

export function identityOf(command: LiveCommand, id: string): Identity | undefined {
    return commandPermissions[command].find((i) => i.id === id);
}

/** The identity's permissions as an IAM policy document, ready to attach. */
export function policyDocument(command: LiveCommand, identity: Identity): PolicyDocument {
    const sid = `DrsCrossAccountKms${[command, identity.id]
        .join("-")
        .split(/[^A-Za-z0-9]+/)
        .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
        .join("")}`;
    // The DRS, EC2 and CloudTrail reads take no resource-level scope; the calls name their resources.
    return { Version: "2012-10-17", Statement: [{ Sid: sid, Effect: "Allow", Action: grantedActions(identity), Resource: "*" }] };
}

/** --print-policy: one identity's document, or every identity's by id. */
export function printedPolicy(command: LiveCommand, id: string | undefined): unknown {
    if (id === undefined) return Object.fromEntries(commandPermissions[command].map((i) => [i.id, policyDocument(command, i)]));
    const identity = identityOf(command, id);
    return identity ? policyDocument(command, identity) : undefined;
}

/** The dependent actions of a call, in words: "with ec2:A, ec2:B (dependent actions)". */
function describeCall(call: Call): string {
    const deps = dependentActions[call.action] ?? [];
    const parts = [
        call.when ? `(${call.when})` : "",
        call.refusedByDesign ? `(called to be refused: ${call.refusedByDesign}; never grant it)` : "",
        deps.length > 0 ? `with its ${deps.length} dependent actions` : "",
        call.also ? `and ${call.also.actions.join(", ")} (${call.also.why})` : "",
    ].filter(Boolean);
    return [call.action, ...parts].join(" ");
}

/** The "Permissions" part of a command's --help. */
export function permissionsHelp(command: LiveCommand): string[] {
    return [
        "Permissions, as IAM authorizes them (each call with the dependent actions the Service Authorization",
        `Reference lists; \`--print-policy [${commandPermissions[command].map((i) => i.id).join("|")}]\` prints them as an IAM policy):`,
        ...commandPermissions[command].flatMap((identity) => [
            `  ${identity.who}:`,
            ...wrap(identity.calls.map(describeCall).join("; "), "    "),
            ...(identity.note ? wrap(identity.note, "    ") : []),
        ]),
    ];
}

function wrap(text: string, indent: string, width = 104): string[] {
    const lines: string[] = [];
    let line = "";
    for (const word of text.split(" ")) {
        if (line && indent.length + line.length + 1 + word.length > width) {
            lines.push(indent + line);
            line = word;
        } else line = line ? `${line} ${word}` : word;
    }
    if (line) lines.push(indent + line);
    return lines;
}

/** docs/permissions.md's table: every command, identity and action, with the source of each dependent action. */
export function permissionsMarkdown(): string {
    const out: string[] = [];
    for (const [command, identities] of Object.entries(commandPermissions) as [LiveCommand, Identity[]][]) {
        out.push(`### ${command}`, "");
        for (const identity of identities) {
            out.push(`**${identity.who}** (\`npm run -s ${command} -- --print-policy ${identity.id}\`)`, "");
            out.push("| Call | When | Needs (the call and its dependent actions) | Source |", "|---|---|---|---|");
            for (const call of identity.calls) {
                const needs = call.refusedByDesign
                    ? `never grant it: ${call.refusedByDesign}`
                    : [call.action, ...(dependentActions[call.action] ?? []), ...(call.also?.actions ?? [])]
                          .map((a) => `\`${a}\``)
                          .join(", ");
                const service = call.action.split(":")[0];
                const also = call.also ? `; ${call.also.actions.join(", ")}: ${call.also.why}` : "";
                out.push(
                    `| \`${call.action}\` | ${call.when ?? "always"} | ${needs} | [${service}](${authorizationReference[service]})${also} |`,
                );
            }
            if (identity.note) out.push("", identity.note);
            out.push("");
        }
    }
    return out.join("\n").trimEnd();
}
