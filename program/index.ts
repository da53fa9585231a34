// The program: stack config -> one provider per account -> components -> stack outputs.
// Async so the target side can read the staging stacks' outputs, and check them, before it
// registers anything.
import type { Provider } from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, Settings, StagingEntry, TargetSettings, configNamespace, readProgramSettings, targetsOfKey } from "../config";
import { targetKeyUsePolicyName } from "../components/defaults";
import { DrsCrossAccountKey } from "../components/drsCrossAccountKey";
import { discoverKeys } from "./keyDiscovery";
import { DrsKeyLossAlerts } from "../components/keyLossAlerts";
import { DrsPermissionSetKeyAccess } from "../components/permissionSetKeyAccess";
import { partitionOf, planTargetKeyUsePolicies, targetKeyUsePolicyNames } from "../components/policies";
import { drsNotInitialised } from "./prerequisites";
import { accountProvider } from "../components/providers";
import { DrsReplicationTemplate } from "../components/replicationTemplate";
import { DrsStagingRole } from "../components/stagingRole";
import { DrsTargetKey, DrsTargetKeyAccess } from "../components/targetKeyAccess";
import { checkStagingStackOutputs, StagingKeyExport, wayBackOf } from "./contract";

/**
 * Staging side: per account a provider and the staging role; per (account, Region) a key, template
 * and alerts. Every staging account must have DRS initialised before any key names its role.
 */
async function deployStaging(s: Settings): Promise<{ keys: ServedKey[]; exports: pulumi.Output<StagingKeyExport[]> }> {
    // Entries of one account agree on its role and staging-role mode (checked by the config).
    const accounts = new Map<string, { provider: Provider; regions: string[]; stagingRole: StagingEntry["stagingRole"] }>();
    for (const entry of s.stagingAccounts) {
        const account = accounts.get(entry.accountId);
        if (account) account.regions.push(entry.region);
        else {
            const provider = accountProvider(`aws-staging-${entry.accountId}`, {
                accountId: entry.accountId,
                region: entry.region,
                roleArn: entry.roleArn,
                profile: entry.profile,
                tags: s.tags,
            });
            accounts.set(entry.accountId, { provider, regions: [entry.region], stagingRole: entry.stagingRole });
        }
    }
    const problems = await Promise.all(
        [...accounts].map(([accountId, { provider, regions }]) => drsNotInitialised(accountId, regions, provider)),
    );
    const missing = problems.filter((p): p is string => p !== undefined);
    if (missing.length > 0) throw new pulumi.RunError(missing.join("\n"));

    // Per staging account, DRSStagingAccountRole_<target> for each target that recovers one of its Regions.
    const roles = new Map(
        [...accounts].map(([accountId, { provider, regions, stagingRole }]) => {
            const served = s.targets.filter((target) => regions.some((region) => targetsOfKey([target], { region }).length > 0));
            const byTarget = served.map((target): [string, DrsStagingRole] => {
                const { name, aliases } = stagingRoleOptions(s, accountId, target.accountId);
                const args = {
                    targetAccountId: target.accountId,
                    mode: stagingRole,
                    partition: partitionOf(regions[0]),
                    protect: s.key.protect,
                };
                return [target.accountId, new DrsStagingRole(name, args, { provider, aliases })];
            });
            return [accountId, new Map(byTarget)];
        }),
    );
    const entries = s.stagingAccounts;
    const { plan, adopted, aliasExists } = await lookUpKeys(s, (accountId) => accounts.get(accountId)!.provider);
    // Primaries before their replicas, which take the primary's ARN.
    const keys: DrsCrossAccountKey[] = [];
    const order = entries
        .map((_, i) => i)
        .sort((a, b) => Number(plan.keys[a].kind === "replica") - Number(plan.keys[b].kind === "replica"));
    for (const i of order) {
        const entry = entries[i];
        const planned = plan.keys[i];
        const [first, ...others] = targetsOfKey(s.targets, entry).map(({ accountId }) => ({
            targetAccountId: accountId,
            role: roles.get(entry.accountId)!.get(accountId)!,
        }));
        keys[i] = new DrsCrossAccountKey(
            `drs-${entry.accountId}-${entry.region}-key`,
            {
                stagingAccountId: entry.accountId,
                targetAccountId: first.targetAccountId,
                region: entry.region,
                stagingRoleArn: first.role.roleArn,
                stagingRoleUniqueId: first.role.roleUniqueId,
                additionalTargets:
                    others.length > 0
                        ? others.map(({ targetAccountId, role }) => ({
                              targetAccountId,
                              stagingRoleArn: role.roleArn,
                              stagingRoleUniqueId: role.roleUniqueId,
                          }))
                        : undefined,
                targetAccess: s.key.targetAccess,
                alias: s.key.alias,
                description: s.key.description,
                deletionWindowInDays: s.key.deletionWindowInDays,
                enableKeyRotation: s.key.enableKeyRotation,
                protect: s.key.protect,
                retainOnDelete: s.key.retainOnDelete,
                importKeyId: adopted[i]?.keyId,
                importAlias: adopted[i] !== undefined && aliasExists[i],
                multiRegion: planned.kind === "primary",
                primaryKeyArn: planned.kind === "replica" ? (planned.primaryArn ?? keys[planned.primaryEntry!].keyArn) : undefined,
            },
            { provider: accounts.get(entry.accountId)!.provider },
        );
    }
    const built = entries.map((entry, i) => {
        const provider = accounts.get(entry.accountId)!.provider;
        const served = targetsOfKey(s.targets, entry).map(({ accountId }) => accountId);
        const roleOf = (target: string) => roles.get(entry.accountId)!.get(target)!.roleArn;
        const name = `drs-${entry.accountId}-${entry.region}`;
        const key = keys[i];
        const kind = plan.keys[i].kind;
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
                  {
                      accountId: entry.accountId,
                      region: entry.region,
                      keyArn: key.keyArn,
                      keyId: key.keyId,
                      topicArn: entry.alertTopicArn,
                      // The roles this key's policy names: deleting or changing one breaks its recoveries.
                      stagingRoleNames: served.map((target) => roles.get(entry.accountId)!.get(target)!.roleName),
                  },
                  { provider },
              )
            : undefined;
        const exported = pulumi.output({
            accountId: entry.accountId,
            region: entry.region,
            keyId: key.keyId,
            keyArn: key.keyArn,
            aliasName: key.aliasName,
            stagingRoleArn: roleOf(served[0]),
            replicationTemplateId: template?.templateId,
            alertTopicArn: alerts?.topicArn,
            ...(kind === "single-Region" ? {} : { multiRegionKey: kind }),
            ...(entry.failback ? { wayBack: wayBackOf(entry) } : {}),
            // With several targets: whom this key serves, and each one's staging role.
            ...(s.targets.length > 1
                ? { targetAccountIds: served, stagingRoleArns: Object.fromEntries(served.map((t) => [t, roleOf(t)])) }
                : {}),
        });
        return { key: { accountId: entry.accountId, region: entry.region, keyArn: key.keyArn, targetAccountIds: served }, exported };
    });
    return { keys: built.map((b) => b.key), exports: pulumi.all(built.map((b) => b.exported)) };
}

