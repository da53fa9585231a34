import { Partition, accountRootArn, isAccountId, partitionOf } from "./aws";
import { PolicyDocument } from "./document";

// The drift alerts: per kind of change that breaks the chain from a source server to a recovery
// (the key, its grants, DRS's replication settings, the staging role), an EventBridge pattern on
// CloudTrail's management events and the sentence the SNS message says. Pure: the component
// (components/keyLossAlerts.ts) only registers them. docs/aws-requirements.md, "Drift alerts".

/** The CloudTrail management events on the key that can make its snapshots unrecoverable, or lock users out. */
export const keyLossEvents = ["DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy"] as const;

/** The key's grants removed: EBS and DRS use the key through grants. */
export const grantLossEvents = ["RevokeGrant", "RetireGrant"] as const;

/** DRS configuration changes that can take source servers off the key (event source drs.amazonaws.com). */
export const drsDriftEvents = [
    "UpdateReplicationConfiguration",
    "UpdateReplicationConfigurationTemplate",
    "DeleteReplicationConfigurationTemplate",
] as const;

/** IAM changes that break the DRS staging role: gone, without its policy, or no longer trusting DRS. */
export const stagingRoleDriftEvents = ["DeleteRole", "DetachRolePolicy", "DeleteRolePolicy", "UpdateAssumeRolePolicy"] as const;

/** One alert, one sentence: the rules are split where the message or its fix differs. */
export type KeyAlertKind =
    | "key-disabled"
    | "key-deletion-scheduled"
    | "key-policy-replaced"
    | "key-grant-removed"
    | "server-replication-changed"
    | "template-changed"
    | "staging-role-changed";

export interface KeyAlertKindInfo {
    kind: KeyAlertKind;
    /** Short, for the rule's resource name: EventBridge takes rule names of at most 64 characters. */
    slug: string;
    /** The CloudTrail events it matches. */
    eventNames: readonly string[];
    /** The EventBridge rule's description. */
    description: string;
}

/** Every kind, in the order the component registers them; staging-role-changed only with role names. */
export const keyAlertKinds: readonly KeyAlertKindInfo[] = [
    { kind: "key-disabled", slug: "disabled", eventNames: ["DisableKey"], description: "DRS key disabled" },
    {
        kind: "key-deletion-scheduled",
        slug: "deletion",
        eventNames: ["ScheduleKeyDeletion"],
        description: "DRS key scheduled for deletion",
    },
    { kind: "key-policy-replaced", slug: "policy", eventNames: ["PutKeyPolicy"], description: "DRS key policy replaced" },
    { kind: "key-grant-removed", slug: "grants", eventNames: grantLossEvents, description: "A grant on the DRS key revoked or retired" },
    {
        kind: "server-replication-changed",
        slug: "servers",
        eventNames: ["UpdateReplicationConfiguration"],
        description: "A DRS source server's replication settings changed",
    },
    {
        kind: "template-changed",
        slug: "template",
        eventNames: ["UpdateReplicationConfigurationTemplate", "DeleteReplicationConfigurationTemplate"],
        description: "A DRS replication template changed or deleted",
    },
    {
        kind: "staging-role-changed",
        slug: "roles",
        eventNames: stagingRoleDriftEvents,
        description: "A DRS staging role deleted or changed",
    },
];

export interface KeyAlertInput {
    /** The staging account: the key's, and the one whose DRS and IAM are watched. */
    accountId: string;
    /** The key's Region. */
    region: string;
    keyArn: string;
    keyId: string;
    /** The staging roles the key serves (DRSStagingAccountRole_<target>); needed by staging-role-changed. */
    stagingRoleNames?: readonly string[];
}

/** An input transformer: what the SNS message says, with the event's fields in it. */
export interface AlertMessage {
    /** Variable name to JSON path in the event (dot notation, as EventBridge requires). */
    inputPaths: Record<string, string>;
    /**
     * Plain text with <variable> placeholders, which EventBridge takes as a template (not only
     * JSON): SNS delivers the sentence itself, without JSON's quotes around it.
     */
    inputTemplate: string;
}

export interface KeyAlert {
    kind: KeyAlertKind;
    eventPattern: Record<string, unknown>;
    message: AlertMessage;
}

const cloudTrailCall = "AWS API Call via CloudTrail";
// CloudTrail records refused calls too, with an errorCode: they changed nothing, so they raise no alert.
const succeeded = { errorCode: [{ exists: false }] };

