import { accountRootArn, drsServiceLinkedRoleArn, isAccountId, isRegionName, parseRoleArn, partitionOf, viaService } from "./aws";
import { PolicyDocument, PolicyStatement } from "./document";

/**
 * How much of the key the target account may use.
 * - `documented` (default): only what the DRS multi-account page lists (ReEncrypt* through EC2),
 *   and DescribeKey.
 * - `ebs-shared-snapshots`: what AWS documents for sharing a CMK-encrypted EBS snapshot (the
 *   guide's permission table without kms:Encrypt), each action through EC2 only. The fallback if a
 *   drill fails with a KMS access error (docs/aws-requirements.md, Who calls KMS in the target).
 */
export const TargetAccess = {
    /** Only what the DRS multi-account page lists (default). */
    Documented: "documented",
    /** The EBS page's actions for a shared CMK, each through EC2 only. */
    EbsSharedSnapshots: "ebs-shared-snapshots",
} as const;
export type TargetAccess = (typeof TargetAccess)[keyof typeof TargetAccess];

export const targetAccessModes: readonly TargetAccess[] = Object.values(TargetAccess);

/** The KMS actions the target account gets on a key; the target IAM policy grants exactly these. */
export interface TargetKeyUse {
    /** Allowed without a service condition (the guide's verification step calls it directly). */
    direct: string[];
    /** Allowed only through EC2 in the key's Region. */
    throughEc2: string[];
    /** Grant creation, only through EC2 and only for AWS resources. */
    grantsThroughEc2: string[];
}

