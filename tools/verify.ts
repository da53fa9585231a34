// Read-only checks, against real AWS, that a deployed cross-account setup works, each mapped to
// the guide's troubleshooting symptoms. Never changes anything.
import { DescribeReplicationConfigurationTemplatesCommand, DescribeSourceServersCommand } from "@aws-sdk/client-drs";
import { GetRoleCommand } from "@aws-sdk/client-iam";
import { DecryptCommand, DescribeKeyCommand, GetKeyPolicyCommand, GetKeyRotationStatusCommand } from "@aws-sdk/client-kms";
import { Settings, StagingKeyExport } from "../components/config";
import {
    PolicyDocument,
    TargetAccess,
    buildKeyPolicy,
    buildStagingRoleTrustPolicy,
    drsStagingRoleName,
    partitionOf,
} from "../components/policies";
import { AwsAccess, UnreachableAccount, withRetry } from "./awsAccess";

export type Status = "PASS" | "FAIL" | "WARN";

export interface CheckResult {
    check: string;
    /** account/Region the check is about. */
    scope: string;
    status: Status;
    message: string;
    fix?: string;
}

/** Every check, for `verify --help` and the README. */
export const checkCatalog: [string, string][] = [
    ["key-state", "the key exists and is Enabled (not Disabled or PendingDeletion)"],
    ["key-rotation", "automatic rotation is as configured (on by default)"],
    ["key-policy", "the key policy is the one the program deploys (no drift)"],
    ["staging-role", "DRSStagingAccountRole_<target> exists with the expected trust policy"],
    ["replication-template", "the DRS replication template uses ebsEncryption CUSTOM with this key"],
    ["target-describe-key", "the target account can DescribeKey the key (the guide's verification step)"],
    ["target-direct-decrypt-denied", "a direct Decrypt from the target is denied: the key is usable only through EC2"],
    ["target-drs-initialised", "DRS is initialised in the target account in the key's Region"],
    ["extended-source-servers", "extended source servers from the staging account, against its 300-server capacity"],
];

const symptoms = {
    accessDenied: 'guide symptom "AccessDeniedException when target account tries to use key"',
    replication: 'guide symptom "Replication failed: Unable to encrypt EBS volumes"',
    recovery: 'guide symptom "Recovery failed: Unable to decrypt EBS snapshots"',
};

export interface VerifyInput {
    settings: Settings;
    /** `pulumi stack output --json` of the stack. */
    outputs: Record<string, unknown>;
}

/** Thrown when verify cannot start (no keys in the outputs): exit code 2. */
export class CannotVerify extends Error {}

export function stagingKeysOf(outputs: Record<string, unknown>): StagingKeyExport[] {
    const keys = outputs.stagingKeys;
    if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k?.keyArn === "string")) {
        throw new CannotVerify(
            "The stack outputs have no stagingKeys: pass the output of `pulumi stack output --json` of a deployed stack.",
        );
    }
    return keys as StagingKeyExport[];
}

export async function verify(input: VerifyInput, aws: AwsAccess): Promise<CheckResult[]> {
    const keys = stagingKeysOf(input.outputs);
    const target = String(input.outputs.targetAccountId ?? input.settings.target.accountId);
    const targetAccess = (input.outputs.targetAccess ?? input.settings.key.targetAccess) as TargetAccess;
    const results: CheckResult[] = [];
    for (const key of keys) {
        const scope = `${key.accountId}/${key.region}`;
        const run = async (check: string, account: string, body: () => Promise<Omit<CheckResult, "check" | "scope">>) => {
            results.push({ check, scope, ...(await guarded(account, body)) });
        };
        await run("key-state", key.accountId, () => keyState(aws, key));
        await run("key-rotation", key.accountId, () => keyRotation(aws, key, input.settings.key.enableKeyRotation));
        await run("key-policy", key.accountId, () => keyPolicy(aws, key, target, targetAccess));
        await run("staging-role", key.accountId, () => stagingRole(aws, key, target));
        await run("replication-template", key.accountId, () => replicationTemplate(aws, key));
        await run("target-describe-key", target, () => targetDescribeKey(aws, key, target));
        await run("target-direct-decrypt-denied", target, () => targetDirectDecrypt(aws, key, target));
        await run("target-drs-initialised", target, () => targetDrsInitialised(aws, key, target));
        await run("extended-source-servers", target, () => extendedSourceServers(aws, key, target));
    }
    return results;
}

