// The program's settings, each declared once: its kind (what AWS accepts), default and one-line doc.
// The TypeScript types are inferred from here; rules between settings are in rules.ts.
import * as v from "valibot";
import { LaunchDisposition, RightSizingMethod, keyDefaults, replicationDefaults, stagingRoleModes } from "../components/defaults";
import { limits, targetAccessModes } from "../components/policies";
import {
    bool,
    whole,
    amount,
    price,
    planned,
    oneOf,
    accountId,
    region,
    roleArn,
    subnetId,
    securityGroupId,
    instanceType,
    replicationTemplateId,
    launchTemplateId,
    topicArn,
    bucketArn,
    instanceArn,
    permissionSetArn,
    keyUserRole,
    alias,
    keyReference,
    description,
    stackName,
    tags,
    maxExtraTags,
} from "./awsValues";
import { OPTIONAL, Problem, REQUIRED, group, list, refuse, setting } from "./settings";
import { shownKey } from "./text";

/** The namespace of the program's keys in a stack's config (`drs-cross-account-kms:deploy`). */
export const configNamespace = "drs-cross-account-kms";

/** Raw config values by key (without the namespace), objects already parsed. */
export type RawConfig = Record<string, unknown>;

// The settings.

const d = replicationDefaults;
const refusedEncryption = "is set by the program (CUSTOM, with this entry's key). Remove ebsEncryption and ebsEncryptionKeyArn.";
const retainOnDelete = setting("Keep the template in AWS when it leaves the stack", bool, true);

const replication = group(
    "Manage the DRS replication template: the defaults of servers added later",
    {
        stagingAreaSubnetId: setting("Subnet for the replication servers and staging disks", subnetId, REQUIRED),
        associateDefaultSecurityGroup: setting("Associate DRS's default security group", bool, d.associateDefaultSecurityGroup),
        bandwidthThrottling: setting("Mbps; 0 is unthrottled", whole(0, 10_000), d.bandwidthThrottling),
        createPublicIp: setting("Give replication servers a public IP", bool, d.createPublicIp),
        dataPlaneRouting: setting("PRIVATE_IP or PUBLIC_IP", oneOf(["PRIVATE_IP", "PUBLIC_IP"]), d.dataPlaneRouting),
        defaultLargeStagingDiskType: setting("GP2, GP3, ST1 or AUTO", oneOf(["GP2", "GP3", "ST1", "AUTO"]), d.defaultLargeStagingDiskType),
        replicationServerInstanceType: setting(
            "EC2 instance type of the replication servers",
            instanceType,
            d.replicationServerInstanceType,
        ),
        useDedicatedReplicationServer: setting("One replication server per source server", bool, d.useDedicatedReplicationServer),
        replicationServersSecurityGroupsIds: list(
            "Security groups of the replication servers",
            securityGroupId,
            d.replicationServersSecurityGroupsIds,
            "must be a list of security group IDs (sg-...).",
        ),
        stagingAreaTags: setting("Tags on the staging resources DRS creates", tags(50), d.stagingAreaTags),
        pitRetentionDays: setting(
            "Days to keep the daily points in time (the only PIT rule DRS lets change)",
            whole(1, 365),
            d.pitRetentionDays,
        ),
        autoReplicateNewDisks: setting("Replicate disks added to a server later; default: DRS's", bool, OPTIONAL),
        importTemplateId: setting("Adopt this existing template instead of creating one", replicationTemplateId, OPTIONAL),
        retainOnDelete,
    },
    OPTIONAL,
    { ebsEncryption: refusedEncryption, ebsEncryptionKeyArn: refusedEncryption },
);

