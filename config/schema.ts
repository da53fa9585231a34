// The program's settings, each declared once: its kind (what AWS accepts), default and one-line doc.
// The TypeScript types are inferred from here; rules between settings are in rules.ts.
import edits from "damerau-levenshtein";
import * as v from "valibot";
import {
    LaunchDisposition,
    RightSizingMethod,
    keyDefaults,
    programTags,
    replicationDefaults,
    stagingRoleModes,
} from "../components/defaults";
import {
    isIdentityCenterRole,
    isRegionName,
    isServiceLinkedRole,
    limits,
    parseIdentityCenterInstanceArn,
    parseKeyArn,
    parsePermissionSetArn,
    parseRoleArn,
    targetAccessModes,
} from "../components/policies";

/**
 * Stands for a `secure:` value the offline tools cannot decrypt: a setting of any kind holding it
 * is not judged (but deploy, key.targetAccess and prices, which the offline tools cannot do without),
 * and it is never printed. Under the engine, secrets arrive decrypted and are checked.
 */
export const secretPlaceholder = "[secret]";

/** The one candidate nearest `word` within two edits (case aside), if there is exactly one. */
export function closest(word: string, candidates: string[]): string | undefined {
    const limit = 2;
    // Lengths further apart than the limit are further apart in edits: skip them before the library
    // builds its table, which is the longer length squared (a 100,000-character key ran out of memory).
    const near = candidates.filter((c) => Math.abs(c.length - word.length) <= limit);
    // A swap of two neighbours is one edit (optimal string alignment): the typos people make.
    const scored = near.map((c) => ({ c, d: edits(word.toLowerCase(), c.toLowerCase()).steps })).filter(({ d }) => d > 0 && d <= limit);
    const nearest = scored.filter(({ d }) => d === Math.min(...scored.map((x) => x.d)));
    return nearest.length === 1 ? nearest[0].c : undefined;
}

/** Characters of a user's text a message shows: any valid tag name, role name and most ARNs whole, never megabytes. */
const shownLength = 128;

/** A user's value in a message, as JSON writes it (quotes and control characters escaped), cut after shownLength characters. */
export function shown(value: unknown): string {
    if (typeof value !== "string") {
        const json = JSON.stringify(value) ?? String(value);
        return json.length <= shownLength ? json : `${json.slice(0, shownLength)}… (${json.length} characters)`;
    }
    if (value.length <= shownLength) return JSON.stringify(value);
    // Not through the middle of a surrogate pair.
    const head = value.slice(0, /[\uD800-\uDBFF]/.test(value[shownLength - 1]) ? shownLength - 1 : shownLength);
    return `${JSON.stringify(head).slice(0, -1)}…" (${value.length} characters)`;
}

/** A key as a step of a path: `.name` when it is plain, `["..."]` as JSON writes it otherwise. */
export const pathStep = (key: string | number) =>
    typeof key === "number" ? `[${key}]` : /^[\w-]+$/.test(key) && key.length <= shownLength ? `.${key}` : `[${shown(key)}]`;
/** A key of the stack's config as messages name it: as it is when plain, as JSON writes it otherwise. */
export const shownKey = (key: string) => (/^[\w.:-]+$/.test(key) && key.length <= shownLength ? key : shown(key));

/** Why a value is refused: the text that follows its key. */
class Problem {
    constructor(readonly message: string) {}
}
const refuse = (message: string) => new Problem(message);

/**
 * Reads a value as AWS accepts it, or says why not; `hint` says what to set when it is required and
 * missing; `secret` is what a secret the offline tools cannot read stands for (default: the placeholder).
 */
type Kind<T> = ((x: unknown) => T | Problem) & { hint?: string; secret?: T | Problem };
/** A text kind, with what to set when it is required and missing. */
const text = (read: Kind<string>, hint?: string): Kind<string> => Object.assign(read, { hint });
const shaped = (valid: RegExp | ((x: string) => unknown), what: string, hint?: string) =>
    text(
        (x) => (typeof x === "string" && (valid instanceof RegExp ? valid.test(x) : valid(x)) ? x : refuse(`${shown(x)} is not ${what}.`)),
        hint,
    );