type Outcome = Omit<CheckResult, "check" | "scope">;

/** Turns what stops a check (no credentials, no permission to read) into a WARN that says so. */
async function guarded(account: string, body: () => Promise<Outcome>): Promise<Outcome> {
    try {
        return await body();
    } catch (err) {
        if (err instanceof UnreachableAccount) {
            return {
                status: "WARN",
                message: `Not verified: ${err.message}.`,
                fix: "Set roleArn for this account in the stack config, or run with its credentials.",
            };
        }
        const name = (err as { name?: string }).name ?? "Error";
        if (name === "AccessDeniedException" || name === "AccessDenied") {
            return {
                status: "WARN",
                message: `Not verified: the credentials for ${account} may not read this (${(err as Error).message}).`,
                fix: "Run verify with a role that can read KMS, IAM and DRS.",
            };
        }
        return { status: "WARN", message: `Not verified: ${name}: ${(err as Error).message}` };
    }
}

async function keyState(aws: AwsAccess, key: StagingKeyExport): Promise<Outcome> {
    const kms = await aws.kms(key.accountId, key.region);
    try {
        const { KeyMetadata: m } = await withRetry(() => kms.send(new DescribeKeyCommand({ KeyId: key.keyId })));
        if (m?.KeyState === "Enabled") return { status: "PASS", message: `Key ${key.keyArn} is Enabled.` };
        if (m?.KeyState === "PendingDeletion") {
            return {
                status: "FAIL",
                message: `Key ${key.keyArn} is scheduled for deletion on ${m.DeletionDate?.toISOString() ?? "an unknown date"}: every snapshot it encrypted becomes unrecoverable then.`,
                fix: `aws kms cancel-key-deletion --key-id ${key.keyArn}, then enable-key; ${symptoms.replication}, ${symptoms.recovery}.`,
            };
        }
        return {
            status: "FAIL",
            message: `Key ${key.keyArn} is ${m?.KeyState}.`,
            fix: `aws kms enable-key --key-id ${key.keyArn}; ${symptoms.replication}, ${symptoms.recovery}.`,
        };
    } catch (err) {
        if ((err as Error).name !== "NotFoundException") throw err;
        return {
            status: "FAIL",
            message: `Key ${key.keyArn} does not exist.`,
            fix: "Run `pulumi refresh` and `pulumi up` on the staging stack.",
        };
    }
}

async function keyRotation(aws: AwsAccess, key: StagingKeyExport, expected: boolean): Promise<Outcome> {
    const kms = await aws.kms(key.accountId, key.region);
    const { KeyRotationEnabled } = await withRetry(() => kms.send(new GetKeyRotationStatusCommand({ KeyId: key.keyId })));
    if (Boolean(KeyRotationEnabled) === expected)
        return { status: "PASS", message: `Rotation is ${expected ? "on" : "off, as configured"}.` };
    return {
        status: "FAIL",
        message: `Rotation is ${KeyRotationEnabled ? "on" : "off"}, but the config says ${expected ? "on" : "off"} (drift).`,
        fix: "Run `pulumi up` on the staging stack.",
    };
}

async function keyPolicy(aws: AwsAccess, key: StagingKeyExport, target: string, targetAccess: TargetAccess): Promise<Outcome> {
    const kms = await aws.kms(key.accountId, key.region);
    const iam = await aws.iam(key.accountId);
    const { Role } = await withRetry(() => iam.send(new GetRoleCommand({ RoleName: drsStagingRoleName(target) })));
    const expected = buildKeyPolicy({
        stagingAccountId: key.accountId,
        targetAccountId: target,
        region: key.region,
        stagingRoleArn: key.stagingRoleArn,
        stagingRoleUniqueId: Role?.RoleId,
        targetAccess,
    });
    const { Policy } = await withRetry(() => kms.send(new GetKeyPolicyCommand({ KeyId: key.keyId, PolicyName: "default" })));
    const differences = policyDifferences(expected, JSON.parse(Policy ?? "{}"));
    if (differences.length === 0) return { status: "PASS", message: "The key policy is the one the program deploys." };
    return {
        status: "FAIL",
        message: `The key policy differs from the one the program deploys: ${differences.join("; ")}.`,
        fix: `Run \`pulumi up\` on the staging stack (a replaced DRSStagingAccountRole shows here as a changed Id); guide symptoms "Key policy does not allow operation", ${symptoms.recovery}.`,
    };
}