/** The pattern of one kind, for this key, account and Region. */
export function buildKeyAlertEventPattern(kind: KeyAlertKind, input: KeyAlertInput): Record<string, unknown> {
    const { eventNames } = kindInfo(kind);
    const kms = (detail: Record<string, unknown>) => ({
        source: ["aws.kms"],
        "detail-type": [cloudTrailCall],
        detail: { eventSource: ["kms.amazonaws.com"], eventName: [...eventNames], ...detail, ...succeeded },
    });
    switch (kind) {
        case "key-disabled":
        case "key-deletion-scheduled":
        case "key-policy-replaced":
            // These APIs take the key as ID or ARN (never an alias), so both are matched.
            return kms({ requestParameters: { keyId: [input.keyId, input.keyArn] } });
        case "key-grant-removed":
            // RevokeGrant names the key (keyId, as ID or ARN); RetireGrant may name none: with only a
            // grant token its requestParameters are null. KMS puts the key's ARN in the event's
            // resources for both, so that is what is matched. A call an AWS service makes itself
            // (userIdentity type AWSService) is left out: services retire the grants they hold as
            // they finish with a resource; a person or a role revoking one is what breaks replication.
            return kms({ resources: { ARN: [input.keyArn] }, userIdentity: { type: [{ "anything-but": "AWSService" }] } });
        case "server-replication-changed":
        case "template-changed":
            // Only this account and Region: the staging area this key encrypts. Read-only calls
            // (Describe..., Get...) are other event names.
            return {
                source: ["aws.drs"],
                "detail-type": [cloudTrailCall],
                detail: {
                    eventSource: ["drs.amazonaws.com"],
                    eventName: [...eventNames],
                    recipientAccountId: [input.accountId],
                    awsRegion: [input.region],
                    ...succeeded,
                },
            };
        case "staging-role-changed": {
            const roleNames = [...(input.stagingRoleNames ?? [])];
            if (roleNames.length === 0) throw new Error("staging-role-changed needs the staging role names.");
            // IAM is global: its events carry awsRegion us-east-1 whatever the key's Region.
            return {
                source: ["aws.iam"],
                "detail-type": [cloudTrailCall],
                detail: {
                    eventSource: ["iam.amazonaws.com"],
                    eventName: [...eventNames],
                    recipientAccountId: [input.accountId],
                    requestParameters: { roleName: roleNames.sort() },
                    ...succeeded,
                },
            };
        }
    }
}

/** The fields every message names: who made the call, and when. */
const who = { principal: "$.detail.userIdentity.arn", time: "$.detail.eventTime" };

/** What the SNS message of one kind says: what happened, what it breaks, and the fix. */
export function buildKeyAlertMessage(kind: KeyAlertKind, input: KeyAlertInput): AlertMessage {
    const subject = `DRS key ${input.keyArn} in ${input.accountId}/${input.region}`;
    const by = "by <principal> at <time>";
    const message = (inputPaths: Record<string, string>, sentence: string): AlertMessage => ({
        inputPaths: { ...who, ...inputPaths },
        inputTemplate: `${subject}: ${sentence}`,
    });
    switch (kind) {
        case "key-disabled":
            return message(
                {},
                `it was disabled ${by}: DRS can neither write new staging disks and snapshots with it nor recover from the ones ` +
                    "it encrypted while it stays disabled; re-enable it with kms:EnableKey.",
            );
        case "key-deletion-scheduled":
            return message(
                {},
                `its deletion was scheduled ${by}: snapshots encrypted with it become unrecoverable when it is deleted; ` +
                    "cancel with kms:CancelKeyDeletion, then re-enable it with kms:EnableKey.",
            );
        case "key-policy-replaced":
            return message(
                {},
                `its key policy was replaced ${by}: DRS, the staging role or the target account may have lost the access ` +
                    "replication and recovery need; run drs-cross-account-kms verify, and pulumi up to restore the policy the stack declares.",
            );
        case "key-grant-removed":
            return message(
                { event: "$.detail.eventName" },
                `a grant on it was removed (<event>) ${by}: whoever held it, such as EBS for a DRS staging disk, can no longer ` +
                    "use the key through it, and the replication or recovery that relied on it fails; check the source servers' " +
                    "replication in the DRS console and run drs-cross-account-kms verify.",
            );
        case "server-replication-changed":
            return message(
                { server: "$.detail.requestParameters.sourceServerID" },
                `the replication settings of source server <server> were changed ${by}: its new staging disks and snapshots ` +
                    "follow its own settings, which may no longer name this key; run drs-cross-account-kms align-servers to put it " +
                    "back on the key.",
            );
        case "template-changed":
            return message(
                { event: "$.detail.eventName", template: "$.detail.requestParameters.replicationConfigurationTemplateID" },
                `replication template <template> was changed or deleted (<event>) ${by}: source servers added from now on take ` +
                    "their settings from the template, which may no longer name this key; run drs-cross-account-kms verify, and " +
                    "pulumi up if the stack manages the template.",
            );
        case "staging-role-changed":
            return message(
                { event: "$.detail.eventName", role: "$.detail.requestParameters.roleName" },
                `staging role <role> was deleted or lost its policy or trust (<event>) ${by}: DRS in the target account reaches ` +
                    "the staging area through it, and a role created again gets a new ID the key policy does not name; run " +
                    "drs-cross-account-kms verify, then pulumi up to restore the role and the key policy that names it.",
            );
    }
}