/** A staging key, with the targets it serves. */
type ServedKey = DrsTargetKey & { targetAccountIds: string[] };

/**
 * A staging role's resource name: with one target, the name it had before several targets were
 * possible; with several, each role's own. The first target's role is aliased to its name in the
 * other shape, so a stack goes from one target to several (listing the existing one first) and back
 * without replacing it.
 */
function stagingRoleOptions(s: Settings, accountId: string, targetAccountId: string): { name: string; aliases: pulumi.Alias[] } {
    const alone = `drs-staging-role-${accountId}`;
    const own = `${alone}-${targetAccountId}`;
    if (s.targets.length === 1) return { name: alone, aliases: [{ name: own }] };
    return { name: own, aliases: targetAccountId === s.targets[0].accountId ? [{ name: alone }] : [] };
}

/**
 * What exists of the staging keys (adopted keys, and for multi-Region keys what each alias points
 * to), and each entry's key: single-Region, primary or replica. Stops with every problem at once.
 */
async function lookUpKeys(s: Settings, providerOf: (accountId: string) => Provider) {
    const discovered = await discoverKeys(
        s.stagingAccounts.map((e) => ({
            accountId: e.accountId,
            region: e.region,
            importKeyId: e.importKeyId,
            provider: providerOf(e.accountId),
        })),
        { alias: s.key.alias, multiRegion: s.key.multiRegion, primaryRegion: s.key.primaryRegion },
    );
    for (const note of discovered.notes) pulumi.log.warn(note);
    if (discovered.problems.length > 0) {
        const where = (i: number) => `${configNamespace}:stagingAccounts[${i}]${s.stagingAccounts[i].importKeyId ? ".importKeyId" : ""}`;
        throw new pulumi.RunError(discovered.problems.map((p) => `${where(p.entry)} ${p.message}`).join("\n"));
    }
    return discovered;
}

/** Target side, in its own stack: the keys come from the staging stacks' outputs, checked first. */
async function readStagingStacks(s: Settings): Promise<StagingKeyExport[]> {
    const stacks = await Promise.all(
        s.stagingStacks.map(async (stack) => {
            const ref = new pulumi.StackReference(stack);
            const [targetAccountId, targetAccountIds, targetAccess, stagingKeys] = await Promise.all(
                ["targetAccountId", "targetAccountIds", "targetAccess", "stagingKeys"].map(
                    async (name) => (await ref.getOutputDetails(name)).value,
                ),
            );
            return { stack, targetAccountId, targetAccountIds, targetAccess, stagingKeys };
        }),
    );
    try {
        return checkStagingStackOutputs(stacks, s.target, s.key.targetAccess);
    } catch (err) {
        throw err instanceof ConfigError ? new pulumi.RunError(err.message) : err;
    }
}