export function targetKeyUse(access: TargetAccess): TargetKeyUse {
    return access === "documented"
        ? { direct: ["kms:DescribeKey"], throughEc2: ["kms:ReEncrypt*"], grantsThroughEc2: [] }
        : {
              direct: ["kms:DescribeKey"],
              throughEc2: ["kms:Decrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
              grantsThroughEc2: ["kms:CreateGrant"],
          };
}

export interface KeyPolicyInput {
    /** The account that owns the key and replicates into its staging area. */
    stagingAccountId: string;
    /** The account that recovers the staging account's servers. */
    targetAccountId: string;
    /** The key's Region: every service condition names EC2 in this Region only. */
    region: string;
    /** ARN of DRSStagingAccountRole_<target> in the staging account (created or existing). */
    stagingRoleArn: string;
    /**
     * The staging role's unique ID (AROA...). KMS stores the ID behind a role ARN, so a
     * replaced role leaves the policy text unchanged but dead; writing the ID into the
     * policy Id makes a replacement change the policy, and Pulumi re-applies it.
     */
    stagingRoleUniqueId?: string;
    targetAccess: TargetAccess;
}

const policyIdPrefix = "drs-cross-account-key-policy";

/** The key policy of a DRS cross-account key (docs/aws-requirements.md: the statements DRS documents, sharing a key for EBS snapshots, the staging DRS service-linked role). */
export function buildKeyPolicy(input: KeyPolicyInput): PolicyDocument {
    const { stagingAccountId, targetAccountId, region, stagingRoleArn, stagingRoleUniqueId } = input;
    assertKeyPolicyInput(input);
    const partition = partitionOf(region);
    const ec2 = viaService("ec2", region);
    const stagingRoot = accountRootArn(partition, stagingAccountId);
    const targetRoot = accountRootArn(partition, targetAccountId);
    const drsServiceRole = drsServiceLinkedRoleArn(partition, stagingAccountId);
    const throughEc2As = (account: string) => ({ "kms:CallerAccount": account, "kms:ViaService": ec2 });
    const forAwsResources = { "kms:GrantIsForAWSResource": "true" };
    const use = targetKeyUse(input.targetAccess);
    // ReEncrypt* has a statement of its own, exactly as the DRS page documents it.
    const otherTargetUse = use.throughEc2.filter((action) => action !== "kms:ReEncrypt*");

    const statements: PolicyStatement[] = [
        {
            // The key's own account administers it; without this IAM policies there cannot grant use.
            Sid: "EnableStagingAccountAdministration",
            Effect: "Allow",
            Principal: { AWS: stagingRoot },
            Action: "kms:*",
            Resource: "*",
        },
        {
            // DRS's service-linked role creates the encrypted staging volumes and snapshots;
            // its managed policy grants no KMS use, so the key policy must.
            Sid: "AllowStagingDrsServiceRoleUseThroughEc2",
            Effect: "Allow",
            Principal: { AWS: drsServiceRole },
            Action: ["kms:Decrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
            Resource: "*",
            Condition: { StringEquals: throughEc2As(stagingAccountId) },
        },
        {
            Sid: "AllowStagingDrsServiceRoleGrantsThroughEc2",
            Effect: "Allow",
            Principal: { AWS: drsServiceRole },
            Action: "kms:CreateGrant",
            Resource: "*",
            Condition: { StringEquals: throughEc2As(stagingAccountId), Bool: forAwsResources },
        },
        {
            // DRS checks the key it is configured with directly, not through EC2.
            Sid: "AllowStagingDrsServiceRoleDescribeKey",
            Effect: "Allow",
            Principal: { AWS: drsServiceRole },
            Action: "kms:DescribeKey",
            Resource: "*",
        },
        {
            // Documented by DRS for multi-account recovery (staging side).
            Sid: "AllowDrsStagingAccountRoleReEncryptThroughEc2",
            Effect: "Allow",
            Principal: { AWS: stagingRoleArn },
            Action: "kms:ReEncrypt*",
            Resource: "*",
            Condition: { StringEquals: throughEc2As(stagingAccountId) },
        },
        {
            // Documented by DRS for multi-account recovery (target side).
            Sid: "AllowTargetAccountReEncryptThroughEc2",
            Effect: "Allow",
            Principal: { AWS: targetRoot },
            Action: "kms:ReEncrypt*",
            Resource: "*",
            Condition: { StringEquals: throughEc2As(targetAccountId) },
        },
        {
            // Directly (metadata only), but like every cross-account statement, as the target only.
            Sid: "AllowTargetAccountDescribeKey",
            Effect: "Allow",
            Principal: { AWS: targetRoot },
            Action: use.direct,
            Resource: "*",
            Condition: { StringEquals: { "kms:CallerAccount": targetAccountId } },
        },
    ];
    if (otherTargetUse.length > 0) {
        statements.push({
            Sid: "AllowTargetAccountUseThroughEc2",
            Effect: "Allow",
            Principal: { AWS: targetRoot },
            Action: otherTargetUse,
            Resource: "*",
            Condition: { StringEquals: throughEc2As(targetAccountId) },
        });
    }
    if (use.grantsThroughEc2.length > 0) {
        statements.push({
            Sid: "AllowTargetAccountGrantsThroughEc2",
            Effect: "Allow",
            Principal: { AWS: targetRoot },
            Action: use.grantsThroughEc2,
            Resource: "*",
            Condition: { StringEquals: throughEc2As(targetAccountId), Bool: forAwsResources },
        });
    }
    return {
        Version: "2012-10-17",
        Id: stagingRoleUniqueId ? `${policyIdPrefix}-${stagingRoleUniqueId}` : policyIdPrefix,
        Statement: statements,
    };
}

function assertKeyPolicyInput(input: KeyPolicyInput): void {
    const problems: string[] = [];
    if (!isAccountId(input.stagingAccountId)) problems.push(`stagingAccountId "${input.stagingAccountId}" is not a 12-digit account ID`);
    if (!isAccountId(input.targetAccountId)) problems.push(`targetAccountId "${input.targetAccountId}" is not a 12-digit account ID`);
    if (input.stagingAccountId === input.targetAccountId) problems.push("the staging and target accounts must differ");
    if (!isRegionName(input.region)) problems.push(`region "${input.region}" is not an AWS Region name`);
    const role = parseRoleArn(input.stagingRoleArn);
    if (!role || role.accountId !== input.stagingAccountId) {
        problems.push(`stagingRoleArn "${input.stagingRoleArn}" is not a role in the staging account ${input.stagingAccountId}`);
    }
    if (input.stagingRoleUniqueId !== undefined && !/^AROA[A-Z0-9]{10,}$/.test(input.stagingRoleUniqueId)) {
        problems.push(`stagingRoleUniqueId "${input.stagingRoleUniqueId}" is not a role unique ID (AROA...)`);
    }
    if (!(targetAccessModes as readonly string[]).includes(input.targetAccess)) {
        problems.push(`targetAccess "${input.targetAccess}" is not one of ${targetAccessModes.join(", ")}`);
    }
    if (problems.length > 0) throw new Error(`Cannot build the DRS key policy: ${problems.join("; ")}.`);
}
