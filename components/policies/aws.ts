// Facts about AWS names and ARNs that the policies and the config validation share.

/**
 * Regions by partition. Kept here (not read from @pulumi/aws) so the policy layer has no
 * Pulumi imports; a test checks every name against the provider's own Region enum.
 */
const regionsByPartition: Record<Partition, readonly string[]> = {
    aws: [
        "af-south-1",
        "ap-east-1",
        "ap-east-2",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ca-central-1",
        "ca-west-1",
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
        "sa-east-1",
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
    ],
    "aws-cn": ["cn-north-1", "cn-northwest-1"],
    "aws-us-gov": ["us-gov-east-1", "us-gov-west-1"],
};

export const Partition = { Aws: "aws", AwsCn: "aws-cn", AwsUsGov: "aws-us-gov" } as const;
export type Partition = (typeof Partition)[keyof typeof Partition];

export const knownRegions: readonly string[] = Object.values(regionsByPartition).flat();

export function isKnownRegion(region: string): boolean {
    return knownRegions.includes(region);
}

/**
 * A well-formed Region name of the three partitions (`us-east-1`, `cn-north-1`, `us-gov-west-1`):
 * AWS adds Regions, and a Region this list does not know yet must not need a new release.
 */
export function isRegionName(region: unknown): region is string {
    return typeof region === "string" && /^(us-gov|[a-z]{2})-[a-z]+-\d{1,2}$/.test(region);
}

/** The partition a Region belongs to: from the list, or for a Region it does not know, from its prefix. */
export function partitionOf(region: string): Partition {
    for (const [partition, regions] of Object.entries(regionsByPartition)) {
        if (regions.includes(region)) return partition as Partition;
    }
    if (!isRegionName(region)) throw new Error(`"${region}" is not an AWS Region name`);
    return region.startsWith("cn-") ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "aws";
}

/** The partition an ARN names (arn:<partition>:...). */
export function arnPartition(arn: string): string | undefined {
    return /^arn:([a-z-]+):/.exec(arn)?.[1];
}

/** The value `kms:ViaService` takes when `service` calls KMS in `region`. */
export function viaService(service: string, region: string): string {
    const suffix = partitionOf(region) === "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com";
    return `${service}.${region}.${suffix}`;
}

export function isAccountId(value: unknown): value is string {
    return typeof value === "string" && /^\d{12}$/.test(value);
}

export function accountRootArn(partition: Partition, accountId: string): string {
    return `arn:${partition}:iam::${accountId}:root`;
}

/** DRS's service-linked role: it exists once DRS has been initialised in the account. */
export const drsServiceLinkedRoleName = "AWSServiceRoleForElasticDisasterRecovery";

/** DRS's service-linked role, which creates the staging volumes and snapshots through EC2. */
export function drsServiceLinkedRoleArn(partition: Partition, accountId: string): string {
    return `arn:${partition}:iam::${accountId}:role/aws-service-role/drs.amazonaws.com/${drsServiceLinkedRoleName}`;
}

/** Multi-account DRS needs this role, with exactly this name and path, in each staging account. */
export function drsStagingRoleName(targetAccountId: string): string {
    return `DRSStagingAccountRole_${targetAccountId}`;
}

export const drsStagingRolePath = "/service-role/";

/**
 * The "Failback and in-AWS right-sizing" roles DRS's trusted-accounts page names: an account
 * creates them, under /service-role/, for each account it trusts (docs/aws-requirements.md,
 * "Failback and in-AWS right-sizing roles"). An EC2 source with Marketplace licences in another
 * account cannot be extended without them there, for its staging account.
 */
export function drsFailbackRoleNames(trustedAccountId: string): string[] {
    return ["DRSCrossAccountReplicationRole", "DRSCrossAccountAgentRole", "DRSCrossAccountAgentAuthorizedRole"].map(
        (name) => `${name}_${trustedAccountId}`,
    );
}

export function drsStagingRoleManagedPolicyArn(partition: Partition): string {
    return `arn:${partition}:iam::aws:policy/service-role/AWSElasticDisasterRecoveryStagingAccountPolicy_v2`;
}

const roleArnPattern = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role(\/[\w+=,.@/-]*)?\/([\w+=,.@-]{1,64})$/;