/** A setting without a default: its absence is a problem (REQUIRED), or it may be left out (OPTIONAL). */
const REQUIRED = Symbol("required");
const OPTIONAL = Symbol("optional");
type Fallback = typeof REQUIRED | typeof OPTIONAL | unknown;
type Of<T, F> = F extends typeof OPTIONAL ? v.OptionalSchema<v.GenericSchema<unknown, T>, undefined> : v.GenericSchema<unknown, T>;

function declared<T, F extends Fallback>(doc: string, schema: v.GenericSchema<unknown, T>, fallback: F): Of<T, F> {
    const defaulted = fallback === REQUIRED ? schema : v.optional(schema, fallback === OPTIONAL ? undefined : (fallback as never));
    return v.pipe(defaulted, v.description(doc)) as unknown as Of<T, F>;
}

/** A setting of a kind; a required one reads its own absence, to say what to set. */
function setting<T, F extends Fallback>(doc: string, read: Kind<T>, fallback: F): Of<T, F> {
    const checked = v.pipe(
        v.unknown(),
        v.rawTransform<unknown, T>(({ dataset: { value }, addIssue, NEVER }) => {
            // A secret is not judged offline, whatever its kind; the rules and warnings take it as unknown.
            const result =
                value === REQUIRED
                    ? refuse(read.hint ? `is required: ${read.hint}` : "is required.")
                    : value === secretPlaceholder
                      ? (read.secret ?? (value as T))
                      : read(value);
            if (!(result instanceof Problem)) return result;
            addIssue({ message: result.message, expected: value === REQUIRED ? "required" : undefined });
            return NEVER;
        }),
    );
    return declared(doc, fallback === REQUIRED ? v.optional(checked, REQUIRED as never) : checked, fallback) as Of<T, F>;
}

/** A mapping of settings: an unknown key is refused with the known ones and the one likely meant; `refused` keys get their own reason. */
function group<const E extends v.ObjectEntries, F extends Fallback>(
    doc: string,
    entries: E,
    fallback: F,
    refused: Record<string, string> = {},
) {
    const known = Object.keys(entries);
    const shape = v.strictObject(entries, (issue) => {
        if (issue.expected !== "never") return issue.received === "undefined" ? "is required." : "must be an object (a YAML mapping).";
        // The key as it is (valibot's `received` quotes it without escaping); `refused` is looked up by its own keys only (not "constructor").
        const key = String(issue.path?.at(-1)?.key ?? "");
        const meant = closest(key, known);
        return Object.hasOwn(refused, key)
            ? refused[key]
            : `is not a known setting. Known: ${known.join(", ")}.${meant ? ` Did you mean ${meant}?` : ""}`;
    });
    return declared(doc, shape as v.GenericSchema<unknown, v.InferOutput<typeof shape>>, fallback);
}

/** A list of a kind, or of mappings; `shape` says what the list must hold. */
function list<T, F extends Fallback>(doc: string, item: Kind<T> | v.GenericSchema<unknown, T>, fallback: F, shape: string) {
    const items = v.array(typeof item === "function" ? setting("", item, REQUIRED) : item, shape);
    return declared(doc, items as v.GenericSchema<unknown, T[]>, fallback);
}

// The kinds of values, each saying what AWS accepts in words a user can act on.

const bool: Kind<boolean> = (x) =>
    typeof x === "boolean" ? x : x === "true" || x === "false" ? x === "true" : refuse(`must be true or false, not ${shown(x)}.`);
const whole =
    (min: number, max: number): Kind<number> =>
    (x) => {
        const n = typeof x === "string" && /^\d+$/.test(x) ? Number(x) : x;
        return typeof n === "number" && Number.isInteger(n) && n >= min && n <= max
            ? n
            : refuse(`must be a whole number from ${min} to ${max}, not ${shown(x)}.`);
    };
const amount: Kind<number> = (x) =>
    typeof x === "number" && Number.isFinite(x) && x >= 0 ? x : refuse(`must be a number, 0 or more, not ${shown(x)}.`);
