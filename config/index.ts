// Stack config -> typed, validated settings. Every problem is reported at once, each naming its
// config key and the fix, before any resource is registered.
import * as pulumi from "@pulumi/pulumi";
import {
    TargetAccess,
    isAccountId,
    isKnownRegion,
    KeyPlacement,
    isIdentityCenterRole,
    isServiceLinkedRole,
    limits,
    parseIdentityCenterInstanceArn,
    parseKeyArn,
    parsePermissionSetArn,
    partitionOf,
    parseRoleArn,
    planTargetKeyUsePolicies,
    targetAccessModes,
} from "../components/policies";
import {
    LaunchDisposition,
    RightSizingMethod,
    StagingRoleMode,
    keyDefaults,
    replicationDefaults,
    stagingRoleModes,
} from "../components/defaults";

export const configNamespace = "drs-cross-account-kms";

export type DeployMode = "all" | "staging" | "target";

export interface ReplicationSettings {
    stagingAreaSubnetId: string;
    associateDefaultSecurityGroup: boolean;
    bandwidthThrottling: number;
    createPublicIp: boolean;
    dataPlaneRouting: string;
    defaultLargeStagingDiskType: string;
    replicationServerInstanceType: string;
    useDedicatedReplicationServer: boolean;
    replicationServersSecurityGroupsIds: string[];
    stagingAreaTags: Record<string, string>;
    /** Retention of the daily point-in-time snapshots (the only PIT setting DRS lets change). */
    pitRetentionDays: number;
    autoReplicateNewDisks?: boolean;
    /** Adopt this existing template (rct-...) instead of creating one. */
    importTemplateId?: string;
    /** Keep the template in AWS when it leaves the stack (default true). */
    retainOnDelete: boolean;
}

export interface StagingEntry {
    accountId: string;
    region: string;
    roleArn?: string;
    stagingRole: StagingRoleMode;
    replication?: ReplicationSettings;
    /** An existing SNS topic for this key's key-loss alerts; default: one is created. */
    alertTopicArn?: string;
    /** Adopt this existing key (its key ID: a UUID or mrk-...) instead of creating one. */
    importKeyId?: string;
}

export interface TargetSettings {
    accountId: string;
    roleArn?: string;
    /** Recovery Regions, as configured; undefined means every staging Region. */
    regions?: string[];
    /** Names of the target roles the key-use policy is attached to. */
    keyUserRoleNames: string[];
    /** Managed policies a role may hold (IAM quota, default 10). */
    maxPoliciesPerRole: number;
    /** DRS launch settings per recovery Region (aws-native). */
    launch: LaunchSettings[];
}

export interface LaunchSettings {
    region: string;
    copyPrivateIp?: boolean;
    copyTags?: boolean;
    launchDisposition?: LaunchDisposition;
    launchIntoSourceInstance?: boolean;
    osByol?: boolean;
    targetInstanceTypeRightSizingMethod?: RightSizingMethod;
    postLaunchEnabled?: boolean;
    exportBucketArn?: string;
    importTemplateId?: string;
    /** Keep the template in AWS when it leaves the stack (default true). */
    retainOnDelete: boolean;
}

export interface KeySettings {
    alias: string;
    description: string;
    deletionWindowInDays: number;
    enableKeyRotation: boolean;
    protect: boolean;
    /** Keep keys and aliases in AWS when they leave the stack (default true). */
    retainOnDelete: boolean;
    /** New keys are multi-Region: a primary per staging account, replicas in its other Regions. */
    multiRegion: boolean;
    /** Where a new multi-Region family's primary goes, for accounts with an entry there. */
    primaryRegion?: string;
    targetAccess: TargetAccess;
}

export interface AlertSettings {
    /** Alert on DisableKey, ScheduleKeyDeletion and PutKeyPolicy of each DRS key. */
    enabled: boolean;
}

/** IAM Identity Center: permission sets that reference the target's key-use policies. */
export interface IdentityCenterSettings {
    /** The account that administers the Identity Center instance (management or delegated administrator). */
    accountId: string;
    /** The instance's Region. */
    region: string;
    roleArn?: string;
    instanceArn: string;
    permissionSetArns: string[];
}

export interface Settings {
    deploy: DeployMode;
    alerts: AlertSettings;
    target: TargetSettings;
    stagingAccounts: StagingEntry[];
    key: KeySettings;
    stagingStacks: string[];
    /** Extra default tags on every resource. */
    tags: Record<string, string>;
    identityCenter?: IdentityCenterSettings;
}

export interface ParsedConfig {
    settings: Settings;
    warnings: string[];
}

/** Raw config values by key (without the namespace), objects already parsed from JSON. */
export type RawConfig = Record<string, unknown>;

