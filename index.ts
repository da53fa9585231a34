// The program: stack config -> one provider per account -> components -> stack outputs.
// Async so the target side can read the staging stacks' outputs, and check them, before it
// registers anything.
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, Settings, StagingKeyExport, checkStagingStackOutputs, readStackConfig } from "./components/config";
import { targetKeyUsePolicyName } from "./components/defaults";
import { DrsCrossAccountKey } from "./components/drsCrossAccountKey";
import { DrsKeyLossAlerts } from "./components/keyLossAlerts";
import { partitionOf } from "./components/policies";
import { accountProvider } from "./components/providers";
import { DrsReplicationTemplate } from "./components/replicationTemplate";
import { DrsStagingRole } from "./components/stagingRole";
import { DrsTargetKey, DrsTargetKeyAccess } from "./components/targetKeyAccess";

/** Staging side: per account a provider and the staging role; per (account, Region) a key, template and alerts. */
function deployStaging(s: Settings): { keys: DrsTargetKey[]; exports: pulumi.Output<StagingKeyExport[]> } {
    const accounts = new Map<string, { provider: ReturnType<typeof accountProvider>; role: DrsStagingRole }>();
    const built = s.stagingAccounts.map((entry) => {
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
        const alerts = s.alerts.enabled
            ? new DrsKeyLossAlerts(
                  `${name}-alerts`,
                  { accountId: entry.accountId, region: entry.region, keyArn: key.keyArn, keyId: key.keyId, topicArn: entry.alertTopicArn },
                  { provider },
              )
            : undefined;
        const exported = pulumi.output({
            accountId: entry.accountId,
            region: entry.region,
            keyId: key.keyId,
            keyArn: key.keyArn,
            aliasName: key.aliasName,
            stagingRoleArn: role.roleArn,
            replicationTemplateId: template?.templateId,
            alertTopicArn: alerts?.topicArn,
        });
        return { key: { accountId: entry.accountId, region: entry.region, keyArn: key.keyArn }, exported };
    });
    return { keys: built.map((b) => b.key), exports: pulumi.all(built.map((b) => b.exported)) };
}

/** Target side, in its own stack: the keys come from the staging stacks' outputs, checked first. */
async function readStagingStacks(s: Settings): Promise<StagingKeyExport[]> {
    const stacks = await Promise.all(
        s.stagingStacks.map(async (stack) => {
            const ref = new pulumi.StackReference(stack);
            const [targetAccountId, targetAccess, stagingKeys] = await Promise.all(
                ["targetAccountId", "targetAccess", "stagingKeys"].map(async (name) => (await ref.getOutputDetails(name)).value),
            );
            return { stack, targetAccountId, targetAccess, stagingKeys };
        }),
    );
    try {
        return checkStagingStackOutputs(stacks, s.target, s.key.targetAccess);
    } catch (err) {
        throw err instanceof ConfigError ? new pulumi.RunError(err.message) : err;
    }
}

/** Target side: the key-use policies, and the DRS launch settings of each configured Region. */
async function deployTarget(s: Settings, keys: DrsTargetKey[]): Promise<DrsTargetKeyAccess> {
    const provider = accountProvider(`aws-target-${s.target.accountId}`, {
        accountId: s.target.accountId,
        // IAM is global; the provider still needs a Region of the right partition.
        region: s.target.regions?.[0] ?? keys[0].region,
        roleArn: s.target.roleArn,
        tags: s.tags,
    });
    const access = new DrsTargetKeyAccess(
        `drs-target-${s.target.accountId}`,
        {
            keys,
            roleNames: s.target.keyUserRoleNames,
            targetAccess: s.key.targetAccess,
            policyName: targetKeyUsePolicyName,
            maxPoliciesPerRole: s.target.maxPoliciesPerRole,
        },
        { provider },
    );
    if (s.target.launch.length > 0) {
        // @pulumi/aws-native loads only for stacks that use it.
        const { DrsLaunchSettings } = await import("./components/launchSettings");
        const { nativeAccountProvider } = await import("./components/nativeProvider");
        for (const { region, ...settings } of s.target.launch) {
            const native = nativeAccountProvider(`aws-native-target-${s.target.accountId}-${region}`, {
                accountId: s.target.accountId,
                region,
                roleArn: s.target.roleArn,
                tags: s.tags,
            });
            new DrsLaunchSettings(`drs-launch-${s.target.accountId}-${region}`, settings, { provider: native });
        }
    }
    return access;
}

export = async () => {
    const settings = readStackConfig();
    const staging = settings.deploy === "target" ? undefined : deployStaging(settings);
    const referenced = settings.deploy === "target" ? await readStagingStacks(settings) : undefined;
    const target = settings.deploy === "staging" ? undefined : await deployTarget(settings, staging?.keys ?? referenced!);
    return {
        /** Which side(s) this stack deployed. */
        deploy: settings.deploy,
        /** The target account the keys are shared with; the target stack checks it. */
        targetAccountId: settings.target.accountId,
        /** How much of the keys the target may use; the target stack checks it matches its own. */
        targetAccess: settings.key.targetAccess,
        /** Per staging account and Region: key ID, key ARN, alias, staging role and template (read from the staging stacks in a target stack). */
        stagingKeys: staging?.exports ?? referenced,
        /** The target account's key-use policies, and the roles they are attached to. */
        targetKeyUsePolicyArns: target?.policyArns,
        targetKeyUserRoleNames: target?.attachedRoleNames,
    };
};
