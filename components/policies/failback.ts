// The way back (failback) as AWS documents it: where an entry's servers return to, the roles DRS
// needs in each account of the two directions, and whether a key that the origin's DRS uses for
// staging disks lets its service-linked role do so (docs/aws-requirements.md, "Failback").
import { Partition, drsFailbackRoleNames, drsServiceLinkedRoleArn, viaService } from "./aws";
import { PolicyDocument, PolicyStatement, awsPrincipals, grantsAction, listOf } from "./document";

export const FailbackTo = {
    /** Reverse replication from the recovery instances into the origin account and Region. */
    Aws: "aws",
    /** The DRS Failback Client, booted on the on-premises machine, with credentials in the recovery account. */
    OnPremises: "on-premises",
} as const;
export type FailbackTo = (typeof FailbackTo)[keyof typeof FailbackTo];
export const failbackDestinations: readonly FailbackTo[] = Object.values(FailbackTo);

/** Where one staging entry's servers fail back to: what the staging stack exports with each key. */
export interface WayBack {
    to: FailbackTo;
    /** The origin account and Region (to: aws): reverse replication creates the new source servers there. */
    originAccountId?: string;
    originRegion?: string;
    /** DRS protects the origin's VPCs (source networks): the network role is needed in both directions. */
    networkReplication?: boolean;
}

/** The path DRS's failback and in-AWS right-sizing roles live under. */
export const drsFailbackRolePath = "/service-role/";

/** The network role's name, the same for every trusted account (its trust policy names them). */
export const drsSourceNetworkRoleName = "DRSSourceNetworkRole";

/**
 * The Failback Client's credentials need this AWS managed policy, in the account of the recovery
 * instances.
 */
export function failbackInstallationPolicyArn(partition: Partition): string {
    return `arn:${partition}:iam::aws:policy/AWSElasticDisasterRecoveryFailbackInstallationPolicy`;
}

/**
 * The network role's policy: the trusted-accounts page calls it AWSElasticDisasterRecoverySourceNetworkPolicy,
 * the AWS managed policy reference lists only this one for network replication.
 */
export function networkReplicationPolicyArn(partition: Partition): string {
    return `arn:${partition}:iam::aws:policy/service-role/AWSElasticDisasterRecoveryNetworkReplicationPolicy`;
}
export const networkRolePolicyNames = [
    "AWSElasticDisasterRecoveryNetworkReplicationPolicy",
    "AWSElasticDisasterRecoverySourceNetworkPolicy",
];

/** One account's roles for another, in one direction of the way there and back. */
export interface DirectionRoles {
    /** The account that holds the roles. */
    accountId: string;
    /** The account they are for (the trusted account, whose ID ends their names). */
    trustedAccountId: string;
    direction: "back" | "there";
    roleNames: string[];
}

/**
 * The failback and in-AWS right-sizing roles of a way back, per direction: in the origin for the
 * target (reverse replication into the origin) and in the target for the origin (the failed-back
 * instance protected again). The DRS failback pages require both sets in advance.
 */
export function failbackRoles(originAccountId: string, targetAccountId: string): DirectionRoles[] {
    return [
        {
            accountId: originAccountId,
            trustedAccountId: targetAccountId,
            direction: "back",
            roleNames: drsFailbackRoleNames(targetAccountId),
        },
        {
            accountId: targetAccountId,
            trustedAccountId: originAccountId,
            direction: "there",
            roleNames: drsFailbackRoleNames(originAccountId),
        },
    ];
}

/** The network role of each direction: in the origin for the target (its VPCs protected there), and back. */
export function networkRoles(originAccountId: string, targetAccountId: string): DirectionRoles[] {
    return [
        { accountId: originAccountId, trustedAccountId: targetAccountId, direction: "there", roleNames: [drsSourceNetworkRoleName] },
        { accountId: targetAccountId, trustedAccountId: originAccountId, direction: "back", roleNames: [drsSourceNetworkRoleName] },
    ];
}

