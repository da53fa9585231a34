import {
    accountRootArn,
    drsServiceLinkedRoleArn,
    drsStagingRoleName,
    drsStagingRolePath,
    isAccountId,
    isRegionName,
    parseRoleArn,
    partitionOf,
    viaService,
} from "./aws";
import { PolicyDocument, PolicyStatement, limits } from "./document";

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

/** One target account a key serves, with its staging role in the key's account. */
export interface KeyPolicyTarget {
    /** The account that recovers the staging account's servers. */
    targetAccountId: string;
    /** ARN of DRSStagingAccountRole_<target> in the staging account (created or existing). */
    stagingRoleArn: string;
    /**
     * The staging role's unique ID (AROA...). KMS stores the ID behind a role ARN, so a
     * replaced role leaves the policy text unchanged but dead; writing the ID into the
     * policy Id makes a replacement change the policy, and Pulumi re-applies it.
     */
    stagingRoleUniqueId?: string;
}

export interface KeyPolicyInput extends KeyPolicyTarget {
    /** The account that owns the key and replicates into its staging area. */
    stagingAccountId: string;
    /** The key's Region: every service condition names EC2 in this Region only. */
    region: string;
    targetAccess: TargetAccess;
    /**
     * Further targets the key serves (a drill account beside the recovery account), each with its
     * own staging role and its own statements; none gives exactly the one-target policy.
     */
    additionalTargets?: KeyPolicyTarget[];
}

const policyIdPrefix = "drs-cross-account-key-policy";

/** The key policy of a DRS cross-account key (docs/aws-requirements.md: the statements DRS documents, sharing a key for EBS snapshots, the staging DRS service-linked role). */
export function buildKeyPolicy(input: KeyPolicyInput): PolicyDocument {
    assertKeyPolicyInput(input);
    const policy = composeKeyPolicy(input);
    const bytes = keyPolicyBytes(policy);
    if (bytes > limits.keyPolicyBytes) {
        throw new Error(
            `Cannot build the DRS key policy: with ${keyPolicyTargets(input).length} targets it is ${bytes} bytes, over KMS's ${limits.keyPolicyBytes}-byte key policy limit. ` +
                `One key serves at most ${maxKeyPolicyTargets(input.targetAccess)} targets with key.targetAccess ${input.targetAccess}.`,
        );
    }
    return policy;
}

function composeKeyPolicy(input: KeyPolicyInput): PolicyDocument {
    const { stagingAccountId, region } = input;
    const partition = partitionOf(region);
    const ec2 = viaService("ec2", region);
    const stagingRoot = accountRootArn(partition, stagingAccountId);
    const drsServiceRole = drsServiceLinkedRoleArn(partition, stagingAccountId);
    const throughEc2As = (account: string) => ({ "kms:CallerAccount": account, "kms:ViaService": ec2 });
    const forAwsResources = { "kms:GrantIsForAWSResource": "true" };
    const use = targetKeyUse(input.targetAccess);
    // ReEncrypt* has a statement of its own, exactly as the DRS page documents it.
    const otherTargetUse = use.throughEc2.filter((action) => action !== "kms:ReEncrypt*");
    const targets = keyPolicyTargets(input);
    // With several targets each statement names its target, so Sids stay unique and say whose they are.
    const sid = (name: string, account: string) => (targets.length > 1 ? `${name}For${account}` : name);

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
    ];
    // Per target: its staging role, and its account only as itself (kms:CallerAccount), so one
    // target's roles never use the key through another's statements.
    for (const { targetAccountId, stagingRoleArn } of targets) {
        const targetRoot = accountRootArn(partition, targetAccountId);
        statements.push(
            {
                // Documented by DRS for multi-account recovery (staging side).
                Sid: sid("AllowDrsStagingAccountRoleReEncryptThroughEc2", targetAccountId),
                Effect: "Allow",
                Principal: { AWS: stagingRoleArn },
                Action: "kms:ReEncrypt*",
                Resource: "*",
                Condition: { StringEquals: throughEc2As(stagingAccountId) },
            },
            {
                // Documented by DRS for multi-account recovery (target side).
                Sid: sid("AllowTargetAccountReEncryptThroughEc2", targetAccountId),
                Effect: "Allow",
                Principal: { AWS: targetRoot },
                Action: "kms:ReEncrypt*",
                Resource: "*",
                Condition: { StringEquals: throughEc2As(targetAccountId) },
            },
            {
                // Directly (metadata only), but like every cross-account statement, as the target only.
                Sid: sid("AllowTargetAccountDescribeKey", targetAccountId),
                Effect: "Allow",
                Principal: { AWS: targetRoot },
                Action: use.direct,
                Resource: "*",
                Condition: { StringEquals: { "kms:CallerAccount": targetAccountId } },
            },
        );
        if (otherTargetUse.length > 0) {
            statements.push({
                Sid: sid("AllowTargetAccountUseThroughEc2", targetAccountId),
                Effect: "Allow",
                Principal: { AWS: targetRoot },
                Action: otherTargetUse,
                Resource: "*",
                Condition: { StringEquals: throughEc2As(targetAccountId) },
            });
        }
        if (use.grantsThroughEc2.length > 0) {
            statements.push({
                Sid: sid("AllowTargetAccountGrantsThroughEc2", targetAccountId),
                Effect: "Allow",
                Principal: { AWS: targetRoot },
                Action: use.grantsThroughEc2,
                Resource: "*",
                Condition: { StringEquals: throughEc2As(targetAccountId), Bool: forAwsResources },
            });
        }
    }
    const roleIds = targets.flatMap((t) => (t.stagingRoleUniqueId ? [t.stagingRoleUniqueId] : []));
    return { Version: "2012-10-17", Id: [policyIdPrefix, ...roleIds].join("-"), Statement: statements };
}