export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(
            `Invalid stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

const topLevelKeys = ["deploy", "target", "stagingAccounts", "key", "alerts", "stagingStacks", "tags", "identityCenter"];
const deployModes: DeployMode[] = ["all", "staging", "target"];

/** Parses and validates raw config; throws one ConfigError listing every problem. */
export function parseConfig(raw: RawConfig): ParsedConfig {
    const v = new Validator();
    for (const key of Object.keys(raw)) {
        if (!topLevelKeys.includes(key)) v.error(key, `is not a setting of this program. Known keys: ${topLevelKeys.join(", ")}.`);
    }
    const deploy = v.oneOf("deploy", raw.deploy ?? "all", deployModes);
    const target = parseTarget(v, raw.target);
    const key = parseKey(v, raw.key);
    const tags = v.stringMap("tags", raw.tags ?? {});
    const alertsRaw = v.object("alerts", raw.alerts ?? {}, ["enabled"], false);
    const alerts = { enabled: v.boolean("alerts.enabled", alertsRaw.enabled ?? true) };
    const buildsStaging = deploy !== "target";
    const stagingAccounts = buildsStaging ? parseStagingAccounts(v, raw.stagingAccounts, target.accountId) : [];
    const stagingStacks = deploy === "target" ? parseStagingStacks(v, raw.stagingStacks) : [];
    const identityCenter = raw.identityCenter === undefined ? undefined : parseIdentityCenter(v, raw.identityCenter);

    if (!buildsStaging && raw.stagingAccounts !== undefined) {
        v.warn("stagingAccounts is ignored with deploy: target; the keys come from stagingStacks.");
    }
    if (deploy !== "target" && raw.stagingStacks !== undefined) {
        v.warn(`stagingStacks is ignored with deploy: ${deploy}; it is read only with deploy: target.`);
    }
    if (deploy === "staging" && target.keyUserRoleNames.length > 0) {
        v.warn("target.keyUserRoleNames is ignored with deploy: staging; the target stack attaches the key-use policy.");
    }
    if (deploy !== "staging" && target.keyUserRoleNames.length === 0 && !identityCenter) {
        v.warn(
            "target.keyUserRoleNames is empty: the key-use policy is created in the target account but attached to no role. " +
                "Name the roles that start recoveries and drills, or set identityCenter for people who sign in through IAM Identity Center.",
        );
    }
    if (deploy === "staging" && identityCenter) {
        v.warn(
            "identityCenter is ignored with deploy: staging; the target stack references the key-use policies from the permission sets.",
        );
    }
    if (buildsStaging && target.regions) checkRecoveryRegions(v, target.regions, stagingAccounts);
    checkLaunchRegions(v, target, buildsStaging ? stagingAccounts.map((e) => e.region) : undefined);
    if (deploy === "staging" && target.launch.length > 0) {
        v.warn("target.launch is ignored with deploy: staging; the target stack applies the launch settings.");
    }
    if (deploy === "all" && v.errors.length === 0) {
        checkPolicyPlan(target, key.targetAccess, stagingAccounts, (message) => v.error("stagingAccounts", message));
    }
    if (!key.enableKeyRotation) v.warn("key.enableKeyRotation is false: AWS recommends rotation for customer managed keys.");
    if (!key.retainOnDelete) {
        v.warn(
            "key.retainOnDelete is false: a key that leaves the stack (an edited config, or `pulumi destroy` once key.protect is false) is " +
                "scheduled for deletion, which makes every snapshot it encrypted unrecoverable. Keep the default (true) unless you mean it.",
        );
    }
    if (key.primaryRegion && !key.multiRegion) v.warn("key.primaryRegion is ignored without key.multiRegion: true.");
    if (key.primaryRegion && key.multiRegion && buildsStaging && !stagingAccounts.some((e) => e.region === key.primaryRegion)) {
        v.warn(
            `key.primaryRegion ${key.primaryRegion} has no staging entry: each account's primary goes to the first of its Regions by name.`,
        );
    }
    const adopted = stagingAccounts.flatMap((e, i) =>
        e.importKeyId ? [`stagingAccounts[${i}] (${e.importKeyId} in ${e.accountId}/${e.region})`] : [],
    );
    if (adopted.length > 0) {
        v.warn(
            `${adopted.join(", ")} ${adopted.length === 1 ? "adopts an existing key" : "adopt existing keys"}: the program replaces the key policy ` +
                "with its own (`pulumi preview` shows the difference), applies tags and rotation, and adopts an existing alias of key.alias's name. " +
                "Key spec, usage and multi-Region are taken from the key. An adopted key is never deleted by the program" +
                (key.retainOnDelete ? " (key.retainOnDelete)." : ": but key.retainOnDelete is false."),
        );
    }
    if (!key.protect) {
        v.warn(
            "key.protect is false: `pulumi destroy` can schedule the key's deletion, which makes every snapshot it encrypted unrecoverable.",
        );
    }
    v.throwIfErrors();
    if (!alerts.enabled && buildsStaging) {
        v.warn(
            "alerts.enabled is false: nobody hears when a DRS key is disabled or scheduled for deletion, which makes its snapshots unrecoverable.",
        );
    }
    if (!alerts.enabled && stagingAccounts.some((e) => e.alertTopicArn))
        v.warn("stagingAccounts[].alertTopicArn is ignored with alerts.enabled: false.");
    return { settings: { deploy, alerts, target, stagingAccounts, key, stagingStacks, tags, identityCenter }, warnings: v.warnings };
}

function parseTarget(v: Validator, raw: unknown): TargetSettings {
    if (raw === undefined) {
        v.error("target", 'is required: at least { accountId: "<12 digits>" } of the recovery account.');
        return { accountId: "", keyUserRoleNames: [], maxPoliciesPerRole: limits.managedPoliciesPerRole, launch: [] };
    }
    const obj = v.object("target", raw, ["accountId", "roleArn", "regions", "keyUserRoleNames", "maxPoliciesPerRole", "launch"], true);
    const accountId = v.accountId("target.accountId", obj.accountId);
    const roleArn = v.roleArn("target.roleArn", obj.roleArn, accountId);
    const regions = obj.regions === undefined ? undefined : v.regions("target.regions", obj.regions);
    const keyUserRoleNames = v
        .stringList("target.keyUserRoleNames", obj.keyUserRoleNames ?? [])
        .map((role, i) => v.keyUserRoleName(`target.keyUserRoleNames[${i}]`, role, accountId));
    v.unique("target.keyUserRoleNames", keyUserRoleNames);
    const maxPoliciesPerRole = v.integer("target.maxPoliciesPerRole", obj.maxPoliciesPerRole ?? limits.managedPoliciesPerRole, 1, 20);
    const launch = parseLaunch(v, obj.launch);
    return { accountId, roleArn, regions, keyUserRoleNames, maxPoliciesPerRole, launch };
}

