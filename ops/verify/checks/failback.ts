// The way back after a recovery (docs/aws-requirements.md, "Failback"): for each key with a
// failback setting and each target it serves, DRS at the origin, DRS's roles in both directions,
// the key the origin's template gives the new source servers, the Failback Client's credentials
// (on-premises) and the network role (source networks).
import { DescribeReplicationConfigurationTemplatesCommand } from "@aws-sdk/client-drs";
import {
    GetRoleCommand,
    ListAttachedRolePoliciesCommand,
    ListEntitiesForPolicyCommand,
    ListRolePoliciesCommand,
} from "@aws-sdk/client-iam";
import { DescribeKeyCommand, GetKeyPolicyCommand } from "@aws-sdk/client-kms";
import {
    DirectionRoles,
    WayBack,
    drsSourceNetworkRoleName,
    failbackInstallationPolicyArn,
    failbackRoles,
    networkRolePolicyNames,
    networkRoles,
    parseKeyArn,
    parsePolicyDocument,
    partitionOf,
    serviceRoleKeyUseGaps,
    trustsDrsFor,
} from "../../../components/policies";
import { StagingKeyExport } from "../../../program/contract";
import { AwsAccess } from "../../aws/access";
import { allPages } from "../../aws/faults";
import { missingRoles, trustedAccountsFix } from "./coverage";
import { drsInitialised, drsServiceLinkedRole } from "./staging";
import { Outcome } from "../types";

/** An origin of the way back: where reverse replication creates the new source servers. */
export interface Origin {
    accountId: string;
    region: string;
}

export function originOf(back: WayBack | undefined): Origin | undefined {
    return back?.to === "aws" && back.originAccountId && back.originRegion
        ? { accountId: back.originAccountId, region: back.originRegion }
        : undefined;
}

const isNoSuchEntity = (err: unknown) => /^NoSuchEntity(Exception)?$/.test((err as Error).name ?? "");

/** DRS initialised at the origin: it answers there, and its service-linked role exists. */
export async function originDrs(aws: AwsAccess, origin: Origin, target: string): Promise<Outcome> {
    const symptom = `reverse replication from ${target} cannot create the new source servers there`;
    const [answers, role] = [
        await drsInitialised(aws, origin.accountId, origin.region, symptom),
        await drsServiceLinkedRole(aws, origin.accountId, [origin.region]),
    ];
    const failed = [answers, role].filter((o) => o.status !== "PASS");
    if (failed.length === 0)
        return {
            status: "PASS",
            message: `DRS is initialised at the origin ${origin.accountId}/${origin.region}, and its service-linked role exists.`,
        };
    return {
        status: "FAIL",
        message: `${failed.map((o) => o.message).join(" ")} Failback from ${target} lands there.`,
        fix: `\`npm run -s initialize -- -s <stack> --apply\` initialises it (the origin is one of its places), or the DRS console in ${origin.accountId}/${origin.region}.`,
    };
}

/** Each direction's missing roles, in words. */
async function missingByDirection(aws: AwsAccess, sets: DirectionRoles[], region: string) {
    const missing: { set: DirectionRoles; names: string[] }[] = [];
    for (const set of sets) {
        const names = await missingRoles(aws, set.accountId, region, set.roleNames);
        if (names.length > 0) missing.push({ set, names });
    }
    return missing;
}

/**
 * DRS's failback and in-AWS right-sizing roles of both directions: in the origin for the target,
 * and in the target for the origin. Their trust policies are not published exactly: existence only.
 */
export async function wayBackRoles(aws: AwsAccess, origin: Origin, target: string): Promise<Outcome> {
    const sets = failbackRoles(origin.accountId, target);
    const missing = await missingByDirection(aws, sets, origin.region);
    if (missing.length === 0)
        return {
            status: "PASS",
            message:
                `Both directions have DRS's failback and in-AWS right-sizing roles: ${origin.accountId} for ${target}, and ${target} for ${origin.accountId}. ` +
                "Their trust policies are not checked (AWS does not publish them exactly).",
        };
    return {
        status: "FAIL",
        message:
            missing.map(({ set, names }) => `${set.accountId} lacks ${names.join(", ")} (for ${set.trustedAccountId})`).join("; ") +
            `: failback from ${target} to ${origin.accountId}/${origin.region} needs both sets in advance.`,
        fix: missing.map(({ set }) => trustedAccountsFix(set.accountId, set.trustedAccountId)).join(" "),
        details: missing.map(({ set, names }) => ({
            accountId: set.accountId,
            trustedAccountId: set.trustedAccountId,
            direction: set.direction,
            missing: names,
        })),
    };
}