/** Every target a key policy serves, the first one first. */
export function keyPolicyTargets(input: KeyPolicyInput): KeyPolicyTarget[] {
    const { targetAccountId, stagingRoleArn, stagingRoleUniqueId } = input;
    return [{ targetAccountId, stagingRoleArn, stagingRoleUniqueId }, ...(input.additionalTargets ?? [])];
}

/** The TargetAccount tag of a key: every target it serves, space-separated, within a tag value's limit. */
export function targetAccountTag(targetAccountIds: string[]): string {
    const value = targetAccountIds.join(" ");
    if (value.length > limits.tagValueChars) {
        const most = Math.floor((limits.tagValueChars + 1) / 13);
        throw new Error(
            `The TargetAccount tag naming ${targetAccountIds.length} targets is ${value.length} characters, over AWS's ${limits.tagValueChars} for a tag value: one key serves at most ${most} targets.`,
        );
    }
    return value;
}

/** A key policy's size as KMS counts it against its limit: the JSON text in UTF-8. */
export function keyPolicyBytes(policy: PolicyDocument): number {
    return Buffer.byteLength(JSON.stringify(policy), "utf8");
}

/**
 * How many targets one key policy holds within KMS's limit, measured on the longest policy: ARNs
 * of the longest partition (aws-us-gov) and unique IDs of the length IAM gives roles.
 */
export function maxKeyPolicyTargets(targetAccess: TargetAccess): number {
    const stagingAccountId = "999999999999";
    const targetOf = (i: number): KeyPolicyTarget => {
        const targetAccountId = String(100000000000 + i);
        return {
            targetAccountId,
            stagingRoleArn: `arn:aws-us-gov:iam::${stagingAccountId}:role${drsStagingRolePath}${drsStagingRoleName(targetAccountId)}`,
            stagingRoleUniqueId: `AROA${"X".repeat(17)}`,
        };
    };
    const fits = (count: number) => {
        const [first, ...additionalTargets] = Array.from({ length: count }, (_, i) => targetOf(i));
        const policy = composeKeyPolicy({ ...first, stagingAccountId, region: "us-gov-west-1", targetAccess, additionalTargets });
        return keyPolicyBytes(policy) <= limits.keyPolicyBytes;
    };
    let count = 1;
    while (fits(count + 1)) count++;
    return count;
}
function assertKeyPolicyInput(input: KeyPolicyInput): void {
    const problems: string[] = [];
    if (!isAccountId(input.stagingAccountId)) problems.push(`stagingAccountId "${input.stagingAccountId}" is not a 12-digit account ID`);
    const targets = keyPolicyTargets(input);
    const which = (i: number) => (targets.length > 1 ? `target ${i + 1}: ` : "");
    targets.forEach((target, i) => {
        if (!isAccountId(target.targetAccountId))
            problems.push(`${which(i)}targetAccountId "${target.targetAccountId}" is not a 12-digit account ID`);
        if (input.stagingAccountId === target.targetAccountId) problems.push(`${which(i)}the staging and target accounts must differ`);
    });
    if (!isRegionName(input.region)) problems.push(`region "${input.region}" is not an AWS Region name`);
    targets.forEach((target, i) => {
        const role = parseRoleArn(target.stagingRoleArn);
        if (!role || role.accountId !== input.stagingAccountId) {
            problems.push(
                `${which(i)}stagingRoleArn "${target.stagingRoleArn}" is not a role in the staging account ${input.stagingAccountId}`,
            );
        }
        if (target.stagingRoleUniqueId !== undefined && !/^AROA[A-Z0-9]{10,}$/.test(target.stagingRoleUniqueId)) {
            problems.push(`${which(i)}stagingRoleUniqueId "${target.stagingRoleUniqueId}" is not a role unique ID (AROA...)`);
        }
    });
    const accounts = targets.map((t) => t.targetAccountId);
    const twice = accounts.filter((account, i) => accounts.indexOf(account) !== i);
    if (twice.length > 0) problems.push(`target ${[...new Set(twice)].join(", ")} is listed more than once`);
    if (!(targetAccessModes as readonly string[]).includes(input.targetAccess)) {
        problems.push(`targetAccess "${input.targetAccess}" is not one of ${targetAccessModes.join(", ")}`);
    }
    if (problems.length > 0) throw new Error(`Cannot build the DRS key policy: ${problems.join("; ")}.`);
}
