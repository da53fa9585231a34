// The staging side's setup: DRS initialised (its service-linked role, and DRS answering in each
// Region, a check the target side runs too), the staging role the target's DRS assumes, and the
// replication template.
import { DescribeReplicationConfigurationTemplatesCommand } from "@aws-sdk/client-drs";
import { GetRoleCommand } from "@aws-sdk/client-iam";
import { buildStagingRoleTrustPolicy, drsServiceLinkedRoleName, drsStagingRoleName, partitionOf } from "../../../components/policies";
import { StagingKeyExport } from "../../../program/contract";
import { AwsAccess } from "../../aws/access";
import { allPages } from "../../aws/faults";
import { symptoms } from "../outcomes";
import { policyDifferences } from "../policyDiff";
import { Outcome } from "../types";

/** DRS's service-linked role in an account: docs/aws-requirements.md, "The staging account's DRS service-linked role". */
export async function drsServiceLinkedRole(aws: AwsAccess, account: string, regions: string[]): Promise<Outcome> {
    const iam = await aws.iam(account, regions[0]);
    try {
        await iam.send(new GetRoleCommand({ RoleName: drsServiceLinkedRoleName }));
        return { status: "PASS", message: `${drsServiceLinkedRoleName} exists in ${account}: DRS was initialised there.` };
    } catch (err) {
        if ((err as Error).name !== "NoSuchEntityException" && (err as Error).name !== "NoSuchEntity") throw err;
        return {
            status: "FAIL",
            message: `DRS was never initialised in ${account}: the role ${drsServiceLinkedRoleName} does not exist, and KMS refuses a key policy naming it.`,
            fix: `Initialise DRS in ${account} in each of its Regions (${regions.join(", ")}): in the DRS console, or aws drs initialize-service --region <region>; then run \`pulumi up\` on the staging stack.`,
        };
    }
}

/** DRS answers only in an account and Region where it was initialised. */
export async function drsInitialised(aws: AwsAccess, account: string, region: string, symptom: string): Promise<Outcome> {
    const drs = await aws.drs(account, region);
    try {
        await drs.send(new DescribeReplicationConfigurationTemplatesCommand({}));
        return { status: "PASS", message: `DRS is initialised in ${account} in ${region}.` };
    } catch (err) {
        if ((err as Error).name !== "UninitializedAccountException") throw err;
        return {
            status: "FAIL",
            message: `DRS is not initialised in ${account} in ${region}.`,
            fix: `Initialise DRS in ${account} in ${region} (DRS console, or aws drs initialize-service --region ${region}); ${symptom}.`,
        };
    }
}

export async function stagingRole(aws: AwsAccess, key: StagingKeyExport, target: string): Promise<Outcome> {
    const iam = await aws.iam(key.accountId, key.region);
    try {
        const { Role } = await iam.send(new GetRoleCommand({ RoleName: drsStagingRoleName(target) }));
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

export async function replicationTemplate(aws: AwsAccess, key: StagingKeyExport): Promise<Outcome> {
    const drs = await aws.drs(key.accountId, key.region);
    const ids = key.replicationTemplateId ? [key.replicationTemplateId] : undefined;
    const items = await allPages("drs:DescribeReplicationConfigurationTemplates", (nextToken) =>
        drs.send(new DescribeReplicationConfigurationTemplatesCommand({ replicationConfigurationTemplateIDs: ids, nextToken })),
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