/** identityCenter: the Identity Center instance, its administering account, and the permission sets to reference the policies from. */
function parseIdentityCenter(v: Validator, raw: unknown): IdentityCenterSettings {
    const path = "identityCenter";
    const obj = v.object(path, raw, ["accountId", "region", "roleArn", "instanceArn", "permissionSetArns"], true);
    const accountId = v.accountId(`${path}.accountId`, obj.accountId);
    const region = v.region(`${path}.region`, obj.region);
    const roleArn = v.roleArn(`${path}.roleArn`, obj.roleArn, accountId);
    const instanceArn = v.string(`${path}.instanceArn`, obj.instanceArn);
    const instance = parseIdentityCenterInstanceArn(instanceArn);
    if (instanceArn && !instance) {
        v.error(
            `${path}.instanceArn`,
            `"${instanceArn}" is not an IAM Identity Center instance ARN (arn:aws:sso:::instance/ssoins-<16 characters>).`,
        );
    }
    const permissionSetArns = v.stringList(`${path}.permissionSetArns`, obj.permissionSetArns);
    if (Array.isArray(obj.permissionSetArns) && obj.permissionSetArns.length === 0) {
        v.error(`${path}.permissionSetArns`, "is empty: list the permission sets of the people who run recoveries and drills.");
    }
    permissionSetArns.forEach((arn, i) => {
        const permissionSet = parsePermissionSetArn(arn);
        if (!permissionSet) {
            v.error(
                `${path}.permissionSetArns[${i}]`,
                `"${arn}" is not a permission set ARN (arn:aws:sso:::permissionSet/ssoins-.../ps-...).`,
            );
        } else if (instance && permissionSet.instanceId !== instance.instanceId) {
            v.error(
                `${path}.permissionSetArns[${i}]`,
                `belongs to instance ${permissionSet.instanceId}, not ${instance.instanceId} (instanceArn).`,
            );
        }
    });
    v.unique(`${path}.permissionSetArns`, permissionSetArns);
    if (instance && isKnownRegion(region) && instance.partition !== partitionOf(region)) {
        v.error(
            `${path}.instanceArn`,
            `is in partition ${instance.partition}, but ${region} is in ${partitionOf(region)}: nothing crosses partitions.`,
        );
    }
    return { accountId, region, roleArn, instanceArn, permissionSetArns };
}

const launchKeys = [
    "region",
    "copyPrivateIp",
    "copyTags",
    "launchDisposition",
    "launchIntoSourceInstance",
    "osByol",
    "targetInstanceTypeRightSizingMethod",
    "postLaunchEnabled",
    "exportBucketArn",
    "importTemplateId",
    "retainOnDelete",
];

/** target.launch: a list of DRS launch settings, one per recovery Region. */
function parseLaunch(v: Validator, raw: unknown): LaunchSettings[] {
    if (raw === undefined) return [];
    if (!Array.isArray(raw)) {
        v.error("target.launch", "must be a list of { region, ... } launch settings, one per recovery Region.");
        return [];
    }
    const settings = raw.map((item, i) => {
        const path = `target.launch[${i}]`;
        const obj = v.object(path, item, launchKeys, true);
        const optional = <T>(key: string, parse: (k: string, value: unknown) => T): T | undefined =>
            obj[key] === undefined ? undefined : parse(`${path}.${key}`, obj[key]);
        const exportBucketArn = optional("exportBucketArn", (k, value) => v.string(k, value));
        if (exportBucketArn && !/^arn:(aws|aws-cn|aws-us-gov):s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(exportBucketArn)) {
            v.error(`${path}.exportBucketArn`, `"${exportBucketArn}" is not an S3 bucket ARN (arn:aws:s3:::<bucket>).`);
        }
        const importTemplateId = optional("importTemplateId", (k, value) => v.string(k, value));
        if (importTemplateId && !/^lct-[0-9a-zA-Z]{17}$/.test(importTemplateId)) {
            v.error(
                `${path}.importTemplateId`,
                `"${importTemplateId}" is not a launch configuration template ID (lct- and 17 characters).`,
            );
        }
        const bool = (k: string, value: unknown) => v.boolean(k, value);
        return {
            region: v.region(`${path}.region`, obj.region),
            copyPrivateIp: optional("copyPrivateIp", bool),
            copyTags: optional("copyTags", bool),
            launchDisposition: optional("launchDisposition", (k, value) => v.oneOf(k, value, Object.values(LaunchDisposition))),
            launchIntoSourceInstance: optional("launchIntoSourceInstance", bool),
            osByol: optional("osByol", bool),
            targetInstanceTypeRightSizingMethod: optional("targetInstanceTypeRightSizingMethod", (k, value) =>
                v.oneOf(k, value, Object.values(RightSizingMethod)),
            ),
            postLaunchEnabled: optional("postLaunchEnabled", bool),
            exportBucketArn,
            importTemplateId,
            retainOnDelete: v.boolean(`${path}.retainOnDelete`, obj.retainOnDelete ?? true),
        };
    });
    settings.forEach((launch, i) => {
        if (!launch.retainOnDelete) {
            v.warn(
                `target.launch[${i}].retainOnDelete is false: removing this launch entry, or \`pulumi destroy\`, deletes the launch ` +
                    `configuration template in ${launch.region}. Keep the default (true) unless you mean to delete it.`,
            );
        }
    });
    v.unique(
        "target.launch",
        settings.map((s) => s.region),
    );
    return settings;
}

