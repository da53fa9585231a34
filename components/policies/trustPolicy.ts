import { Partition, isAccountId } from "./aws";
import { PolicyDocument } from "./document";

/**
 * Trust policy of DRSStagingAccountRole_<target>: DRS may assume it only on behalf of the
 * target account's source servers (docs/aws-requirements.md, The staging role; confused-deputy conditions included).
 */
export function buildStagingRoleTrustPolicy(partition: Partition, targetAccountId: string): PolicyDocument {
    if (!isAccountId(targetAccountId)) throw new Error(`targetAccountId "${targetAccountId}" is not a 12-digit account ID.`);
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "AllowDrsOnBehalfOfTargetAccount",
                Effect: "Allow",
                Principal: { Service: "drs.amazonaws.com" },
                Action: ["sts:AssumeRole", "sts:SetSourceIdentity"],
                Condition: {
                    StringEquals: { "sts:SourceIdentity": targetAccountId, "aws:SourceAccount": targetAccountId },
                    StringLike: { "aws:SourceArn": `arn:${partition}:drs:*:*:source-server/*` },
                },
            },
        ],
    };
}
