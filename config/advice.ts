// Warnings: settings that read well but may surprise, said once each in `pulumi preview`.
import { Findings } from "./rules";
import { RawConfig, Settings } from "./schema";

/**
 * The first Pulumi CLI that imports a resource and updates what differs in one deployment:
 * pulumi/pulumi#19339 came in 3.174.0, whose `pulumi up` panics on any import (fixed by #19750 in
 * 3.175.0; both in pulumi/pulumi's CHANGELOG.md). Older CLIs stop at preview. The docs state it
 * as the minimum CLI (README.md, components/README.md; a test keeps them in step).
 */
export const importThenUpdateCli = "3.175.0";
const importThenUpdate =
    `in one deployment needs Pulumi CLI ${importThenUpdateCli} or later (pulumi/pulumi#19339 and #19750); ` +
    'older CLIs stop at preview with "inputs to import do not match the existing resource"';

// Offline, a boolean setting may be a secret the tools cannot decrypt (secretPlaceholder): a warning
// that depends on one compares with true or false, so an unknown value is neither.
export function advice(s: Settings, raw: RawConfig, found: Findings): void {
    const warn = (message: string) => found.warnings.push(message);
    const buildsStaging = s.deploy !== "target";
    const entries = s.stagingAccounts;
    entries.forEach((e, i) => {
        const path = `stagingAccounts[${i}].replication`;
        if (e.replication?.importTemplateId) {
            warn(
                `${path}.importTemplateId adopts ${e.replication.importTemplateId}: its EBS encryption becomes CUSTOM with ` +
                    `the new key, for servers added to ${e.accountId}/${e.region} later. Servers already replicating there keep their own ` +
                    "settings: `npm run -s verify` lists those not on the key and `npm run -s align-servers` moves them. " +
                    `Importing the template and updating the settings that differ ${importThenUpdate} until the config matches the template.`,
            );
        }
        if (e.replication?.retainOnDelete === false) {
            warn(
                `${path}.retainOnDelete is false: removing replication from this entry, or \`pulumi destroy\`, deletes the ` +
                    `template${e.replication.importTemplateId ? " the stack adopted" : ""} in ${e.accountId}/${e.region}, and DRS has no defaults ` +
                    "for servers added there later. Keep the default (true) unless you mean to delete it.",
            );
        }
    });
    // One warning for all entries without a replication block (a fleet may have hundreds).
    const bare = entries.flatMap((e, i) => (e.replication ? [] : [`stagingAccounts[${i}] (${e.accountId} in ${e.region})`]));
    if (bare.length > 0) {
        const listed = bare.length > 5 ? `${bare.slice(0, 5).join(", ")} and ${bare.length - 5} more` : bare.join(", ");
        warn(
            `${listed} ${bare.length === 1 ? "has" : "have"} no replication block: the key is created, but DRS does not use it ` +
                "until a replication template points at it. Add replication, or set the template's key ARN yourself.",
        );
    }
    // Each target by its key: `target`, or its item of `targets`.
    const targets = s.targets.map((target, i) => ({ target, path: raw.targets === undefined ? "target" : `targets[${i}]` }));
    for (const { target, path } of targets) {
        target.launch.forEach((launch, i) => {
            if (launch.retainOnDelete === false) {
                warn(
                    `${path}.launch[${i}].retainOnDelete is false: removing this launch entry, or \`pulumi destroy\`, deletes the launch ` +
                        `configuration template in ${launch.region}. Keep the default (true) unless you mean to delete it.`,
                );
            }
            if (launch.targetInstanceTypeRightSizingMethod === "IN_AWS") {
                warn(
                    `${path}.launch[${i}].targetInstanceTypeRightSizingMethod is IN_AWS: DRS's in-AWS features need its "Failback and in-AWS ` +
                        `right-sizing" roles (DRSCrossAccountReplicationRole_${target.accountId} and two more), created through the DRS console's ` +
                        "trusted accounts; `npm run -s verify` checks the staging accounts for them (docs/protect-every-server.md).",
                );
            }
        });
    }

    // Settings a deploy mode does not read.
    if (!buildsStaging && raw.stagingAccounts !== undefined)
        warn("stagingAccounts is ignored with deploy: target; the keys come from stagingStacks.");
    if (s.deploy !== "target" && Array.isArray(raw.stagingStacks) && raw.stagingStacks.length > 0) {
        warn(`stagingStacks is ignored with deploy: ${s.deploy}; it is read only with deploy: target.`);
    }
    if (s.deploy === "staging") {
        for (const { target, path } of targets) {
            if (target.keyUserRoleNames.length > 0)
                warn(`${path}.keyUserRoleNames is ignored with deploy: staging; the target stack attaches the key-use policy.`);
            if (target.launch.length > 0)
                warn(`${path}.launch is ignored with deploy: staging; the target stack applies the launch settings.`);
        }
        if (s.identityCenter) {
            warn(
                "identityCenter is ignored with deploy: staging; the target stack references the key-use policies from the permission sets.",
            );
        }
    } else if (!s.identityCenter) {
        for (const { target, path } of targets.filter(({ target }) => target.keyUserRoleNames.length === 0)) {
            warn(
                `${path}.keyUserRoleNames is empty: the key-use policy is created in the target account${targets.length > 1 ? ` ${target.accountId}` : ""} but attached to no role. ` +
                    "Name the roles that start recoveries and drills, or set identityCenter for people who sign in through IAM Identity Center.",
            );
        }
    }

    const key = s.key;
    if (key.enableKeyRotation === false) warn("key.enableKeyRotation is false: AWS recommends rotation for customer managed keys.");
    if (key.retainOnDelete === false) {
        warn(
            "key.retainOnDelete is false: a key that leaves the stack (an edited config, or `pulumi destroy` once key.protect is false) is " +
                "scheduled for deletion, which makes every snapshot it encrypted unrecoverable. Keep the default (true) unless you mean it.",
        );
    }
    if (key.primaryRegion && key.multiRegion === false) warn("key.primaryRegion is ignored without key.multiRegion: true.");
    if (key.primaryRegion && key.multiRegion === true && buildsStaging && !entries.some((e) => e.region === key.primaryRegion)) {
        warn(
            `key.primaryRegion ${key.primaryRegion} has no staging entry: each account's primary goes to the first of its Regions by name.`,
        );
    }
    const adopted = entries.flatMap((e, i) =>
        e.importKeyId ? [`stagingAccounts[${i}] (${e.importKeyId} in ${e.accountId}/${e.region})`] : [],
    );
    if (adopted.length > 0) {
        // What the import changes on the live key: what DrsCrossAccountKey sets (aws.kms.Key, or ReplicaKey for a replica).
        const kept =
            key.retainOnDelete === true
                ? " (key.retainOnDelete)."
                : key.retainOnDelete === false
                  ? ": but key.retainOnDelete is false."
                  : " unless key.retainOnDelete (a secret here) is false.";
        warn(
            `${adopted.join(", ")} ${adopted.length === 1 ? "adopts an existing key" : "adopt existing keys"}: the program replaces the key policy ` +
                "with its own (`pulumi preview` shows the difference), enables a disabled key, sets the description to key.description " +
                "and rotation to key.enableKeyRotation (a multi-Region replica's follows its primary), and sets the tags to the program's: " +
                "the default tags (ManagedBy, Project and `tags`) and the key's own (Purpose, TargetAccount); any other tag is removed. " +
                "It adopts an existing alias of key.alias's name. Key spec, usage and multi-Region are taken from the key. " +
                `An adopted key is never deleted by the program${kept} Importing a key and updating it ${importThenUpdate}.`,
        );
    }
    if (key.protect === false) {
        warn(
            key.retainOnDelete === true
                ? "key.protect is false: `pulumi destroy` removes the keys and staging roles from the stack; the keys stay in AWS (key.retainOnDelete)."
                : "key.protect is false: `pulumi destroy` can schedule the key's deletion, which makes every snapshot it encrypted unrecoverable.",
        );
    }
    if (s.alerts.enabled === false && buildsStaging) {
        warn(
            "alerts.enabled is false: nobody hears when a DRS key is disabled or scheduled for deletion, which makes its snapshots unrecoverable.",
        );
    }
    if (s.alerts.enabled === false && entries.some((e) => e.alertTopicArn))
        warn("stagingAccounts[].alertTopicArn is ignored with alerts.enabled: false.");
}