function parseKey(v: Validator, raw: unknown): KeySettings {
    const obj = v.object("key", raw ?? {}, [...Object.keys(keyDefaults), "primaryRegion"], false);
    const alias = v.string("key.alias", obj.alias ?? keyDefaults.alias);
    if (alias && (!/^alias\/[a-zA-Z0-9/_-]{1,250}$/.test(alias) || alias.startsWith("alias/aws/"))) {
        v.error("key.alias", `"${alias}" is not a valid alias. Use alias/<name> with letters, digits, /, _ or -, not under alias/aws/.`);
    }
    return {
        alias,
        description: v.string("key.description", obj.description ?? keyDefaults.description),
        deletionWindowInDays: v.integer("key.deletionWindowInDays", obj.deletionWindowInDays ?? keyDefaults.deletionWindowInDays, 7, 30),
        enableKeyRotation: v.boolean("key.enableKeyRotation", obj.enableKeyRotation ?? keyDefaults.enableKeyRotation),
        protect: v.boolean("key.protect", obj.protect ?? keyDefaults.protect),
        retainOnDelete: v.boolean("key.retainOnDelete", obj.retainOnDelete ?? keyDefaults.retainOnDelete),
        multiRegion: v.boolean("key.multiRegion", obj.multiRegion ?? keyDefaults.multiRegion),
        primaryRegion: obj.primaryRegion === undefined ? undefined : v.region("key.primaryRegion", obj.primaryRegion),
        targetAccess: v.oneOf("key.targetAccess", obj.targetAccess ?? keyDefaults.targetAccess, targetAccessModes),
    };
}

function parseStagingAccounts(v: Validator, raw: unknown, targetAccountId: string): StagingEntry[] {
    if (raw === undefined || (Array.isArray(raw) && raw.length === 0)) {
        v.error("stagingAccounts", "is required: list one entry per staging account and Region ({ accountId, region }).");
        return [];
    }
    if (!Array.isArray(raw)) {
        v.error("stagingAccounts", "must be a list of { accountId, region } entries.");
        return [];
    }
    const entries = raw.map((item, i) => parseStagingEntry(v, `stagingAccounts[${i}]`, item, targetAccountId));
    warnWithoutReplication(v, entries);
    const seen = new Map<string, number>();
    const byAccount = new Map<string, { index: number; entry: StagingEntry }>();
    entries.forEach((entry, i) => {
        const id = `${entry.accountId}/${entry.region}`;
        const first = seen.get(id);
        if (first !== undefined) {
            v.error(
                `stagingAccounts[${i}]`,
                `repeats account ${entry.accountId} in ${entry.region} (stagingAccounts[${first}]): one key per account and Region. Remove one entry.`,
            );
        } else {
            seen.set(id, i);
        }
        const other = byAccount.get(entry.accountId);
        if (!other) {
            byAccount.set(entry.accountId, { index: i, entry });
            return;
        }
        // One provider and one staging role per account: its entries must agree on both.
        if (other.entry.roleArn !== entry.roleArn) {
            v.error(
                `stagingAccounts[${i}].roleArn`,
                `differs from stagingAccounts[${other.index}].roleArn for the same account ${entry.accountId}. Use one role per account.`,
            );
        }
        if (other.entry.stagingRole !== entry.stagingRole) {
            v.error(
                `stagingAccounts[${i}].stagingRole`,
                `differs from stagingAccounts[${other.index}].stagingRole for the same account ${entry.accountId}: the staging role exists once per account.`,
            );
        }
    });
    checkImportedKeys(v, entries);
    return entries;
}

/** A key belongs to one account, and unless it is multi-Region (one ID in several Regions), to one Region. */
function checkImportedKeys(v: Validator, entries: StagingEntry[]): void {
    const first = new Map<string, number>();
    entries.forEach((entry, i) => {
        if (!entry.importKeyId) return;
        const earlier = first.get(entry.importKeyId);
        if (earlier === undefined) {
            first.set(entry.importKeyId, i);
            return;
        }
        const other = entries[earlier];
        if (!entry.importKeyId.startsWith("mrk-") || other.accountId !== entry.accountId) {
            v.error(
                `stagingAccounts[${i}].importKeyId`,
                `names the key of stagingAccounts[${earlier}] (${other.accountId}/${other.region}) too: a key belongs to one account and, unless it is multi-Region (mrk-...), to one Region.`,
            );
        }
    });
}

/** One warning for all entries without a replication block (a fleet may have hundreds). */
function warnWithoutReplication(v: Validator, entries: StagingEntry[]): void {
    const names = entries.flatMap((e, i) => (e.replication ? [] : [`stagingAccounts[${i}] (${e.accountId} in ${e.region})`]));
    if (names.length === 0) return;
    const listed = names.length > 5 ? `${names.slice(0, 5).join(", ")} and ${names.length - 5} more` : names.join(", ");
    v.warn(
        `${listed} ${names.length === 1 ? "has" : "have"} no replication block: the key is created, but DRS does not use it ` +
            `until a replication template points at it. Add replication, or set the template's key ARN yourself.`,
    );
}