/** A figure of the prices: only the offline tools read them, and they cannot decrypt a secret, so it is refused. */
const price = <T>(read: Kind<T>): Kind<T> =>
    Object.assign((x: unknown) => read(x), {
        secret: refuse("is a secret, but only the offline tools read prices and they cannot decrypt it: write the figure in plain text."),
    });
/** A choice the plan is built on: the offline tools cannot plan without it, so a secret one is refused (it is not sensitive). */
const planned = <T>(read: Kind<T>): Kind<T> =>
    Object.assign((x: unknown) => read(x), {
        secret: refuse("is a secret, which the offline tools cannot decrypt, and the plan is built on it: set it in plain text."),
    });
const oneOf =
    <T extends string>(allowed: readonly T[]): Kind<T> =>
    (x) =>
        (allowed as readonly unknown[]).includes(x) ? (x as T) : refuse(`must be one of ${allowed.join(", ")}, not ${shown(x)}.`);

const accountId = text((x) => {
    // YAML reads an unquoted 012345678901 as a number and drops the leading zero: say so.
    if (typeof x !== "number")
        return typeof x === "string" && /^\d{12}$/.test(x) ? x : refuse(`${shown(x)} is not a 12-digit AWS account ID.`);
    if (Number.isInteger(x) && String(x).length === 12) return String(x);
    return refuse(`reads as the number ${x}: quote the 12-digit account ID ("0..."), as YAML drops leading zeros of an unquoted one.`);
}, "the 12-digit AWS account ID, quoted.");
const region = shaped(isRegionName, "an AWS Region name (such as us-east-1)", "an AWS Region name such as us-east-1.");
const roleArn = shaped(parseRoleArn, "an IAM role ARN (arn:aws:iam::<account>:role/<name>)");
const id = (prefix: string, what: string) => shaped(new RegExp(`^${prefix}-([0-9a-f]{8}|[0-9a-f]{17})$`), what);
const arnPattern = (service: string, rest: string) => new RegExp(`^arn:(aws|aws-cn|aws-us-gov):${service}:${rest}$`);
const subnetId = id("subnet", "a subnet ID. Use the staging area subnet's ID, like subnet-0123456789abcdef0");
const securityGroupId = id("sg", "a security group ID (sg-...)");
const instanceType = shaped(/^[a-z][a-z0-9-]*\.[a-z0-9-]+$/, "an EC2 instance type (family.size, such as t3.small)");
const replicationTemplateId = shaped(
    /^rct-[0-9a-zA-Z]{17}$/,
    "a replication configuration template ID (rct- and 17 characters; see aws drs describe-replication-configuration-templates)",
);
const launchTemplateId = shaped(/^lct-[0-9a-zA-Z]{17}$/, "a launch configuration template ID (lct- and 17 characters)");
const topicArn = shaped(arnPattern("sns", "[a-z0-9-]+:\\d{12}:[\\w-]{1,256}"), "an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)");
const bucketArn = shaped(arnPattern("s3", "::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"), "an S3 bucket ARN (arn:aws:s3:::<bucket>)");
const instanceArn = shaped(
    parseIdentityCenterInstanceArn,
    "an IAM Identity Center instance ARN (arn:aws:sso:::instance/ssoins-<16 characters>)",
);
const permissionSetArn = shaped(parsePermissionSetArn, "a permission set ARN (arn:aws:sso:::permissionSet/ssoins-.../ps-...)");