/**
 * Target side, per target with its own provider: the key-use policies of the keys that serve it,
 * and its DRS launch settings; then the Identity Center permission sets, once.
 */
async function deployTargets(s: Settings, keys: ServedKey[]): Promise<DrsTargetKeyAccess[]> {
    const built: DrsTargetKeyAccess[] = [];
    for (const target of s.targets) {
        built.push(
            await deployTarget(
                s,
                target,
                keys.filter((key) => key.targetAccountIds.includes(target.accountId)),
            ),
        );
    }
    if (s.identityCenter) {
        const ic = s.identityCenter;
        const provider = accountProvider(`aws-identity-center-${ic.accountId}`, {
            accountId: ic.accountId,
            region: ic.region,
            roleArn: ic.roleArn,
            tags: s.tags,
        });
        // The same plan as DrsTargetKeyAccess's split: a permission set names each policy (the config
        // checks that every target splits into as many).
        const keysOfFirst = keys.filter((key) => key.targetAccountIds.includes(s.target.accountId));
        const count = planTargetKeyUsePolicies({
            keys: keysOfFirst,
            targetAccess: s.key.targetAccess,
            maxPolicies: s.target.maxPoliciesPerRole,
        }).length;
        new DrsPermissionSetKeyAccess(
            `drs-identity-center-${ic.accountId}`,
            {
                instanceArn: ic.instanceArn,
                permissionSetArns: ic.permissionSetArns,
                policyNames: targetKeyUsePolicyNames(targetKeyUsePolicyName, count),
            },
            // The policies must exist in every target before a permission set that names them is provisioned.
            { provider, dependsOn: built },
        );
    }
    return built;
}

/** One target's key-use policies and launch settings. */
async function deployTarget(s: Settings, target: TargetSettings, keys: DrsTargetKey[]): Promise<DrsTargetKeyAccess> {
    const provider = accountProvider(`aws-target-${target.accountId}`, {
        accountId: target.accountId,
        // IAM is global; the provider still needs a Region of the right partition.
        region: target.regions?.[0] ?? keys[0].region,
        roleArn: target.roleArn,
        profile: target.profile,
        tags: s.tags,
    });
    const access = new DrsTargetKeyAccess(
        `drs-target-${target.accountId}`,
        {
            keys,
            roleNames: target.keyUserRoleNames,
            targetAccess: s.key.targetAccess,
            policyName: targetKeyUsePolicyName,
            maxPoliciesPerRole: target.maxPoliciesPerRole,
        },
        { provider },
    );
    if (target.launch.length > 0) {
        // @pulumi/aws-native loads only for stacks that use it.
        const { DrsLaunchSettings } = await import("../components/launchSettings");
        const { nativeAccountProvider } = await import("../components/nativeProvider");
        for (const { region, ...settings } of target.launch) {
            const native = nativeAccountProvider(`aws-native-target-${target.accountId}-${region}`, {
                accountId: target.accountId,
                region,
                roleArn: target.roleArn,
                profile: target.profile,
                tags: s.tags,
            });
            new DrsLaunchSettings(`drs-launch-${target.accountId}-${region}`, settings, { provider: native });
        }
    }
    return access;
}

/** The whole program: the staging side, the target side or both (`deploy`), and the stack's outputs. */
export async function deployStacks() {
    const settings = readProgramSettings();
    const staging = settings.deploy === "target" ? undefined : await deployStaging(settings);
    const referenced = settings.deploy === "target" ? await readStagingStacks(settings) : undefined;
    const served = staging?.keys ?? referenced!.map((key) => ({ ...key, targetAccountIds: [settings.target.accountId] }));
    const targets = settings.deploy === "staging" ? undefined : await deployTargets(settings, served);
    const several = settings.targets.length > 1;
    return {
        /** Which side(s) this stack deployed. */
        deploy: settings.deploy,
        /** The target account the keys are shared with (the first, with several); the target stack checks it. */
        targetAccountId: settings.target.accountId,
        /** With several targets: every target account; a target stack accepts this stack if it is one of them. */
        ...(several ? { targetAccountIds: settings.targets.map((t) => t.accountId) } : {}),
        /** How much of the keys the target may use; the target stack checks it matches its own. */
        targetAccess: settings.key.targetAccess,
        /** Per staging account and Region: key ID, key ARN, alias, staging role and template (read from the staging stacks in a target stack). */
        stagingKeys: staging?.exports ?? referenced,
        /** The target account's key-use policies, and the roles they are attached to (the first target's, with several). */
        targetKeyUsePolicyArns: targets?.[0].policyArns,
        targetKeyUserRoleNames: targets?.[0].attachedRoleNames,
        /** With several targets: each one's key-use policies and roles. */
        ...(several && targets
            ? {
                  targetKeyAccess: targets.map((access, i) => ({
                      accountId: settings.targets[i].accountId,
                      policyArns: access.policyArns,
                      roleNames: access.attachedRoleNames,
                  })),
              }
            : {}),
    };
}