function parseStagingEntry(v: Validator, path: string, raw: unknown, targetAccountId: string): StagingEntry {
    const obj = v.object(path, raw, ["accountId", "region", "roleArn", "stagingRole", "replication", "alertTopicArn", "importKeyId"], true);
    const accountId = v.accountId(`${path}.accountId`, obj.accountId);
    if (accountId && accountId === targetAccountId) {
        v.error(
            `${path}.accountId`,
            `is the target account ${targetAccountId}. A staging account replicates for a different (target) account; use another account.`,
        );
    }
    const region = v.region(`${path}.region`, obj.region);
    const roleArn = v.roleArn(`${path}.roleArn`, obj.roleArn, accountId);
    const stagingRole = v.oneOf(`${path}.stagingRole`, obj.stagingRole ?? "create", stagingRoleModes);
    const replication = obj.replication === undefined ? undefined : parseReplication(v, `${path}.replication`, obj.replication);
    const alertTopicArn = obj.alertTopicArn === undefined ? undefined : v.string(`${path}.alertTopicArn`, obj.alertTopicArn);
    if (alertTopicArn) {
        const topic = /^arn:(aws|aws-cn|aws-us-gov):sns:([a-z0-9-]+):(\d{12}):[\w-]{1,256}$/.exec(alertTopicArn);
        if (!topic) v.error(`${path}.alertTopicArn`, `"${alertTopicArn}" is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>).`);
        else if (topic[2] !== region || topic[3] !== accountId) {
            v.error(
                `${path}.alertTopicArn`,
                `is in ${topic[3]}/${topic[2]}: EventBridge delivers to a topic in the rule's own account and Region (${accountId}/${region}).`,
            );
        }
    }
    if (replication?.importTemplateId) {
        v.warn(
            `${path}.replication.importTemplateId adopts ${replication.importTemplateId}: its EBS encryption becomes CUSTOM with ` +
                `the new key, for servers added to ${accountId}/${region} later. Servers already replicating there keep their own ` +
                `settings: \`npm run -s verify\` lists those not on the key and \`npm run -s align-servers\` moves them. ` +
                `Current Pulumi CLIs (since pulumi/pulumi#19339, 2025) import the template and then update the settings that differ; ` +
                `older CLIs fail with "inputs to import do not match the existing resource" until the config matches the template.`,
        );
    }
    if (replication?.retainOnDelete === false) {
        v.warn(
            `${path}.replication.retainOnDelete is false: removing replication from this entry, or \`pulumi destroy\`, deletes the ` +
                `template${replication.importTemplateId ? " the stack adopted" : ""} in ${accountId}/${region}, and DRS has no defaults ` +
                `for servers added there later. Keep the default (true) unless you mean to delete it.`,
        );
    }
    const importKeyId =
        obj.importKeyId === undefined ? undefined : parseImportKeyId(v, `${path}.importKeyId`, obj.importKeyId, accountId, region);
    return { accountId, region, roleArn, stagingRole, replication, alertTopicArn, importKeyId };
}

/** A key ID (UUID), a multi-Region key ID (mrk-...) or a key ARN in the entry's account and Region: returns the key ID. */
function parseImportKeyId(v: Validator, key: string, raw: unknown, accountId: string, region: string): string | undefined {
    const value = v.string(key, raw);
    if (!value) return undefined;
    if (/^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/.test(value)) return value;
    const arn = parseKeyArn(value);
    if (!arn) {
        v.error(
            key,
            `"${value}" is not a key ID (1234abcd-12ab-34cd-56ef-1234567890ab), a multi-Region key ID (mrk-...) or a key ARN. An alias does not name a key for good: use the key's ID.`,
        );
        return undefined;
    }
    if (arn.accountId !== accountId || arn.region !== region) {
        v.error(
            key,
            `is a key in ${arn.accountId}/${arn.region}, but this entry is ${accountId}/${region}: a key is adopted by the entry of its own account and Region (KMS keys are regional).`,
        );
    }
    return arn.keyId;
}

const replicationKeys = [
    ...Object.keys(replicationDefaults),
    "stagingAreaSubnetId",
    "autoReplicateNewDisks",
    "importTemplateId",
    "retainOnDelete",
];

function parseReplication(v: Validator, path: string, raw: unknown): ReplicationSettings | undefined {
    if (raw !== null && typeof raw === "object" && ("ebsEncryption" in raw || "ebsEncryptionKeyArn" in raw)) {
        v.error(
            `${path}.ebsEncryption`,
            "is set by the program (CUSTOM, with this entry's key). Remove ebsEncryption and ebsEncryptionKeyArn.",
        );
    }
    const obj = v.object(path, raw, [...replicationKeys, "ebsEncryption", "ebsEncryptionKeyArn"], true);
    const d = replicationDefaults;
    const subnet = v.string(`${path}.stagingAreaSubnetId`, obj.stagingAreaSubnetId);
    if (subnet && !/^subnet-([0-9a-f]{8}|[0-9a-f]{17})$/.test(subnet)) {
        v.error(
            `${path}.stagingAreaSubnetId`,
            `"${subnet}" is not a subnet ID. Use the staging area subnet's ID, like subnet-0123456789abcdef0.`,
        );
    }
    const securityGroups = v.stringList(
        `${path}.replicationServersSecurityGroupsIds`,
        obj.replicationServersSecurityGroupsIds ?? d.replicationServersSecurityGroupsIds,
    );
    securityGroups.forEach((sg, i) => {
        if (!/^sg-([0-9a-f]{8}|[0-9a-f]{17})$/.test(sg))
            v.error(`${path}.replicationServersSecurityGroupsIds[${i}]`, `"${sg}" is not a security group ID (sg-...).`);
    });
    const importTemplateId = obj.importTemplateId === undefined ? undefined : v.string(`${path}.importTemplateId`, obj.importTemplateId);
    if (importTemplateId && !/^rct-[0-9a-zA-Z]{17}$/.test(importTemplateId)) {
        v.error(
            `${path}.importTemplateId`,
            `"${importTemplateId}" is not a replication configuration template ID (rct- and 17 characters; see aws drs describe-replication-configuration-templates).`,
        );
    }
    return {
        stagingAreaSubnetId: subnet,
        associateDefaultSecurityGroup: v.boolean(
            `${path}.associateDefaultSecurityGroup`,
            obj.associateDefaultSecurityGroup ?? d.associateDefaultSecurityGroup,
        ),
        bandwidthThrottling: v.integer(`${path}.bandwidthThrottling`, obj.bandwidthThrottling ?? d.bandwidthThrottling, 0, 10_000),
        createPublicIp: v.boolean(`${path}.createPublicIp`, obj.createPublicIp ?? d.createPublicIp),
        dataPlaneRouting: v.oneOf(`${path}.dataPlaneRouting`, obj.dataPlaneRouting ?? d.dataPlaneRouting, ["PRIVATE_IP", "PUBLIC_IP"]),
        defaultLargeStagingDiskType: v.oneOf(
            `${path}.defaultLargeStagingDiskType`,
            obj.defaultLargeStagingDiskType ?? d.defaultLargeStagingDiskType,
            ["GP2", "GP3", "ST1", "AUTO"],
        ),
        replicationServerInstanceType: v.string(
            `${path}.replicationServerInstanceType`,
            obj.replicationServerInstanceType ?? d.replicationServerInstanceType,
        ),
        useDedicatedReplicationServer: v.boolean(
            `${path}.useDedicatedReplicationServer`,
            obj.useDedicatedReplicationServer ?? d.useDedicatedReplicationServer,
        ),
        replicationServersSecurityGroupsIds: securityGroups,
        stagingAreaTags: v.stringMap(`${path}.stagingAreaTags`, obj.stagingAreaTags ?? d.stagingAreaTags),
        pitRetentionDays: v.integer(`${path}.pitRetentionDays`, obj.pitRetentionDays ?? d.pitRetentionDays, 1, 365),
        autoReplicateNewDisks:
            obj.autoReplicateNewDisks === undefined ? undefined : v.boolean(`${path}.autoReplicateNewDisks`, obj.autoReplicateNewDisks),
        importTemplateId,
        retainOnDelete: v.boolean(`${path}.retainOnDelete`, obj.retainOnDelete ?? true),
    };
}