const matches = (pattern: string, value: string) =>
    new RegExp(
        `^${pattern
            .replace(/[.+?^${}()|[\]\\]/g, "\\$&")
            .replace(/\*/g, ".*")
            .replace(/\\\?/g, ".")}$`,
    ).test(value);

/** Whether one condition operator's values hold for `value` (the string and ARN operators only). */
function holds(operator: string, values: string[], value: string): boolean | undefined {
    const op = operator.replace(/IfExists$/, "");
    if (op === "StringEquals" || op === "ArnEquals") return values.includes(value);
    if (op === "StringLike" || op === "ArnLike") return values.some((v) => matches(v, value));
    if (op === "StringEqualsIgnoreCase") return values.some((v) => v.toLowerCase() === value.toLowerCase());
    if (op === "Bool") return values.includes(value);
    return undefined;
}

/** Whether a statement's conditions all hold in `context`; a key the context lacks, or an operator not judged here, does not. */
function conditionsHold(statement: PolicyStatement, context: Record<string, string>): boolean {
    return Object.entries(statement.Condition ?? {}).every(([operator, block]) =>
        Object.entries(block).every(([key, values]) => {
            const value = context[key];
            return value !== undefined && holds(operator, listOf(values), value) === true;
        }),
    );
}

/** What one request carries: who, which action, and the context keys AWS sets for it. */
interface Call {
    principal: string;
    action: string;
    context: Record<string, string>;
}

/** Allowed by an Allow statement whose conditions hold, and by no Deny that could apply (a Deny is judged without its conditions). */
function allows(policy: PolicyDocument, call: Call, principalMatches: (s: PolicyStatement) => boolean): boolean {
    const applies = (s: PolicyStatement) => principalMatches(s) && grantsAction(s, call.action);
    if (policy.Statement.some((s) => s.Effect === "Deny" && applies(s))) return false;
    return policy.Statement.some((s) => s.Effect === "Allow" && applies(s) && conditionsHold(s, call.context));
}

/**
 * What a key policy does not allow `accountId`'s DRS service-linked role, which creates the
 * staging disks with the key through EC2 in `region` (the uses the staging keys grant it).
 * Conservative: a condition it cannot judge counts as not met, a Deny as applying.
 */
export function serviceRoleKeyUseGaps(policy: PolicyDocument, partition: Partition, accountId: string, region: string): string[] {
    const role = drsServiceLinkedRoleArn(partition, accountId);
    const throughEc2 = { "kms:ViaService": viaService("ec2", region), "kms:CallerAccount": accountId, "aws:PrincipalArn": role };
    const calls: Call[] = [
        ...["kms:Decrypt", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"].map((action) => ({
            principal: role,
            action,
            context: throughEc2,
        })),
        { principal: role, action: "kms:CreateGrant", context: { ...throughEc2, "kms:GrantIsForAWSResource": "true" } },
        { principal: role, action: "kms:DescribeKey", context: { "kms:CallerAccount": accountId, "aws:PrincipalArn": role } },
    ];
    const names = (s: PolicyStatement) => awsPrincipals(s).some((p) => p === role || p === "*");
    return calls.filter((call) => !allows(policy, call, names)).map((call) => call.action);
}

/**
 * Whether a role's trust policy lets DRS assume it on behalf of `trustedAccountId` for one kind
 * of DRS resource (`source-network` for the network role), as the trusted-accounts page documents it.
 */
export function trustsDrsFor(
    trust: PolicyDocument,
    partition: Partition,
    trustedAccountId: string,
    resource: string,
    region: string,
): boolean {
    const call: Call = {
        principal: "drs.amazonaws.com",
        action: "sts:AssumeRole",
        context: {
            "aws:SourceAccount": trustedAccountId,
            "aws:SourceArn": `arn:${partition}:drs:${region}:${trustedAccountId}:${resource}/example`,
        },
    };
    const isDrs = (s: PolicyStatement) => {
        const principal = s.Principal as { Service?: string | string[] } | undefined;
        return listOf(principal?.Service).includes("drs.amazonaws.com");
    };
    return allows(trust, call, isDrs);
}
