// The staging key's own checks, in its account and Region: its state, rotation, policy (no
// drift) and, for a multi-Region primary, its replicas.
import { DescribeKeyCommand, GetKeyPolicyCommand, GetKeyRotationStatusCommand, KeyMetadata } from "@aws-sdk/client-kms";
import { GetRoleCommand } from "@aws-sdk/client-iam";
import { TargetAccess, buildKeyPolicy, drsStagingRoleName, keyPolicySize } from "../../../components/policies";
import { StagingKeyExport } from "../../../program/contract";
import { AwsAccess } from "../../aws/access";
import { dependsOn, symptoms, uncheckedFixes } from "../outcomes";
import { policyDifferences } from "../policyDiff";
import { Outcome } from "../types";

/** How the messages name a key: multi-Region parts say which part they are. */
function keyLabel(key: StagingKeyExport): string {
    return key.multiRegionKey === "primary" ? "Multi-Region primary key" : key.multiRegionKey === "replica" ? "Replica key" : "Key";
}

/** The key's metadata, from its own account and Region (an mrk- ID is the same in every Region). */
export async function describe(aws: AwsAccess, key: StagingKeyExport): Promise<KeyMetadata | undefined> {
    const kms = await aws.kms(key.accountId, key.region);
    return (await kms.send(new DescribeKeyCommand({ KeyId: key.keyId }))).KeyMetadata;
}

export async function keyState(key: StagingKeyExport, described: Promise<KeyMetadata | undefined>, alignCommand: string): Promise<Outcome> {
    const label = `${keyLabel(key)} ${key.keyArn}`;
    // The CLI calls KMS in its default Region: name the key's own (a replica's is not the primary's).
    const cli = (command: string) => `aws kms ${command} --key-id ${key.keyArn} --region ${key.region}`;
    try {
        const m = await described;
        if (m?.KeyState === "Enabled") return { status: "PASS", message: `${label} is Enabled.` };
        if (m?.KeyState === "PendingDeletion" || m?.KeyState === "PendingReplicaDeletion") {
            // A primary scheduled for deletion waits for its replicas' deletion first (PendingReplicaDeletion).
            const when =
                m.KeyState === "PendingReplicaDeletion"
                    ? "once its replicas are deleted (PendingReplicaDeletion)"
                    : `on ${m.DeletionDate?.toISOString() ?? "an unknown date"}`;
            return {
                status: "FAIL",
                message: `${label} is scheduled for deletion ${when}: every snapshot it encrypted becomes unrecoverable then.`,
                fix: `${cli("cancel-key-deletion")}, then enable-key; ${symptoms.replication}, ${symptoms.recovery}.`,
            };
        }
        // Transient: a replica being created, or a primary Region being changed.
        if (m?.KeyState === "Creating" || m?.KeyState === "Updating") {
            const why = `${label} is ${m.KeyState}, for a moment`;
            return {
                status: "UNCHECKED",
                message: `Not checked: ${why}.`,
                fix: uncheckedFixes.changing,
                unchecked: { kind: "changing", why },
            };
        }
        return {
            status: "FAIL",
            message: `${label} is ${m?.KeyState}.`,
            fix: `${cli("enable-key")}; ${symptoms.replication}, ${symptoms.recovery}.`,
        };
    } catch (err) {
        if ((err as Error).name !== "NotFoundException") throw err;
        if (key.multiRegionKey === "replica") return missingReplicas([key], alignCommand);
        return {
            status: "FAIL",
            message: `${label} does not exist.`,
            fix: "Run `pulumi refresh` and `pulumi up` on the staging stack.",
        };
    }
}

/**
 * Rotation is a property a multi-Region key's parts share (docs/aws-requirements.md, Multi-Region keys and
 * adopting keys): KMS reports the primary's on a replica, and only the primary's can be changed.
 */
export async function keyRotation(aws: AwsAccess, key: StagingKeyExport, expected: boolean, primary?: StagingKeyExport): Promise<Outcome> {
    const kms = await aws.kms(key.accountId, key.region);
    const { KeyRotationEnabled } = await kms.send(new GetKeyRotationStatusCommand({ KeyId: key.keyId }));
    const replica = key.multiRegionKey === "replica";
    const primaryName = primary ? `the primary key ${primary.keyArn}` : "its primary key";
    const shared = replica ? `, shared with ${primaryName}` : "";
    if (Boolean(KeyRotationEnabled) === expected)
        return { status: "PASS", message: `Rotation is ${expected ? "on" : "off, as configured"}${shared}.` };
    return {
        status: "FAIL",
        message: `Rotation is ${KeyRotationEnabled ? "on" : "off"}, but the config says ${expected ? "on" : "off"} (drift)${shared}.`,
        fix: replica
            ? `Run \`pulumi up\` on the staging stack: it sets rotation on ${primaryName}, and every replica follows it.`
            : "Run `pulumi up` on the staging stack.",
    };
}