function parseStagingStacks(v: Validator, raw: unknown): string[] {
    if (raw === undefined || (Array.isArray(raw) && raw.length === 0)) {
        v.error(
            "stagingStacks",
            "is required with deploy: target: list the staging stacks to read key ARNs from, like organization/drs-cross-account-kms/staging.",
        );
        return [];
    }
    const stacks = v.stringList("stagingStacks", raw);
    stacks.forEach((name, i) => {
        if (!/^[\w.-]+(\/[\w.-]+){0,2}$/.test(name)) {
            v.error(
                `stagingStacks[${i}]`,
                `"${name}" is not a stack name. Use <stack>, <project>/<stack> or <organization>/<project>/<stack>.`,
            );
        }
    });
    v.unique("stagingStacks", stacks);
    return stacks;
}

/** KMS keys are regional: a recovery Region needs a key there, and a key needs its Region recovered. */
function checkRecoveryRegions(v: Validator, recoveryRegions: string[], entries: StagingEntry[]): void {
    const stagingRegions = new Set(entries.map((e) => e.region));
    recoveryRegions.forEach((region, i) => {
        if (isKnownRegion(region) && !stagingRegions.has(region)) {
            v.error(
                `target.regions[${i}]`,
                `"${region}" has no staging key. KMS keys are regional: a key in ${[...stagingRegions].join(", ") || "another Region"} ` +
                    `is never used through ec2.${region}, and DRS recovers extended source servers in the staging Region. ` +
                    `Add a stagingAccounts entry in ${region}, or remove it from target.regions.`,
            );
        }
    });
    entries.forEach((entry, i) => {
        if (isKnownRegion(entry.region) && !recoveryRegions.includes(entry.region)) {
            v.error(
                `stagingAccounts[${i}].region`,
                `"${entry.region}" is not in target.regions: the target would get a key it never recovers with. Add ${entry.region} to target.regions or remove this entry.`,
            );
        }
    });
}

/** The target's key-use policies must fit the roles they are attached to (IAM size and count limits). */
function checkPolicyPlan(
    target: TargetSettings,
    targetAccess: TargetAccess,
    keys: KeyPlacement[],
    report: (message: string) => void,
): void {
    try {
        planTargetKeyUsePolicies({ keys, targetAccess, maxPolicies: target.maxPoliciesPerRole });
    } catch (err) {
        report((err as Error).message);
    }
}

/** Launch settings only make sense where the target recovers: a recovery Region, or a staging Region. */
function checkLaunchRegions(v: Validator, target: TargetSettings, stagingRegions: string[] | undefined): void {
    const recovery = target.regions ?? stagingRegions;
    if (!recovery) return; // deploy: target without target.regions: checked against the staging stacks
    target.launch.forEach((launch, i) => {
        if (isKnownRegion(launch.region) && !recovery.includes(launch.region)) {
            v.error(
                `target.launch[${i}].region`,
                `"${launch.region}" is not a recovery Region (${recovery.join(", ")}): DRS recovers extended source servers in their staging Region.`,
            );
        }
    });
}

/** Collects errors and warnings; each check returns a usable value so parsing goes on. */
class Validator {
    readonly errors: string[] = [];
    readonly warnings: string[] = [];

    error(key: string, message: string): void {
        this.errors.push(`${configNamespace}:${key} ${message}`);
    }

    warn(message: string): void {
        this.warnings.push(message);
    }

    throwIfErrors(): void {
        if (this.errors.length > 0) throw new ConfigError(this.errors);
    }

