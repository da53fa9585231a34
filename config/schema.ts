// The program's settings, each declared once: its kind (what AWS accepts), default and doc (markdown,
// the configuration reference's text: config/reference.ts prints the table from here). The TypeScript
// types are inferred from here; rules between settings are in rules.ts.
import * as v from "valibot";
import { LaunchDisposition, RightSizingMethod, keyDefaults, replicationDefaults, stagingRoleModes } from "../components/defaults";
import { failbackDestinations, limits, targetAccessModes } from "../components/policies";
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
    profileName,
    subnetId,
    securityGroupId,
    instanceType,
    replicationTemplateId,
    launchTemplateId,
    sourceServerId,
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
/** A launch setting DRS has its own default for. */
const drs = (doc: string) => ({ doc, shownDefault: "DRS's" });
/** The pages and sections the docs link to, as docs/configuration.md (where the table is) reaches them. */
const links = {
    existingKeys: "[Existing keys and multi-Region keys](#existing-keys-and-multi-region-keys)",
    severalTargets: "[Several target accounts](#several-target-accounts-a-drill-account-beside-the-recovery-account)",
    launch: "[Launch settings of the target](#launch-settings-of-the-target-aws-native)",
    identityCenter: "[People who sign in through IAM Identity Center](#people-who-sign-in-through-iam-identity-center)",
    existingServers: "[Existing servers](align-servers.md)",
    keyPolicy: "[What the key policy allows](key-policy.md)",
    safety: "[Safety](safety.md)",
    prices: "[Cost and quotas](cost-and-quotas.md#--prices-filejson-and-the-pricing-config)",
    coverage: "[Every server protected](protect-every-server.md)",
    failback: "[The way back](failback.md)",
};

const replication = group(
    "Manage the DRS replication template, the default settings of servers added later; omitted, the key is created but no " +
        "template points at it (a warning says so). Servers already replicating keep their own settings: see " +
        links.existingServers,
    {
        stagingAreaSubnetId: setting("Subnet (`subnet-…`) for the replication servers and staging disks", subnetId, REQUIRED),
        associateDefaultSecurityGroup: setting(
            "Associate DRS's default security group (the guide's Step 3 value)",
            bool,
            d.associateDefaultSecurityGroup,
        ),
        bandwidthThrottling: setting("Mbps, up to 10,000; 0 is unthrottled", whole(0, 10_000), d.bandwidthThrottling),
        createPublicIp: setting("Give the replication servers a public IP", bool, d.createPublicIp),
        dataPlaneRouting: setting(
            "How replication data reaches the replication servers: `PRIVATE_IP` or `PUBLIC_IP`",
            oneOf(["PRIVATE_IP", "PUBLIC_IP"]),
            d.dataPlaneRouting,
        ),
        defaultLargeStagingDiskType: setting(
            "EBS volume type of large staging disks: `GP2`, `GP3`, `ST1` or `AUTO`",
            oneOf(["GP2", "GP3", "ST1", "AUTO"]),
            d.defaultLargeStagingDiskType,
        ),
        replicationServerInstanceType: setting(
            "EC2 instance type of the replication servers",
            instanceType,
            d.replicationServerInstanceType,
        ),
        useDedicatedReplicationServer: setting("One replication server per source server", bool, d.useDedicatedReplicationServer),
        replicationServersSecurityGroupsIds: list(
            "Security groups (`sg-…`) of the replication servers",
            securityGroupId,
            d.replicationServersSecurityGroupsIds,
            "must be a list of security group IDs (sg-...).",
        ),
        stagingAreaTags: setting("Tags on the staging resources DRS creates, at most 50", tags(50), d.stagingAreaTags),
        pitRetentionDays: setting(
            "Days to keep the daily points in time (snapshots), 1–365: the only PIT rule DRS allows changing",
            whole(1, 365),
            d.pitRetentionDays,
        ),
        autoReplicateNewDisks: setting(drs("Replicate disks added to a server later"), bool, OPTIONAL),
        importTemplateId: setting("`rct-…`: adopt this existing template instead of creating one", replicationTemplateId, OPTIONAL),
        retainOnDelete: setting(
            "Keep the template in AWS when it leaves the stack (adopted or not: dropping `importTemplateId` after the import " +
                "changes nothing); `false` lets `destroy` delete it, with a warning",
            bool,
            true,
        ),
    },
    OPTIONAL,
    { ebsEncryption: refusedEncryption, ebsEncryptionKeyArn: refusedEncryption },
);