export async function keyPolicy(
    aws: AwsAccess,
    key: StagingKeyExport,
    targets: string[],
    targetAccess: TargetAccess,
    onBytes: (bytes: number) => void = () => undefined,
): Promise<Outcome> {
    const kms = await aws.kms(key.accountId, key.region);
    const iam = await aws.iam(key.accountId, key.region);
    // Each target's staging role as the key policy names it: its ARN, and its unique ID in the policy Id.
    let roles;
    try {
        roles = await Promise.all(
            targets.map(async (target) => {
                const { Role } = await iam.send(new GetRoleCommand({ RoleName: drsStagingRoleName(target) }));
                return {
                    targetAccountId: target,
                    stagingRoleArn: key.stagingRoleArns?.[target] ?? key.stagingRoleArn,
                    stagingRoleUniqueId: Role?.RoleId,
                };
            }),
        );
    } catch (err) {
        // The policy names the role by its unique ID: without the role there is nothing to compare with.
        if (!/^NoSuchEntity(Exception)?$/.test((err as Error).name ?? "")) throw err;
        return dependsOn("staging-role", `a staging role of ${key.accountId} does not exist, and the key policy names it by its unique ID`);
    }
    const [first, ...additionalTargets] = roles;
    const expected = buildKeyPolicy({ ...first, stagingAccountId: key.accountId, region: key.region, targetAccess, additionalTargets });
    const { Policy } = await kms.send(new GetKeyPolicyCommand({ KeyId: key.keyId, PolicyName: "default" }));
    const actual = JSON.parse(Policy ?? "{}");
    // KMS counts the policy as stored; its text's bytes, or the document's when only that is at hand.
    onBytes(Policy ? Buffer.byteLength(Policy, "utf8") : keyPolicySize(actual));
    const differences = policyDifferences(expected, actual);
    if (differences.length === 0) return { status: "PASS", message: "The key policy is the one the program deploys." };
    return {
        status: "FAIL",
        message: `The key policy differs from the one the program deploys: ${differences.join("; ")}.`,
        fix: `Run \`pulumi up\` on the staging stack (a replaced DRSStagingAccountRole shows here as a changed Id); guide symptoms "Key policy does not allow operation", ${symptoms.recovery}.`,
    };
}

/**
 * A multi-Region primary lists its replicas (DescribeKey, MultiRegionConfiguration.ReplicaKeys).
 * A replica the stack exports that AWS does not list is gone, while its Region's template and
 * target policy still name it. A disabled replica shows in its own key-state check.
 */
export async function multiRegionReplicas(
    primary: StagingKeyExport,
    described: Promise<KeyMetadata | undefined>,
    replicas: StagingKeyExport[],
    alignCommand: string,
): Promise<Outcome> {
    let m: KeyMetadata | undefined;
    try {
        m = await described;
    } catch (err) {
        if ((err as Error).name !== "NotFoundException") throw err;
        return dependsOn("key-state", `the primary key ${primary.keyArn} does not exist`);
    }
    const config = m?.MultiRegionConfiguration;
    if (!m?.MultiRegion || !config) {
        // KMS never makes a key multi-Region after its creation (docs/aws-requirements.md, Multi-Region keys and adopting keys).
        return {
            status: "FAIL",
            message: `${primary.keyArn} is not a multi-Region key, but the stack exports it as the multi-Region primary.`,
            fix: "The stack's record is out of date: run `pulumi refresh` and `pulumi up` on the staging stack, then verify again.",
        };
    }
    if (config.MultiRegionKeyType !== "PRIMARY") {
        // While the primary Region changes, DescribeKey may show both keys as replicas.
        if (m.KeyState === "Updating")
            return {
                status: "UNCHECKED",
                message: `Not checked: the primary Region of ${primary.keyArn} is being changed (Updating).`,
                fix: uncheckedFixes.changing,
                unchecked: { kind: "changing", why: `the primary Region of ${primary.keyArn} is being changed (Updating)` },
            };
        const now = config.PrimaryKey;
        return {
            status: "FAIL",
            message:
                `${primary.keyArn} is no longer the multi-Region primary: it is a replica of ${now?.Arn ?? "a key in another Region"} ` +
                "(the primary Region was changed: UpdatePrimaryRegion). The staging stack manages the primary in " +
                `${primary.region}, and the replicas from there.`,
            fix:
                `Make ${primary.region} the primary Region again: aws kms update-primary-region --key-id ${primary.keyId} ` +
                `--primary-region ${primary.region} --region ${now?.Region ?? "<the current primary Region>"}; then run \`pulumi refresh\` on the staging stack.`,
        };
    }
    const listed = (config.ReplicaKeys ?? []).map((r) => r.Region ?? "");
    const missing = replicas.filter((r) => !listed.includes(r.region));
    if (missing.length > 0) return missingReplicas(missing, alignCommand, primary);
    const unexported = listed.filter((r) => !replicas.some((x) => x.region === r));
    const others = unexported.length > 0 ? ` AWS also lists replicas the stack does not export, in ${unexported.join(", ")}.` : "";
    if (replicas.length === 0)
        return { status: "PASS", message: `${primary.keyArn} is a multi-Region primary; the stack exports no replica of it.${others}` };
    return {
        status: "PASS",
        message: `${primary.keyArn} is the multi-Region primary, with its replicas in ${replicas.map((r) => r.region).join(", ")}.${others}`,
    };
}

/** Replicas that do not exist, as the primary's check and a replica's key-state report them. */
function missingReplicas(missing: StagingKeyExport[], alignCommand: string, primary?: StagingKeyExport): Outcome {
    const regions = missing.map((r) => r.region).join(", ");
    const one = missing.length === 1;
    const subject = primary
        ? `${primary.keyArn} has no replica in ${regions} (${missing.map((r) => r.keyArn).join(", ")})`
        : `Replica key ${missing[0].keyArn} does not exist`;
    return {
        status: "FAIL",
        message: `${subject}: the DRS replication template and the target policy ${one ? "there name a key" : "in each Region name a key"} that does not exist.`,
        fix:
            `Run \`pulumi up\` on the staging stack to create ${one ? "it" : "them"}; a replica that was deleted must be recreated: ` +
            `\`pulumi refresh\` first, as the stack still records it. Then re-align the servers in ${regions}: \`${alignCommand}\` ` +
            `lists the changes, and with --apply makes them; ${symptoms.replication}, ${symptoms.recovery}.`,
        details: missing.map((r) => ({ accountId: r.accountId, region: r.region, keyArn: r.keyArn })),
    };
}