    object(key: string, raw: unknown, known: string[], required: boolean): Record<string, unknown> {
        if (raw === undefined && required) {
            this.error(key, "is required.");
            return {};
        }
        if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
            if (raw !== undefined) this.error(key, "must be an object (a YAML mapping).");
            return {};
        }
        for (const name of Object.keys(raw)) {
            if (!known.includes(name)) this.error(`${key}.${name}`, `is not a known setting. Known: ${known.join(", ")}.`);
        }
        return raw as Record<string, unknown>;
    }

    string(key: string, raw: unknown): string {
        if (typeof raw === "string" && raw.length > 0) return raw;
        this.error(key, raw === undefined ? "is required." : "must be a non-empty string.");
        return "";
    }

    boolean(key: string, raw: unknown): boolean {
        if (typeof raw === "boolean") return raw;
        if (raw === "true" || raw === "false") return raw === "true";
        this.error(key, `must be true or false, not ${JSON.stringify(raw)}.`);
        return false;
    }

    integer(key: string, raw: unknown, min: number, max: number): number {
        const value = typeof raw === "string" && /^\d+$/.test(raw) ? Number(raw) : raw;
        if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max) return value;
        this.error(key, `must be a whole number from ${min} to ${max}, not ${JSON.stringify(raw)}.`);
        return min;
    }

    oneOf<T extends string>(key: string, raw: unknown, allowed: readonly T[]): T {
        if (typeof raw === "string" && (allowed as readonly string[]).includes(raw)) return raw as T;
        this.error(key, `must be one of ${allowed.join(", ")}, not ${JSON.stringify(raw)}.`);
        return allowed[0];
    }

    stringList(key: string, raw: unknown): string[] {
        if (Array.isArray(raw) && raw.every((item) => typeof item === "string" && item.length > 0)) return raw as string[];
        this.error(key, "must be a list of non-empty strings.");
        return [];
    }

    stringMap(key: string, raw: unknown): Record<string, string> {
        if (raw !== null && typeof raw === "object" && !Array.isArray(raw) && Object.values(raw).every((x) => typeof x === "string")) {
            return raw as Record<string, string>;
        }
        this.error(key, "must be a mapping of tag names to string values.");
        return {};
    }

    unique(key: string, values: string[]): void {
        const repeated = values.filter((value, i) => values.indexOf(value) !== i);
        if (repeated.length > 0) this.error(key, `lists ${[...new Set(repeated)].join(", ")} more than once.`);
    }

    accountId(key: string, raw: unknown): string {
        // YAML reads an unquoted 012345678901 as a number and drops the leading zero: say so.
        if (typeof raw === "number") {
            if (Number.isInteger(raw) && String(raw).length === 12) return String(raw);
            this.error(
                key,
                `reads as the number ${raw}: quote the 12-digit account ID ("0..."), as YAML drops leading zeros of an unquoted one.`,
            );
            return String(raw);
        }
        if (isAccountId(raw)) return raw;
        this.error(
            key,
            raw === undefined ? "is required: the 12-digit AWS account ID, quoted." : `"${raw}" is not a 12-digit AWS account ID.`,
        );
        return typeof raw === "string" ? raw : "";
    }

    region(key: string, raw: unknown): string {
        if (typeof raw === "string" && isKnownRegion(raw)) return raw;
        this.error(
            key,
            raw === undefined
                ? "is required: an AWS Region name such as us-east-1."
                : `"${raw}" is not an AWS Region name (such as us-east-1).`,
        );
        return typeof raw === "string" ? raw : "";
    }

    regions(key: string, raw: unknown): string[] {
        const list = this.stringList(key, raw);
        list.forEach((region, i) => {
            if (!isKnownRegion(region)) this.error(`${key}[${i}]`, `"${region}" is not an AWS Region name (such as us-east-1).`);
        });
        this.unique(key, list);
        return list;
    }

    roleArn(key: string, raw: unknown, accountId: string): string | undefined {
        if (raw === undefined) return undefined;
        const arn = typeof raw === "string" ? raw : "";
        const role = parseRoleArn(arn);
        if (!role) {
            this.error(key, `${JSON.stringify(raw)} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>).`);
        } else if (isAccountId(accountId) && role.accountId !== accountId) {
            this.error(
                key,
                `is a role in account ${role.accountId}, but this entry's account is ${accountId}. The provider assumes a role in the account it deploys to.`,
            );
        }
        return arn;
    }

    /** A role name, or the ARN of a role in the target account; returns the name IAM attaches by. */
    keyUserRoleName(key: string, value: string, targetAccountId: string): string {
        if (isIdentityCenterRole(value)) {
            this.error(
                key,
                `"${value}" is a role of IAM Identity Center (path /aws-reserved/sso.amazonaws.com/, name AWSReservedSSO_...). ` +
                    `Identity Center owns these roles and IAM refuses to attach a policy to them. Set identityCenter ` +
                    `(instanceArn, permissionSetArns) so the permission set references the key-use policies instead.`,
            );
            return value;
        }
        if (isServiceLinkedRole(value)) {
            this.error(
                key,
                `"${value}" is a service-linked role. IAM rejects any policy attached to a service-linked role ` +
                    `(UnmodifiableEntity), so the guide's Step 4 cannot work. Name the roles in the target account that start recoveries and drills instead.`,
            );
            return value;
        }
        if (value.startsWith("arn:")) {
            const role = parseRoleArn(value);
            if (!role) {
                this.error(key, `"${value}" is not an IAM role ARN.`);
                return value;
            }
            if (isAccountId(targetAccountId) && role.accountId !== targetAccountId) {
                this.error(key, `"${value}" is in account ${role.accountId}, not the target account ${targetAccountId}.`);
            }
            return role.name;
        }
        if (!/^[\w+=,.@-]{1,64}$/.test(value))
            this.error(key, `"${value}" is not an IAM role name (up to 64 of letters, digits and +=,.@_-).`);
        return value;
    }
}