/** The kinds to register: every kind, the staging role's only when there are roles to watch. */
export function keyAlertKindsFor(watchStagingRoles: boolean): KeyAlertKindInfo[] {
    return keyAlertKinds.filter((k) => watchStagingRoles || k.kind !== "staging-role-changed");
}

/** Every alert of a key, each with its pattern and message. */
export function buildKeyAlerts(input: KeyAlertInput): KeyAlert[] {
    const watchRoles = (input.stagingRoleNames ?? []).length > 0;
    return keyAlertKindsFor(watchRoles).map(({ kind }) => ({
        kind,
        eventPattern: buildKeyAlertEventPattern(kind, input),
        message: buildKeyAlertMessage(kind, input),
    }));
}

function kindInfo(kind: KeyAlertKind): KeyAlertKindInfo {
    return keyAlertKinds.find((k) => k.kind === kind)!;
}

/**
 * Where IAM's CloudTrail events reach EventBridge: us-east-1 in the aws partition, as for every
 * global service. In aws-cn and aws-us-gov that Region is not confirmed here, and EventBridge
 * routes events between Regions only in aws: undefined, and the staging role is not watched.
 * docs/aws-requirements.md, "Drift alerts".
 */
export function iamEventsRegion(partition: Partition): string | undefined {
    return partition === "aws" ? "us-east-1" : undefined;
}

/** The default event bus of an account and Region: where the forwarded IAM events go. */
export function defaultEventBusArn(accountId: string, region: string): string {
    return `arn:${partitionOf(region)}:events:${region}:${accountId}:event-bus/default`;
}

export interface AlertForwardingInput {
    accountId: string;
    /** The key's Region, whose default bus receives the events. */
    region: string;
    /** The forwarding rule, in IAM's Region: the only one that may use the role. */
    ruleArn: string;
}

/** Trust of the role the forwarding rule sends with: EventBridge, for that rule of this account only. */
export function buildAlertForwardingTrustPolicy(input: AlertForwardingInput): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "AllowTheForwardingRule",
                Effect: "Allow",
                Principal: { Service: "events.amazonaws.com" },
                Action: "sts:AssumeRole",
                Condition: {
                    StringEquals: { "aws:SourceAccount": input.accountId },
                    ArnEquals: { "aws:SourceArn": input.ruleArn },
                },
            },
        ],
    };
}

/** The role's one permission: put events on the key Region's default bus of this account. */
export function buildAlertForwardingPolicy(input: Pick<AlertForwardingInput, "accountId" | "region">): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "PutEventsOnTheKeyRegionBus",
                Effect: "Allow",
                Action: "events:PutEvents",
                Resource: defaultEventBusArn(input.accountId, input.region),
            },
        ],
    };
}

export interface AlertTopicPolicyInput {
    topicArn: string;
    accountId: string;
    /** The EventBridge rules that may publish. */
    ruleArns: string[];
}

/** Only EventBridge, for these rules of this account, may publish to the alert topic. */
export function buildAlertTopicPolicy(input: AlertTopicPolicyInput): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "AllowKeyLossRulesToPublish",
                Effect: "Allow",
                Principal: { Service: "events.amazonaws.com" },
                Action: "sns:Publish",
                Resource: input.topicArn,
                Condition: {
                    StringEquals: { "aws:SourceAccount": input.accountId },
                    ArnEquals: { "aws:SourceArn": [...input.ruleArns].sort() },
                },
            },
        ],
    };
}

export interface AlertTopicKeyPolicyInput {
    accountId: string;
    region: string;
}

/**
 * The key that encrypts the alert topic. EventBridge cannot publish to a topic encrypted with
 * the AWS managed SNS key, so this customer managed key lets it, for this account only.
 */
export function buildAlertTopicKeyPolicy(input: AlertTopicKeyPolicyInput): PolicyDocument {
    if (!isAccountId(input.accountId)) throw new Error(`accountId "${input.accountId}" is not a 12-digit account ID.`);
    const partition = partitionOf(input.region);
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "EnableAccountAdministration",
                Effect: "Allow",
                Principal: { AWS: accountRootArn(partition, input.accountId) },
                Action: "kms:*",
                Resource: "*",
            },
            {
                Sid: "AllowEventBridgeToPublishEncrypted",
                Effect: "Allow",
                Principal: { Service: "events.amazonaws.com" },
                Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
                Resource: "*",
                Condition: { StringEquals: { "aws:SourceAccount": input.accountId } },
            },
        ],
    };
}