/** An AWS account whose EC2 instances replicate into a staging account: it needs DRS's roles for that account. */
const ec2SourceAccount = group(
    "An AWS account whose EC2 instances replicate into this staging account",
    {
        accountId: setting("The account that owns the EC2 instances, 12 digits", accountId, REQUIRED),
        roleArn: setting("Role verify assumes there to check the roles DRS requires", roleArn, OPTIONAL),
    },
    REQUIRED,
);

/** A staging server left out of a target on purpose: verify reports it as INFO, with the reason. */
const unprotectedServer = group(
    "A staging source server this target deliberately does not recover",
    {
        sourceServerId: setting("The server's ID in its staging account (`s-…`)", sourceServerId, REQUIRED),
        reason: setting("Why it is not extended into this target", description, REQUIRED),
    },
    REQUIRED,
);

/** Where an entry's servers fail back to after a recovery: verify checks the way back, drill --failback tries it. */
const failback = group(
    `The way back after a recovery: where this entry's servers fail back to: see ${links.failback}`,
    {
        to: setting(
            "`aws`: reverse replication from the recovery instances into the origin account and Region; `on-premises`: the DRS Failback Client",
            oneOf(failbackDestinations),
            "aws",
        ),
        accountId: setting(
            {
                doc: "The origin: the account reverse replication lands in, where the EC2 sources ran (`to: aws`)",
                shownDefault: "this entry's account",
            },
            accountId,
            OPTIONAL,
        ),
        region: setting({ doc: "The origin's Region (`to: aws`)", shownDefault: "this entry's Region" }, region, OPTIONAL),
        roleArn: setting(
            "Role verify and `drill --failback` assume in the origin, when it is not an account of the stack",
            roleArn,
            OPTIONAL,
        ),
        networkReplication: setting(
            "DRS protects the origin's VPCs (source networks): the network role `DRSSourceNetworkRole` is checked in both directions",
            bool,
            false,
        ),
    },
    OPTIONAL,
);

export const stagingEntry = group(
    "One staging account in one Region: its key, and DRS replication there",
    {
        accountId: setting("The staging account, 12 digits, different from every target account", accountId, REQUIRED),
        region: setting("The key's Region", region, REQUIRED),
        roleArn: setting("Role the staging provider assumes; entries of one account must agree", roleArn, OPTIONAL),
        profile: setting(
            "A profile of your AWS config (`~/.aws/config`, such as an IAM Identity Center one) the staging provider and the commands " +
                "sign in with instead of the current credentials; with `roleArn`, the role is assumed from it. Entries of one account must agree",
            profileName,
            OPTIONAL,
        ),
        stagingRole: setting(
            "`create` the DRS staging role (`DRSStagingAccountRole_<target>`); `import` (adopt) the one the DRS console made when the " +
                "target was added as a trusted account; `existing`: read it and never change it. Entries of one account must agree",
            oneOf(stagingRoleModes),
            "create",
        ),
        replication,
        alertTopicArn: setting(
            "An existing SNS topic (same account and Region) for this key's alerts, instead of a created one",
            topicArn,
            OPTIONAL,
        ),
        ec2SourceAccounts: list(
            `EC2 sources in other accounts that replicate here: DRS needs roles in each for this account (Marketplace licences, in-AWS right-sizing): see ${links.coverage}`,
            ec2SourceAccount,
            [],
            "must be a list of { accountId, roleArn? } entries.",
        ),
        failback,
        importKeyId: setting(
            "Adopt this existing key instead of creating one: its key ID, `mrk-…` ID or key ARN, in the entry's account and Region: " +
                `see ${links.existingKeys}`,
            keyReference,
            OPTIONAL,
        ),
    },
    REQUIRED,
);