/**
 * The key the origin's replication template gives the new source servers of the way back: a
 * customer managed key whose policy lets the origin's DRS service-linked role use it, as the
 * staging keys do. An origin that is a staging place of the stack already has the stack's key.
 */
export async function originKey(aws: AwsAccess, origin: Origin, keys: StagingKeyExport[]): Promise<Outcome> {
    const own = keys.find((k) => k.accountId === origin.accountId && k.region === origin.region);
    if (own)
        return {
            status: "INFO",
            message: `The origin ${origin.accountId}/${origin.region} is a staging place of this stack: its key ${own.keyArn} already serves the way back (replication-template and key-policy check it).`,
        };
    const drs = await aws.drs(origin.accountId, origin.region);
    const templates = await allPages("drs:DescribeReplicationConfigurationTemplates", (nextToken) =>
        drs.send(new DescribeReplicationConfigurationTemplatesCommand({ nextToken })),
    );
    const where = `${origin.accountId}/${origin.region}`;
    const asStagingEntry = `Make the origin a staging entry of the stack (accountId ${origin.accountId}, region ${origin.region}, with replication): its key and template are then the program's.`;
    if (templates.length === 0)
        return {
            status: "FAIL",
            message: `The origin ${where} has no replication template: the new source servers of the way back take their settings from it.`,
            fix: asStagingEntry,
        };
    const template = templates[0];
    if (template.ebsEncryption !== "CUSTOM" || !template.ebsEncryptionKeyArn)
        return {
            status: "WARN",
            message: `The origin ${where}'s template ${template.replicationConfigurationTemplateID} uses ebsEncryption ${template.ebsEncryption ?? "DEFAULT"}: the way back's staging disks are on the account's default EBS key, not a customer managed key.`,
            fix: asStagingEntry,
        };
    const keyArn = template.ebsEncryptionKeyArn;
    const parsed = parseKeyArn(keyArn);
    if (parsed && parsed.accountId !== origin.accountId)
        return {
            status: "WARN",
            message: `The origin ${where}'s template uses ${keyArn}, a key of ${parsed.accountId}: its policy can be read only there, and is not checked.`,
            fix: asStagingEntry,
        };
    const kms = await aws.kms(origin.accountId, origin.region);
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: keyArn }));
    if (KeyMetadata?.KeyManager === "AWS")
        return {
            status: "WARN",
            message: `The origin ${where}'s template uses ${keyArn}, an AWS managed key, not a customer managed one.`,
            fix: asStagingEntry,
        };
    if (KeyMetadata?.KeyState !== "Enabled")
        return {
            status: "FAIL",
            message: `The origin ${where}'s template uses ${keyArn}, which is ${KeyMetadata?.KeyState ?? "in an unknown state"}: reverse replication cannot create staging disks with it.`,
            fix: `Enable the key (or cancel its deletion) in ${origin.accountId}, or point the template at an enabled key.`,
        };
    const { Policy } = await kms.send(new GetKeyPolicyCommand({ KeyId: keyArn, PolicyName: "default" }));
    const policy = parsePolicyDocument(Policy);
    if (!policy?.Statement) throw new Error(`kms:GetKeyPolicy answered no policy document for ${keyArn}`);
    const gaps = serviceRoleKeyUseGaps(policy, partitionOf(origin.region), origin.accountId, origin.region);
    if (gaps.length === 0)
        return {
            status: "PASS",
            message: `The origin ${where}'s template uses the customer managed key ${keyArn}, whose policy lets the origin's DRS service-linked role use it through EC2.`,
        };
    return {
        status: "FAIL",
        message: `The origin ${where}'s template uses ${keyArn}, whose policy does not allow the origin's DRS service-linked role ${gaps.join(", ")} through EC2 in ${origin.region}: reverse replication cannot create the staging disks.`,
        fix: `${asStagingEntry} Or add to the key's policy the statements the program writes for the service-linked role (docs/key-policy.md).`,
    };
}