async function stagingRole(aws: AwsAccess, key: StagingKeyExport, target: string): Promise<Outcome> {
    const iam = await aws.iam(key.accountId);
    try {
        const { Role } = await withRetry(() => iam.send(new GetRoleCommand({ RoleName: drsStagingRoleName(target) })));
        const trust = JSON.parse(decodeURIComponent(Role?.AssumeRolePolicyDocument ?? "{}"));
        const differences = policyDifferences(buildStagingRoleTrustPolicy(partitionOf(key.region), target), trust);
        if (differences.length === 0)
            return { status: "PASS", message: `${Role?.Arn} exists, trusted by DRS for the target account only.` };
        return {
            status: "FAIL",
            message: `${Role?.Arn} has another trust policy: ${differences.join("; ")}.`,
            fix: "Run `pulumi up` on the staging stack (stagingRole: create or import).",
        };
    } catch (err) {
        if ((err as Error).name !== "NoSuchEntityException" && (err as Error).name !== "NoSuchEntity") throw err;
        return {
            status: "FAIL",
            message: `${drsStagingRoleName(target)} does not exist in ${key.accountId}: DRS in the target cannot reach the staging area.`,
            fix: "Run `pulumi up` on the staging stack.",
        };
    }
}

async function replicationTemplate(aws: AwsAccess, key: StagingKeyExport): Promise<Outcome> {
    const drs = await aws.drs(key.accountId, key.region);
    const ids = key.replicationTemplateId ? [key.replicationTemplateId] : undefined;
    const { items = [] } = await withRetry(() =>
        drs.send(new DescribeReplicationConfigurationTemplatesCommand({ replicationConfigurationTemplateIDs: ids })),
    );
    const mismatched = items.filter((t) => t.ebsEncryption !== "CUSTOM" || t.ebsEncryptionKeyArn !== key.keyArn);
    if (items.length > 0 && mismatched.length === 0)
        return { status: "PASS", message: `The replication template uses ebsEncryption CUSTOM with this key.` };
    const found =
        items.length === 0
            ? "no replication template"
            : mismatched
                  .map((t) => `${t.replicationConfigurationTemplateID}: ${t.ebsEncryption} ${t.ebsEncryptionKeyArn ?? ""}`.trim())
                  .join(", ");
    return {
        status: key.replicationTemplateId ? "FAIL" : "WARN",
        message: `Found ${found}, not ebsEncryption CUSTOM with ${key.keyArn}${key.replicationTemplateId ? "" : " (the stack does not manage the template)"}.`,
        fix: `Set replication for this entry and run \`pulumi up\` on the staging stack; ${symptoms.replication}.`,
    };
}

async function targetDescribeKey(aws: AwsAccess, key: StagingKeyExport, target: string): Promise<Outcome> {
    const kms = await aws.kms(target, key.region);
    try {
        await withRetry(() => kms.send(new DescribeKeyCommand({ KeyId: key.keyArn })));
        return { status: "PASS", message: `The target account can describe ${key.keyArn}.` };
    } catch (err) {
        if (!/AccessDenied/.test((err as Error).name)) throw err;
        return {
            status: "FAIL",
            message: `The target's credentials may not describe the key: ${(err as Error).message}`,
            fix: `Check the key policy (AllowTargetAccountDescribeKey) and that the role has the key-use policy (run the target stack); ${symptoms.accessDenied}.`,
        };
    }
}

async function targetDirectDecrypt(aws: AwsAccess, key: StagingKeyExport, target: string): Promise<Outcome> {
    const kms = await aws.kms(target, key.region);
    try {
        // Not real ciphertext: KMS checks permission before it reads the blob.
        await withRetry(() =>
            kms.send(new DecryptCommand({ KeyId: key.keyArn, CiphertextBlob: Buffer.from("drs-cross-account-kms verify") })),
        );
        return {
            status: "FAIL",
            message: "A direct Decrypt from the target succeeded; it must be denied.",
            fix: "Run `pulumi up` on both stacks.",
        };
    } catch (err) {
        const name = (err as Error).name;
        if (/AccessDenied/.test(name)) {
            return {
                status: "PASS",
                message:
                    "A direct Decrypt is denied (AccessDeniedException), as it should be: the target uses the key only through EC2. " +
                    "The guide's check expected InvalidCiphertextException; with least privilege, AccessDenied is the right answer here.",
            };
        }
        if (name === "InvalidCiphertextException" || name === "IncorrectKeyException") {
            return {
                status: "FAIL",
                message:
                    "A direct Decrypt from the target was authorised (KMS only rejected the test ciphertext): the key is usable outside EC2.",
                fix: "Run `pulumi up` on both stacks; remove any other policy granting kms:Decrypt on this key.",
            };
        }
        throw err;
    }
}