const launch = group(
    "DRS launch settings of the target in one recovery Region",
    {
        region: setting("A recovery Region (one with a staging key)", region, REQUIRED),
        copyPrivateIp: setting(drs("Give the recovery instance the source server's private IP"), bool, OPTIONAL),
        copyTags: setting(drs("Copy the source server's tags to the recovery instance"), bool, OPTIONAL),
        launchDisposition: setting(drs("`STARTED` or `STOPPED` after launch"), oneOf(Object.values(LaunchDisposition)), OPTIONAL),
        launchIntoSourceInstance: setting(drs("Launch into the source instance's ID when failing back"), bool, OPTIONAL),
        osByol: setting(drs("Bring your own OS license instead of AWS-provided licensing"), bool, OPTIONAL),
        targetInstanceTypeRightSizingMethod: setting(
            drs("Right-sizing of the recovery instance's type: `NONE`, `BASIC` or `IN_AWS`"),
            oneOf(Object.values(RightSizingMethod)),
            OPTIONAL,
        ),
        postLaunchEnabled: setting(drs("Run the post-launch actions"), bool, OPTIONAL),
        exportBucketArn: setting("S3 bucket (`arn:aws:s3:::<bucket>`) to export source network templates to", bucketArn, OPTIONAL),
        importTemplateId: setting(
            "`lct-…`: adopt this existing launch configuration template instead of creating one",
            launchTemplateId,
            OPTIONAL,
        ),
        retainOnDelete: setting(
            "Keep the launch template in AWS when it leaves the stack (adopted or not); `false` lets `destroy` delete it, with a warning",
            bool,
            true,
        ),
    },
    REQUIRED,
);