export interface RoleArnParts {
    partition: Partition;
    accountId: string;
    path: string;
    name: string;
}

/** Splits a role ARN; undefined when it is not one. */
export function parseRoleArn(arn: string): RoleArnParts | undefined {
    const match = roleArnPattern.exec(arn);
    if (!match) return undefined;
    return { partition: match[1] as Partition, accountId: match[2], path: `${match[3] ?? ""}/`, name: match[4] };
}

/**
 * Service-linked roles live under /aws-service-role/ and are named AWSServiceRoleFor...;
 * IAM rejects any policy attached to them (UnmodifiableEntity), so the program refuses them.
 */
export function isServiceLinkedRole(nameOrArn: string): boolean {
    const role = parseRoleArn(nameOrArn);
    const name = role ? role.name : (nameOrArn.split("/").pop() ?? nameOrArn);
    return nameOrArn.includes("aws-service-role/") || name.startsWith("AWSServiceRoleFor");
}

/**
 * Roles that IAM Identity Center creates for a permission set (path /aws-reserved/sso.amazonaws.com/,
 * name AWSReservedSSO_...): IAM refuses changes to them; a permission set gets policies instead.
 */
export function isIdentityCenterRole(nameOrArn: string): boolean {
    const role = parseRoleArn(nameOrArn);
    const name = role ? role.name : (nameOrArn.split("/").pop() ?? nameOrArn);
    return nameOrArn.includes("/aws-reserved/") || nameOrArn.startsWith("aws-reserved/") || name.startsWith("AWSReservedSSO_");
}

// The patterns of the SSO Admin API reference (InstanceArn, PermissionSetArn).
const instanceArnPattern = /^arn:(aws|aws-cn|aws-us-gov):sso:::instance\/((?:sso)?ins-[a-zA-Z0-9-.]{16})$/;
const permissionSetArnPattern = /^arn:(aws|aws-cn|aws-us-gov):sso:::permissionSet\/((?:sso)?ins-[a-zA-Z0-9-.]{16})\/ps-[a-zA-Z0-9-./]{16}$/;

/** An IAM Identity Center instance ARN: its partition and instance ID; undefined when it is not one. */
export function parseIdentityCenterInstanceArn(arn: string): { partition: Partition; instanceId: string } | undefined {
    const match = instanceArnPattern.exec(arn);
    return match ? { partition: match[1] as Partition, instanceId: match[2] } : undefined;
}

/** A permission set ARN: its partition and the instance it belongs to; undefined when it is not one. */
export function parsePermissionSetArn(arn: string): { partition: Partition; instanceId: string } | undefined {
    const match = permissionSetArnPattern.exec(arn);
    return match ? { partition: match[1] as Partition, instanceId: match[2] } : undefined;
}

const keyArnPattern = /^arn:(aws|aws-cn|aws-us-gov):kms:([a-z0-9-]+):(\d{12}):key\/([0-9a-f-]+|mrk-[0-9a-f]+)$/;

export interface KeyArnParts {
    partition: Partition;
    region: string;
    accountId: string;
    keyId: string;
}

/** Splits a KMS key ARN; undefined when it is not one (an alias ARN is not a key ARN). */
export function parseKeyArn(arn: string): KeyArnParts | undefined {
    const match = keyArnPattern.exec(arn);
    if (!match) return undefined;
    return { partition: match[1] as Partition, region: match[2], accountId: match[3], keyId: match[4] };
}

/** The account of a principal or ARN (12 digits, or arn:...:iam|sts::<account>:...); undefined for "*" and services. */
export function accountOf(principal: string): string | undefined {
    if (/^\d{12}$/.test(principal)) return principal;
    return /^arn:[\w-]+:[\w-]+:[\w-]*:(\d{12}):/.exec(principal)?.[1];
}

/** The one account a provider is pinned to (its allowedAccountIds, a list or the list as JSON text), if exactly one. */
export function providerAccountId(allowedAccountIds: unknown): string | undefined {
    let ids = allowedAccountIds;
    if (typeof ids === "string") {
        try {
            ids = JSON.parse(ids);
        } catch {
            return undefined;
        }
    }
    return Array.isArray(ids) && ids.length === 1 && typeof ids[0] === "string" ? ids[0] : undefined;
}