/** A role name, or the ARN of a role (its account is checked against the target's). */
const keyUserRole = text((x) => {
    if (typeof x !== "string" || x.length === 0) return refuse("must be a role name or role ARN.");
    if (isServiceLinkedRole(x)) {
        return refuse(
            `${shown(x)} is a service-linked role. IAM rejects any policy attached to a service-linked role (UnmodifiableEntity), ` +
                "so the guide's Step 4 cannot work. Name the roles in the target account that start recoveries and drills instead.",
        );
    }
    if (isIdentityCenterRole(x)) {
        return refuse(
            `${shown(x)} is a role of IAM Identity Center (path /aws-reserved/sso.amazonaws.com/, name AWSReservedSSO_...). ` +
                "Identity Center owns these roles and IAM refuses to attach a policy to them. Set identityCenter " +
                "(instanceArn, permissionSetArns) so the permission set references the key-use policies instead.",
        );
    }
    if (x.startsWith("arn:")) return parseRoleArn(x) ? x : refuse(`${shown(x)} is not an IAM role ARN.`);
    return /^[\w+=,.@-]{1,64}$/.test(x) ? x : refuse(`${shown(x)} is not an IAM role name (up to 64 of letters, digits and +=,.@_-).`);
});
const alias = shaped(
    (x) => /^alias\/[a-zA-Z0-9/_-]{1,250}$/.test(x) && !x.startsWith("alias/aws/"),
    "a valid alias. Use alias/<name> with letters, digits, /, _ or -, at most 256 characters, not under alias/aws/",
);
const keyReference = shaped(
    (x) => /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/.test(x) || parseKeyArn(x),
    "a key ID (1234abcd-12ab-34cd-56ef-1234567890ab), a multi-Region key ID (mrk-...) or a key ARN. An alias does not name a key for good: use the key's ID",
);
const description = text((x) =>
    typeof x === "string" && x.length > 0 && x.length <= 8192 ? x : refuse("must be a non-empty string of at most 8,192 characters."),
);
const stackName = shaped(
    (x) => /^[\w.-]+(\/[\w.-]+){0,2}$/.test(x) && x.split("/").every((part) => !/^\.+$/.test(part)),
    "a stack name. Use <stack>, <project>/<stack> or <organization>/<project>/<stack>",
);

/** A mapping without a prototype: a key named like an object internal (constructor, toString) is only itself. */
function record<T>(entries: Iterable<readonly [string, T]>): Record<string, T> {
    const mapping = Object.create(null) as Record<string, T>;
    for (const [key, value] of entries) mapping[key] = value;
    return mapping;
}

/**
 * Tags as AWS accepts them: keys of 1 to 128 and values of up to 256 letters, digits, spaces and
 * _.:/=+-@, no key under the reserved aws: prefix, at most `max`. A number or true/false (what
 * `pulumi config set --path` writes for `tags.CostCenter 1234`) becomes text. A secret value is
 * not judged; a secret mapping stands as one tag of the placeholder, as the plan shows it.
 */
const tags = (max: number): Kind<Record<string, string>> => {
    const read = (x: unknown) => {
        if (x === null || typeof x !== "object" || Array.isArray(x)) return refuse("must be a mapping of tag names to values.");
        const allowed = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
        const pairs = Object.entries(x).map(
            ([key, raw]) => [key, typeof raw === "number" || typeof raw === "boolean" ? String(raw) : (raw as unknown)] as const,
        );
        const problems = pairs.flatMap(([key, value]) => [
            ...(key.length === 0 || key.length > 128 || !allowed.test(key)
                ? [`the tag name ${shown(key)} is not 1 to 128 of letters, digits, spaces and _.:/=+-@`]
                : []),
            // The SDK copies inputs into plain objects, where "__proto__" sets the prototype instead of a key.
            ...(key === "__proto__"
                ? ['the tag name "__proto__" cannot reach AWS: the Pulumi SDK for Node.js drops an input key of that name. Rename the tag']
                : []),
            ...(/^aws:/i.test(key) ? [`the tag name ${shown(key)} uses the aws: prefix, which AWS reserves`] : []),
            ...(value === null
                ? [`the tag ${shown(key)} has no value (YAML reads an empty value, null or ~ as none): write "" for an empty value`]
                : value !== secretPlaceholder && (typeof value !== "string" || value.length > 256 || !allowed.test(value))
                  ? [`the tag ${shown(key)} has a value that is not up to 256 of letters, digits, spaces and _.:/=+-@`]
                  : []),
        ]);
        if (pairs.length > max) problems.push(`has ${pairs.length} tags; at most ${max} fit on a resource with the program's own`);
        return problems.length > 0 ? refuse(`${problems.join("; ")}.`) : record(pairs as [string, string][]);
    };
    return Object.assign(read, { secret: Object.freeze(record([[secretPlaceholder, secretPlaceholder]])) });
};

/** AWS's 50 tags per resource, less the program's own tags and the two each key carries (Purpose, TargetAccount). */
export const maxExtraTags = 50 - Object.keys(programTags).length - 2;

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