/**
 * What stands for a `secure:` value that cannot be decrypted here (the offline tools read stack
 * files without the Pulumi CLI): the config checks do not judge it, and it is never printed. Under
 * the engine, secrets arrive decrypted and are checked like any other value.
 */
export const secretPlaceholder = "[secret]";

/**
 * Parses a whole stack config: full keys (`drs-cross-account-kms:deploy`, `aws:region`), values
 * as the stack file or the engine gives them (objects parsed, secretPlaceholder for what
 * cannot be decrypted). Throws one ConfigError listing every problem.
 */
export function parseStackConfig(config: Record<string, unknown>): ParsedConfig {
    return parseConfig(programConfig(config));
}

/** This program's keys of a stack's config (full keys, such as `drs-cross-account-kms:deploy`), without the namespace. */
export function programConfig(config: Record<string, unknown>): RawConfig {
    const prefix = `${configNamespace}:`;
    return Object.fromEntries(
        Object.entries(config)
            .filter(([key]) => key.startsWith(prefix))
            .map(([key, value]) => [key.slice(prefix.length), value]),
    );
}

/** The running stack's config: objects arrive JSON-encoded, plain strings (`deploy: all`) as they are. */
function readRawConfig(): RawConfig {
    const decode = (value: string): unknown => {
        try {
            return JSON.parse(value);
        } catch {
            return value;
        }
    };
    return Object.fromEntries(
        Object.entries(programConfig(pulumi.runtime.allConfig())).map(([key, value]) => [key, decode(value as string)]),
    );
}

/**
 * Reads and validates the stack's config. Problems end the program with one message and no
 * stack trace (pulumi.RunError); warnings go to the Pulumi log.
 */
export function readStackConfig(): Settings {
    try {
        const { settings, warnings } = parseConfig(readRawConfig());
        for (const warning of warnings) pulumi.log.warn(warning);
        return settings;
    } catch (err) {
        if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
        throw err;
    }
}

/** What a staging stack exports per key, in its `stagingKeys` output; the target stack reads it. */
export interface StagingKeyExport {
    accountId: string;
    region: string;
    keyId: string;
    keyArn: string;
    aliasName: string;
    stagingRoleArn: string;
    replicationTemplateId?: string;
    alertTopicArn?: string;
    /** A multi-Region key's part: the family's primary, or a replica of it; absent for a single-Region key. */
    multiRegionKey?: "primary" | "replica";
}

/** The outputs of one staging stack, as read through a StackReference. */
export interface StagingStackOutputs {
    stack: string;
    targetAccountId: unknown;
    targetAccess: unknown;
    stagingKeys: unknown;
}

/**
 * Checks what the staging stacks exported against the target settings (the same rules as
 * parseConfig applies to stagingAccounts) and returns all their keys; throws a ConfigError.
 */
export function checkStagingStackOutputs(
    stacks: StagingStackOutputs[],
    target: TargetSettings,
    targetAccess: TargetAccess,
): StagingKeyExport[] {
    const problems: string[] = [];
    const keys: StagingKeyExport[] = [];
    const seen = new Map<string, string>();
    stacks.forEach(({ stack, targetAccountId, targetAccess: stackAccess, stagingKeys }, i) => {
        const key = `${configNamespace}:stagingStacks[${i}]`;
        if (targetAccountId !== target.accountId) {
            problems.push(
                `${key} "${stack}" was deployed for target account ${JSON.stringify(targetAccountId)}, not ${target.accountId}. Point stagingStacks at stacks deployed for this target.`,
            );
            return;
        }
        // The target policy grants exactly what the key policies grant: both must use one mode.
        if (stackAccess !== targetAccess) {
            problems.push(
                `${key} "${stack}" shares its keys with key.targetAccess ${JSON.stringify(stackAccess)}, but this stack has "${targetAccess}". Set the same key.targetAccess in both stacks.`,
            );
        }
        if (!Array.isArray(stagingKeys) || stagingKeys.length === 0) {
            problems.push(`${key} "${stack}" exports no stagingKeys. Run \`pulumi up\` on it (deploy: staging) first.`);
            return;
        }
        for (const entry of stagingKeys as StagingKeyExport[]) {
            const id = `${entry.accountId}/${entry.region}`;
            const other = seen.get(id);
            if (other !== undefined) {
                problems.push(
                    `${key} "${stack}" exports a key for ${entry.accountId} in ${entry.region}, as "${other}" does. Keep one stack per staging account and Region.`,
                );
            }
            seen.set(id, stack);
            if (target.regions && !target.regions.includes(entry.region)) {
                problems.push(
                    `${key} "${stack}" has a key in ${entry.region}, which is not in target.regions. Add ${entry.region} to target.regions.`,
                );
            }
            keys.push(entry);
        }
    });
    // Judge Regions and sizes only on stacks that read well, so one wrong stack is one message.
    if (problems.length === 0) {
        const keyRegions = new Set(keys.map((k) => k.region));
        (target.regions ?? []).forEach((region, i) => {
            if (!keyRegions.has(region)) {
                problems.push(
                    `${configNamespace}:target.regions[${i}] "${region}" has no staging key in the staging stacks. KMS keys are regional; ` +
                        `add a staging entry in ${region} to a staging stack, or remove it from target.regions.`,
                );
            }
        });
        checkPolicyPlan(target, targetAccess, keys, (message) => problems.push(`${configNamespace}:stagingStacks ${message}`));
        target.launch.forEach((launch, i) => {
            if (!keyRegions.has(launch.region)) {
                problems.push(
                    `${configNamespace}:target.launch[${i}].region "${launch.region}" has no staging key in the staging stacks: DRS recovers extended source servers in their staging Region.`,
                );
            }
        });
    }
    if (problems.length > 0) throw new ConfigError(problems);
    return keys;
}