/** Failback to on-premises: the Failback Client's credentials hold AWSElasticDisasterRecoveryFailbackInstallationPolicy in the recovery account. */
export async function failbackClientCredentials(aws: AwsAccess, target: string, region: string): Promise<Outcome> {
    const iam = await aws.iam(target, region);
    const policyArn = failbackInstallationPolicyArn(partitionOf(region));
    const pages = await allPages("iam:ListEntitiesForPolicy", async (marker) => {
        const page = await iam.send(new ListEntitiesForPolicyCommand({ PolicyArn: policyArn, Marker: marker }));
        return {
            items: [
                ...(page.PolicyUsers ?? []).map((u) => `user ${u.UserName}`),
                ...(page.PolicyRoles ?? []).map((r) => `role ${r.RoleName}`),
                ...(page.PolicyGroups ?? []).map((g) => `group ${g.GroupName}`),
            ],
            nextToken: page.IsTruncated ? page.Marker : undefined,
        };
    });
    if (pages.length > 0)
        return {
            status: "PASS",
            message: `${target} has credentials for the Failback Client: ${pages.join(", ")} hold${pages.length === 1 ? "s" : ""} ${policyArn}.`,
        };
    return {
        status: "FAIL",
        message: `No user, role or group in ${target} holds ${policyArn}: the Failback Client on the on-premises machine has no credentials to fail back with.`,
        fix: `In ${target}, attach ${policyArn} to an IAM user (access keys) or a role whose temporary credentials you give the Failback Client.`,
    };
}

/** The network role of both directions: its trust names the other account for source networks, and it holds its policy. */
export async function sourceNetworkRoles(aws: AwsAccess, origin: Origin, target: string): Promise<Outcome> {
    const problems: string[] = [];
    for (const set of networkRoles(origin.accountId, target)) {
        const iam = await aws.iam(set.accountId, origin.region);
        let trust;
        try {
            const { Role } = await iam.send(new GetRoleCommand({ RoleName: drsSourceNetworkRoleName }));
            trust = parsePolicyDocument(decodeURIComponent(Role?.AssumeRolePolicyDocument ?? ""));
        } catch (err) {
            if (!isNoSuchEntity(err)) throw err;
            problems.push(`${set.accountId} has no ${drsSourceNetworkRoleName} (for ${set.trustedAccountId})`);
            continue;
        }
        if (!trust?.Statement || !trustsDrsFor(trust, partitionOf(origin.region), set.trustedAccountId, "source-network", origin.region))
            problems.push(
                `${set.accountId}'s ${drsSourceNetworkRoleName} does not let DRS assume it for ${set.trustedAccountId}'s source networks`,
            );
        const attached = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: drsSourceNetworkRoleName }));
        const inline = await iam.send(new ListRolePoliciesCommand({ RoleName: drsSourceNetworkRoleName }));
        const names = [...(attached.AttachedPolicies ?? []).map((p) => p.PolicyName ?? ""), ...(inline.PolicyNames ?? [])];
        if (!names.some((n) => networkRolePolicyNames.includes(n)))
            problems.push(`${set.accountId}'s ${drsSourceNetworkRoleName} holds neither ${networkRolePolicyNames.join(" nor ")}`);
    }
    if (problems.length === 0)
        return {
            status: "PASS",
            message: `${drsSourceNetworkRoleName} exists in ${origin.accountId} for ${target} and in ${target} for ${origin.accountId}, trusted by DRS for source networks.`,
        };
    return {
        status: "FAIL",
        message: `${problems.join("; ")}: DRS cannot protect the source networks in that direction.`,
        fix: `In each account, add the other as a trusted account with "Network role" (DRS console, Settings, Trusted accounts).`,
    };
}