/** One recovery account: `target`, or an item of `targets`. */
export const targetEntry = group(
    { doc: "A recovery account: the one the keys are shared with", shownDefault: "required (or `targets`)" },
    {
        accountId: setting("The recovery account, 12 digits (quote it in YAML)", accountId, REQUIRED),
        roleArn: setting("Role in the target account the target provider assumes", roleArn, OPTIONAL),
        profile: setting(
            "A profile of your AWS config (`~/.aws/config`, such as an IAM Identity Center one) the target provider and the commands " +
                "sign in with instead of the current credentials; with `roleArn`, the role is assumed from it",
            profileName,
            OPTIONAL,
        ),
        regions: list(
            {
                doc:
                    "Recovery Regions; each must have a staging key, and each key's Region must be listed (with several targets, " +
                    "by at least one): KMS keys are regional",
                shownDefault: "every staging Region",
            },
            region,
            OPTIONAL,
            "must be a list of non-empty strings.",
        ),
        keyUserRoleNames: list(
            "Names (or ARNs) of target roles that start recoveries and drills; the key-use policies are attached to each. " +
                "Service-linked roles and IAM Identity Center roles (`AWSReservedSSO_…`) are refused: use `identityCenter` for the latter",
            keyUserRole,
            [],
            "must be a list of non-empty strings.",
        ),
        maxPoliciesPerRole: setting(
            'IAM\'s "managed policies per role" quota (raise it to up to 20 for very large fleets)',
            whole(1, 20),
            limits.managedPoliciesPerRole,
        ),
        unprotectedServers: list(
            `Staging servers deliberately not extended into this target, each with its reason: verify's coverage reports them as INFO, not FAIL: see ${links.coverage}`,
            unprotectedServer,
            [],
            "must be a list of { sourceServerId, reason } entries.",
        ),
        launch: list(
            `DRS launch settings of the target, one entry per recovery Region: see ${links.launch}`,
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
        {
            // Pulumi.yaml declares deploy with this doc.
            doc: "Which side this stack deploys: all (both), staging or target",
            reference: "Which side this stack deploys: `all` (both sides, one stack), `staging`, or `target`",
        },
        planned(oneOf(["all", "staging", "target"] as const)),
        "all",
    ),
    target: targetEntry,
    targets: nonEmpty(
        list(
            "Several recovery accounts (`deploy: staging` or `all`), each item shaped like `target`, instead of `target`: see " +
                links.severalTargets,
            targetEntry,
            OPTIONAL,
            "must be a list of { accountId, ... } target entries.",
        ),
        "list the recovery accounts, or set target instead.",
    ),
    key: group(
        "The staging keys, one per entry of `stagingAccounts`",
        {
            alias: setting("The alias of every key, never under `alias/aws/`", alias, keyDefaults.alias),
            description: setting("The keys' description, up to 8,192 characters", description, keyDefaults.description),
            deletionWindowInDays: setting(
                "Days between scheduling a key's deletion and the deletion, 7–30",
                whole(7, 30),
                keyDefaults.deletionWindowInDays,
            ),
            enableKeyRotation: setting("Automatic key rotation; a warning when turned off", bool, keyDefaults.enableKeyRotation),
            protect: setting(
                "Protects the keys and the staging roles from `pulumi destroy`; a warning when turned off",
                bool,
                keyDefaults.protect,
            ),
            retainOnDelete: setting(
                "Keys and aliases stay in AWS when they leave the stack (adopted or created); `false` lets an unprotected key be " +
                    "scheduled for deletion, with a warning",
                bool,
                keyDefaults.retainOnDelete,
            ),
            multiRegion: setting(
                "New keys are multi-Region: per staging account a primary and a replica in each of its other Regions; existing keys " +
                    `keep their kind: see ${links.existingKeys}`,
                bool,
                keyDefaults.multiRegion,
            ),
            primaryRegion: setting(
                {
                    doc: "Region of a new multi-Region family's primary, for accounts with an entry there",
                    shownDefault: "the first new Region by name",
                },
                region,
                OPTIONAL,
            ),
            targetAccess: setting(
                "`documented` (AWS's documented DRS minimum) or `ebs-shared-snapshots` (the fallback): see " +
                    `${links.keyPolicy}. Staging and target stacks must agree (the target stack checks)`,
                planned(oneOf(targetAccessModes)),
                keyDefaults.targetAccess,
            ),
        },
        {},
    ),
    tags: setting(
        `Extra default tags on every resource (beside \`ManagedBy\` and \`Project\`), at most ${maxExtraTags}`,
        tags(maxExtraTags),
        {},
    ),
    alerts: group(
        `Key-loss and drift alerts: see ${links.safety}`,
        {
            enabled: setting(
                "Alert, to each key's topic, when the key is disabled, scheduled for deletion, given a new policy or loses a grant, " +
                    "when DRS replication settings or templates change in its account and Region, and when a staging role it serves " +
                    "is deleted or changed; a warning when turned off",
                bool,
                true,
            ),
        },
        {},
    ),
    stagingAccounts: list(
        { doc: "One entry per (account, Region): its key, and DRS replication there", shownDefault: "required unless `deploy: target`" },
        stagingEntry,
        OPTIONAL,
        "must be a list of { accountId, region } entries.",
    ),
    stagingStacks: list(
        {
            // Pulumi.yaml declares stagingStacks with this doc.
            doc: "Staging stacks a target stack reads key ARNs from",
            reference: "Staging stacks (`[org/][project/]stack`) a target stack reads key ARNs from",
            shownDefault: "required with `deploy: target`",
        },
        stackName,
        [],
        "must be a list of non-empty strings.",
    ),
    pricing: group(
        "Your prices over the list prices (`plan/pricing.ts`), for the plan, `verify` and `drill`; `--prices` wins: see " + links.prices,
        {
            origin: setting("Whose prices these are", description, OPTIONAL),
            kms: group(
                "KMS prices, USD",
                {
                    keyMonth: setting("Each key a month", price(amount), OPTIONAL),
                    rotationMonth: setting("Each rotation a month", price(amount), OPTIONAL),
                    billedRotations: setting("Rotations billed per key (the later ones are free)", price(whole(0, 100)), OPTIONAL),
                },
                OPTIONAL,
            ),
            drsServerHour: setting(
                "DRS per replicating server-hour, USD: a number, or per Region (`{ <region> or *: number }`, `*` for the rest)",
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
        `IAM Identity Center permission sets that reference the key-use policies: see ${links.identityCenter}`,
        {
            accountId: setting(
                "The account that administers the IAM Identity Center instance (management or delegated administrator)",
                accountId,
                REQUIRED,
            ),
            region: setting("The instance's Region", region, REQUIRED),
            roleArn: setting("Role in that account the Identity Center provider assumes", roleArn, OPTIONAL),
            instanceArn: setting("The instance (`arn:aws:sso:::instance/ssoins-…`)", instanceArn, REQUIRED),
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
    allowUnlistedRegions: setting(
        {
            // Pulumi.yaml declares allowUnlistedRegions with this doc.
            doc: "Take a Region one edit from a listed one (us-wset-2) as a Region AWS added, not a typo",
            reference:
                "A Region this version does not list is taken with a warning, but one a single edit from a listed Region (`us-wset-2`) " +
                "is refused as a typo of it; `true` takes it too (a Region AWS added since, named like a listed one), with the warning",
        },
        bool,
        false,
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