export const stagingEntry = group(
    "One staging account in one Region: its key, and DRS replication there",
    {
        accountId: setting("The staging account, different from the target", accountId, REQUIRED),
        region: setting("The key's Region", region, REQUIRED),
        roleArn: setting("Role the staging provider assumes; entries of one account agree", roleArn, OPTIONAL),
        stagingRole: setting(
            "create, import (adopt the console's) or existing (read only) DRSStagingAccountRole_<target>",
            oneOf(stagingRoleModes),
            "create",
        ),
        replication,
        alertTopicArn: setting("An existing SNS topic (same account and Region) for this key's alerts", topicArn, OPTIONAL),
        importKeyId: setting("Adopt this existing key: its key ID, mrk- ID or key ARN", keyReference, OPTIONAL),
    },
    REQUIRED,
);

const launch = group(
    "DRS launch settings of the target in one recovery Region",
    {
        region: setting("A recovery Region", region, REQUIRED),
        copyPrivateIp: setting("Give the recovery instance the source server's private IP", bool, OPTIONAL),
        copyTags: setting("Copy the source server's tags to the recovery instance", bool, OPTIONAL),
        launchDisposition: setting("STARTED or STOPPED after launch", oneOf(Object.values(LaunchDisposition)), OPTIONAL),
        launchIntoSourceInstance: setting("Launch into the source instance's ID when failing back", bool, OPTIONAL),
        osByol: setting("Bring your own OS license", bool, OPTIONAL),
        targetInstanceTypeRightSizingMethod: setting("NONE, BASIC or IN_AWS", oneOf(Object.values(RightSizingMethod)), OPTIONAL),
        postLaunchEnabled: setting("Run the post-launch actions", bool, OPTIONAL),
        exportBucketArn: setting("S3 bucket to export source network templates to", bucketArn, OPTIONAL),
        importTemplateId: setting("Adopt this existing launch configuration template", launchTemplateId, OPTIONAL),
        retainOnDelete,
    },
    REQUIRED,
);

/** One recovery account: `target`, or an item of `targets`. */
export const targetEntry = group(
    "A recovery account",
    {
        accountId: setting("The recovery account", accountId, REQUIRED),
        roleArn: setting("Role in the target account the target provider assumes", roleArn, OPTIONAL),
        regions: list("Recovery Regions; default: every staging Region", region, OPTIONAL, "must be a list of non-empty strings."),
        keyUserRoleNames: list(
            "Target roles that start recoveries and drills: each gets the key-use policies",
            keyUserRole,
            [],
            "must be a list of non-empty strings.",
        ),
        maxPoliciesPerRole: setting("IAM's managed policies per role quota", whole(1, 20), limits.managedPoliciesPerRole),
        launch: list(
            "DRS launch settings, one entry per recovery Region",
            launch,
            [],
            "must be a list of { region, ... } launch settings, one per recovery Region.",
        ),
    },
    REQUIRED,
);

const nonEmpty = <S extends v.GenericSchema<unknown, unknown[] | undefined>>(schema: S, fix: string) =>
    v.pipe(
        schema,
        v.check((items: v.InferOutput<S>) => items === undefined || items.length > 0, `is empty: ${fix}`),
    );

