import { accountRootArn, isAccountId, partitionOf } from "./aws";
import { PolicyDocument } from "./document";

/** The CloudTrail management events that can make a key's snapshots unrecoverable, or lock users out. */
export const keyLossEvents = ["DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy"] as const;

export interface KeyAlertPatternInput {
    keyArn: string;
    keyId: string;
}

/**
 * EventBridge pattern for a key's key-loss events as CloudTrail delivers them. The three APIs
 * take the key as ID or ARN (never an alias), so both are matched.
 */
export function buildKeyAlertEventPattern(input: KeyAlertPatternInput): Record<string, unknown> {
    return {
        source: ["aws.kms"],
        "detail-type": ["AWS API Call via CloudTrail"],
        detail: {
            eventSource: ["kms.amazonaws.com"],
            eventName: [...keyLossEvents],
            requestParameters: { keyId: [input.keyId, input.keyArn] },
        },
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
