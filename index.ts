// The program: stack config -> one provider per account -> components -> stack outputs.
import * as pulumi from "@pulumi/pulumi";
import {
    ConfigError,
    Settings,
    StagingKeyExport,
    checkStagingStackOutputs,
    readStackConfig,
} from "./components/config";
import { targetKeyUsePolicyName } from "./components/defaults";
import { DrsCrossAccountKey } from "./components/drsCrossAccountKey";
import { partitionOf } from "./components/policies";
import { accountProvider } from "./components/providers";
import { DrsReplicationTemplate } from "./components/replicationTemplate";
import { DrsStagingRole } from "./components/stagingRole";
import { DrsTargetKeyAccess } from "./components/targetKeyAccess";

const settings = readStackConfig();

/** Staging side: per account a provider and the staging role; per (account, Region) a key and template. */
function deployStaging(s: Settings): pulumi.Output<StagingKeyExport[]> {
    const accounts = new Map<string, { provider: ReturnType<typeof accountProvider>; role: DrsStagingRole }>();
    const exports = s.stagingAccounts.map((entry) => {
        let account = accounts.get(entry.accountId);
        if (!account) {
            const provider = accountProvider(`aws-staging-${entry.accountId}`, {
                accountId: entry.accountId,
                region: entry.region,
                roleArn: entry.roleArn,
                tags: s.tags,
            });
            const role = new DrsStagingRole(
                `drs-staging-role-${entry.accountId}`,
                {
                    targetAccountId: s.target.accountId,
                    mode: entry.stagingRole,
                    partition: partitionOf(entry.region),
                    protect: s.key.protect,
                },
                { provider },
            );
            account = { provider, role };
            accounts.set(entry.accountId, account);
        }
        const { provider, role } = account;
        const name = `drs-${entry.accountId}-${entry.region}`;
        const key = new DrsCrossAccountKey(
            `${name}-key`,
            {
                stagingAccountId: entry.accountId,
                targetAccountId: s.target.accountId,
                region: entry.region,
                stagingRoleArn: role.roleArn,
                stagingRoleUniqueId: role.roleUniqueId,
                ...s.key,
            },
            { provider },
        );
        const template = entry.replication
            ? new DrsReplicationTemplate(
                  `${name}-replication`,
                  { region: entry.region, ebsEncryptionKeyArn: key.keyArn, ...entry.replication },
                  { provider },
              )
            : undefined;
        return pulumi.output({
            accountId: entry.accountId,
            region: entry.region,
            keyId: key.keyId,
            keyArn: key.keyArn,
            aliasName: key.aliasName,
            stagingRoleArn: role.roleArn,
            replicationTemplateId: template?.templateId,
        });
    });
    return pulumi.all(exports);
}

/** Target side, in its own stack: the keys come from the staging stacks' outputs. */
function readStagingStacks(s: Settings): pulumi.Output<StagingKeyExport[]> {
    const stacks = s.stagingStacks.map((stack) => {
        const ref = new pulumi.StackReference(stack);
        return pulumi
            .all([ref.getOutput("targetAccountId"), ref.getOutput("targetAccess"), ref.getOutput("stagingKeys")])
            .apply(([targetAccountId, targetAccess, stagingKeys]) => ({ stack, targetAccountId, targetAccess, stagingKeys }));
    });
    return pulumi.all(stacks).apply((outputs) => {
        try {
            return checkStagingStackOutputs(outputs, s.target, s.key.targetAccess);
        } catch (err) {
            throw err instanceof ConfigError ? new pulumi.RunError(err.message) : err;
        }
    });
}

function deployTarget(s: Settings, keys: pulumi.Output<StagingKeyExport[]>): DrsTargetKeyAccess {
    const firstRegion = s.target.regions?.[0] ?? s.stagingAccounts[0]?.region ?? "us-east-1";
    const provider = accountProvider(`aws-target-${s.target.accountId}`, {
        accountId: s.target.accountId,
        region: firstRegion,
        roleArn: s.target.roleArn,
        tags: s.tags,
    });
    return new DrsTargetKeyAccess(
        `drs-target-${s.target.accountId}`,
        {
            keyArns: keys.apply((list) => list.map((k) => k.keyArn)),
            roleNames: s.target.keyUserRoleNames,
            targetAccess: s.key.targetAccess,
            policyName: targetKeyUsePolicyName,
        },
        { provider },
    );
}

const stagingKeysOutput = settings.deploy === "target" ? undefined : deployStaging(settings);
const targetSide =
    settings.deploy === "staging" ? undefined : deployTarget(settings, stagingKeysOutput ?? readStagingStacks(settings));

/** Which side(s) this stack deployed. */
export const deploy = settings.deploy;
/** The target account the keys are shared with; the target stack checks it. */
export const targetAccountId = settings.target.accountId;
/** How much of the keys the target may use; the target stack checks it matches its own. */
export const targetAccess = settings.key.targetAccess;
/** Per staging account and Region: key ID, key ARN, alias, staging role and template. */
export const stagingKeys = stagingKeysOutput;
/** The target account's key-use policy, and the roles it is attached to. */
export const targetKeyUsePolicyArn = targetSide?.policyArn;
export const targetKeyUserRoleNames = targetSide?.attachedRoleNames;