async function targetDrsInitialised(aws: AwsAccess, key: StagingKeyExport, target: string): Promise<Outcome> {
    const drs = await aws.drs(target, key.region);
    try {
        await withRetry(() => drs.send(new DescribeReplicationConfigurationTemplatesCommand({})));
        return { status: "PASS", message: `DRS is initialised in ${target} in ${key.region}.` };
    } catch (err) {
        if ((err as Error).name !== "UninitializedAccountException") throw err;
        return {
            status: "FAIL",
            message: `DRS is not initialised in ${target} in ${key.region}.`,
            fix: `Initialise DRS in the target account in ${key.region} (DRS console, or drs initialize-service); ${symptoms.recovery}.`,
        };
    }
}

export const capacityPerStagingAccount = 300;

async function extendedSourceServers(aws: AwsAccess, key: StagingKeyExport, target: string): Promise<Outcome> {
    const drs = await aws.drs(target, key.region);
    let count = 0;
    let nextToken: string | undefined;
    do {
        const page = await withRetry(() =>
            drs.send(new DescribeSourceServersCommand({ filters: { stagingAccountIDs: [key.accountId] }, nextToken })),
        );
        count += page.items?.length ?? 0;
        nextToken = page.nextToken;
    } while (nextToken);
    const usage = `${count} of ${capacityPerStagingAccount}`;
    if (count === 0) {
        return {
            status: "WARN",
            message: `No extended source servers from ${key.accountId} in the target yet (${usage}).`,
            fix: "In the target's DRS console, extend the staging account's source servers.",
        };
    }
    if (count >= capacityPerStagingAccount * 0.9) {
        return {
            status: "WARN",
            message: `${usage} replicating servers of ${key.accountId} are extended: near the per-account limit.`,
            fix: "Add another staging account for more servers.",
        };
    }
    return { status: "PASS", message: `${usage} servers of ${key.accountId} are extended into the target.` };
}

/** Differences between two policies, by statement Sid, ignoring order and single-value arrays. */
export function policyDifferences(expected: PolicyDocument, actual: PolicyDocument): string[] {
    const byId = (doc: PolicyDocument) => new Map((doc.Statement ?? []).map((s, i) => [s.Sid ?? `#${i}`, canonical(s)]));
    const want = byId(expected);
    const have = byId(actual);
    const differences: string[] = [];
    if ((expected.Id ?? "") !== (actual.Id ?? ""))
        differences.push(`Id is ${JSON.stringify(actual.Id)}, not ${JSON.stringify(expected.Id)}`);
    for (const [sid, statement] of want) {
        if (!have.has(sid)) differences.push(`statement ${sid} is missing`);
        else if (have.get(sid) !== statement) differences.push(`statement ${sid} differs`);
    }
    for (const sid of have.keys()) if (!want.has(sid)) differences.push(`statement ${sid} is not the program's`);
    return differences;
}

/** A statement as text in which order and "x" versus ["x"] do not matter. */
function canonical(value: unknown): string {
    const normal = (v: unknown): unknown => {
        if (Array.isArray(v))
            return v.length === 1
                ? normal(v[0])
                : v
                      .map(normal)
                      .map((x) => JSON.stringify(x))
                      .sort();
        if (v !== null && typeof v === "object")
            return Object.fromEntries(
                Object.entries(v)
                    .sort(([a], [b]) => a.localeCompare(b))
                    .map(([k, x]) => [k, normal(x)]),
            );
        return v;
    };
    return JSON.stringify(normal(value));
}

export function formatResults(results: CheckResult[]): string {
    const lines = results.flatMap((r) => [
        `${r.status.padEnd(4)}  ${r.scope.padEnd(24)}  ${r.check.padEnd(28)}  ${r.message}`,
        ...(r.fix ? [`      fix: ${r.fix}`] : []),
    ]);
    const count = (s: Status) => results.filter((r) => r.status === s).length;
    return [...lines, "", `${count("PASS")} passed, ${count("FAIL")} failed, ${count("WARN")} warnings.`].join("\n");
}