/**
 * What only the program says (preview, and the offline plan that runs it), of its providers:
 * accounts it deploys to without a roleArn or profile all sign in with the current credentials,
 * which are one account's, while each provider is pinned to its account, so only one of them can
 * deploy. Said once, naming them. The live commands check each account's credentials themselves.
 */
export function providerAdvice(s: Settings, listsTargets: boolean): string[] {
    const unset = (x: { roleArn?: string; profile?: string }) => !x.roleArn && !x.profile;
    const accounts = new Map<string, string>();
    const add = (accountId: string, where: string) => {
        if (!accounts.has(accountId)) accounts.set(accountId, where);
    };
    if (s.deploy !== "target") s.stagingAccounts.forEach((e, i) => (unset(e) ? add(e.accountId, `stagingAccounts[${i}]`) : undefined));
    if (s.deploy !== "staging")
        s.targets.forEach((t, i) => (unset(t) ? add(t.accountId, listsTargets ? `targets[${i}]` : "target") : undefined));
    if (s.deploy !== "staging" && s.identityCenter && !s.identityCenter.roleArn) add(s.identityCenter.accountId, "identityCenter");
    if (accounts.size < 2) return [];
    const named = [...accounts].map(([accountId, where]) => `${where} (${accountId})`);
    const listed =
        named.length > 5
            ? `${named.slice(0, 5).join(", ")} and ${named.length - 5} more`
            : `${named.slice(0, -1).join(", ")} and ${named.at(-1)}`;
    return [
        `${listed} name no roleArn or profile: their providers all use the current credentials, which are one account's, ` +
            "and each provider is pinned to its account, so at most one of them deploys. Give each account a role to assume " +
            "(stagingAccounts[].roleArn, target.roleArn) or a profile of your AWS config (stagingAccounts[].profile, target.profile, " +
            "such as an IAM Identity Center one).",
    ];
}