/** Every setting of the program, in the order problems are reported. */
export const settingsSchema = {
    deploy: setting(
        "Which side this stack deploys: all (both), staging or target",
        planned(oneOf(["all", "staging", "target"] as const)),
        "all",
    ),
    target: targetEntry,
    targets: nonEmpty(
        list(
            "Several recovery accounts (staging-side stacks): each item shaped like target",
            targetEntry,
            OPTIONAL,
            "must be a list of { accountId, ... } target entries.",
        ),
        "list the recovery accounts, or set target instead.",
    ),
    key: group(
        "The staging keys",
        {
            alias: setting("The alias of every key", alias, keyDefaults.alias),
            description: setting("The keys' description", description, keyDefaults.description),
            deletionWindowInDays: setting(
                "Days between scheduling a key's deletion and the deletion",
                whole(7, 30),
                keyDefaults.deletionWindowInDays,
            ),
            enableKeyRotation: setting("Automatic rotation", bool, keyDefaults.enableKeyRotation),
            protect: setting("Protect keys and staging roles from pulumi destroy", bool, keyDefaults.protect),
            retainOnDelete: setting("Keep keys and aliases in AWS when they leave the stack", bool, keyDefaults.retainOnDelete),
            multiRegion: setting(
                "New keys are multi-Region: a primary per account, replicas in its other Regions",
                bool,
                keyDefaults.multiRegion,
            ),
            primaryRegion: setting("Region of a new multi-Region family's primary", region, OPTIONAL),
            targetAccess: setting(
                "documented (AWS's DRS minimum) or ebs-shared-snapshots (the fallback)",
                planned(oneOf(targetAccessModes)),
                keyDefaults.targetAccess,
            ),
        },
        {},
    ),
    tags: setting("Extra default tags on every resource", tags(maxExtraTags), {}),
    alerts: group(
        "Key-loss alerts",
        { enabled: setting("Alert on DisableKey, ScheduleKeyDeletion and PutKeyPolicy of each key", bool, true) },
        {},
    ),
    stagingAccounts: list(
        "One entry per staging account and Region",
        stagingEntry,
        OPTIONAL,
        "must be a list of { accountId, region } entries.",
    ),
    stagingStacks: list("Staging stacks a target stack reads key ARNs from", stackName, [], "must be a list of non-empty strings."),
    pricing: group(
        "Prices over the list prices of plan/pricing.ts, for the plan, verify and drill (docs/cost-and-quotas.md)",
        {
            origin: setting("Whose prices these are", description, OPTIONAL),
            kms: group(
                "KMS prices, USD",
                {
                    keyMonth: setting("Each key a month", price(amount), OPTIONAL),
                    rotationMonth: setting("Each rotation a month", price(amount), OPTIONAL),
                    billedRotations: setting("Rotations billed", price(whole(0, 100)), OPTIONAL),
                },
                OPTIONAL,
            ),
            drsServerHour: setting(
                "DRS per replicating server-hour, USD: a number, or { <region> or *: number }",
                price((x) => {
                    if (typeof x === "number") return amount(x);
                    if (x === null || typeof x !== "object" || Array.isArray(x))
                        return refuse('must be a number or { "<region>": number }.');
                    const bad = Object.entries(x).filter(([, value]) => amount(value) instanceof Problem);
                    return bad.length > 0
                        ? refuse(`has ${bad.map(([region]) => shownKey(region)).join(", ")} not a number, 0 or more.`)
                        : (x as Record<string, number>);
                }),
                OPTIONAL,
            ),
        },
        OPTIONAL,
    ),
    identityCenter: group(
        "IAM Identity Center permission sets that reference the key-use policies",
        {
            accountId: setting("The account that administers the instance", accountId, REQUIRED),
            region: setting("The instance's Region", region, REQUIRED),
            roleArn: setting("Role in that account the Identity Center provider assumes", roleArn, OPTIONAL),
            instanceArn: setting("The instance", instanceArn, REQUIRED),
            permissionSetArns: nonEmpty(
                list(
                    "The permission sets of the people who run recoveries and drills",
                    permissionSetArn,
                    REQUIRED,
                    "must be a list of permission set ARNs.",
                ),
                "list the permission sets of the people who run recoveries and drills.",
            ),
        },
        OPTIONAL,
    ),
};

type Declared = { [K in keyof typeof settingsSchema]: v.InferOutput<(typeof settingsSchema)[K]> };
/** The settings; `targets` is every recovery account (`target` alone is a list of one), `target` the first. */
export type Settings = Omit<Declared, "stagingAccounts" | "targets"> & { stagingAccounts: StagingEntry[]; targets: TargetSettings[] };
export type StagingEntry = v.InferOutput<typeof stagingEntry>;
export type TargetSettings = v.InferOutput<typeof targetEntry>;
export type KeySettings = Settings["key"];
export type ReplicationSettings = NonNullable<StagingEntry["replication"]>;
export type LaunchSettings = TargetSettings["launch"][number];
export type IdentityCenterSettings = NonNullable<Settings["identityCenter"]>;
export type DeployMode = Settings["deploy"];
