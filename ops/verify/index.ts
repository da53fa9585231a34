// Read-only checks, against real AWS, that a deployed cross-account setup works, each mapped to
// the guide's troubleshooting symptoms. Never changes anything.
import { DescribeReplicationConfigurationTemplatesCommand, DrsClient, SourceServer } from "@aws-sdk/client-drs";
import { GetEbsDefaultKmsKeyIdCommand, GetEbsEncryptionByDefaultCommand } from "@aws-sdk/client-ec2";
import { GetRoleCommand } from "@aws-sdk/client-iam";
import { DecryptCommand, DescribeKeyCommand, GetKeyPolicyCommand, GetKeyRotationStatusCommand, KeyMetadata } from "@aws-sdk/client-kms";
import { Settings } from "../../config";
import {
    PolicyDocument,
    TargetAccess,
    buildKeyPolicy,
    buildStagingRoleTrustPolicy,
    drsServiceLinkedRoleName,
    drsStagingRoleName,
    keyPolicySize,
    parseKeyArn,
    partitionOf,
} from "../../components/policies";
import { AwsAccess } from "../aws/access";
import { AwsCommandDeps, AwsCommandOptions, openStack } from "../aws/command";
import { allPages, isAccessDenied, MalformedAnswer, TimeLimitReached, Unchecked, UncheckedKind, uncheckedOf } from "../aws/faults";
import { attachedRolePolicies } from "../aws/iamReads";
import { Clock, Deadline, noDeadline, realClock } from "../clock";
import { delayedProgress } from "../io";
import { permissionsHelp } from "../permissions";
import { PriceTable, drsPriceIn, hoursPerMonth, money, pricesFor } from "../../plan/pricing";
import { nearLimit, quotas } from "../../plan/quotas";
import {
    ServerEncryption,
    describeEncryption,
    firstFew,
    healthyReplicationStates,
    hostnameOf,
    isOnKey,
    listSourceServers,
    readServerEncryption,
    replicatingHere,
} from "../aws/sourceServers";
import { StagingKeyExport, stagingKeysOf } from "../../program/contract";

/**
 * PASS, FAIL or WARN: the check ran. UNCHECKED: it could not run (why is in `unchecked`), which
 * is never a pass. INFO: a figure, not a judgement (the monthly cost).
 */
export type Status = "PASS" | "FAIL" | "WARN" | "UNCHECKED" | "INFO";

export interface CheckResult {
    check: string;
    /** account/Region the check is about (the account alone for account-wide checks). */
    scope: string;
    status: Status;
    message: string;
    fix?: string;
    /**
     * Every item the check reports (for the source-server checks, one entry per server), for
     * `--json`; the message shows counts and the first few only.
     */
    details?: Record<string, unknown>[];
    /** For UNCHECKED: why it could not run (and, for a refused call, the permission it needs). */
    unchecked?: Unchecked;
}

type CheckScope =
    "staging account" | "staging account and Region" | "staging key" | "multi-Region primary" | "target Region" | "key-user role" | "run";

/** Every check, in the order verify runs them, with how often it runs. */
const checks: { id: string; scope: CheckScope; what: string }[] = [
    {
        id: "drs-service-linked-role",
        scope: "staging account",
        what: "DRS's service-linked role AWSServiceRoleForElasticDisasterRecovery exists (DRS was initialised there)",
    },
    { id: "staging-drs-initialised", scope: "staging account and Region", what: "DRS answers: it is initialised in that Region" },
    { id: "key-state", scope: "staging key", what: "the key exists and is Enabled (not Disabled or PendingDeletion)" },
    { id: "key-rotation", scope: "staging key", what: "automatic rotation is as configured (on by default)" },
    { id: "key-policy", scope: "staging key", what: "the key policy is the one the program deploys (no drift)" },
    {
        id: "key-policy-size",
        scope: "staging key",
        what: `the key policy's bytes against KMS's ${quotas.keyPolicyBytes.value.toLocaleString("en-US")}`,
    },
    {
        id: "multi-region-replicas",
        scope: "multi-Region primary",
        what: "the key is still the multi-Region primary, and has a replica in each Region the stack exports one for",
    },
    { id: "staging-role", scope: "staging key", what: "DRSStagingAccountRole_<target> exists with the expected trust policy" },
    { id: "replication-template", scope: "staging key", what: "the DRS replication template uses ebsEncryption CUSTOM with this key" },
    {
        id: "source-server-encryption",
        scope: "staging key",
        what: "each source server replicating there has its own ebsEncryption CUSTOM with exactly this key",
    },
    {
        id: "replicating-capacity",
        scope: "staging key",
        what: `servers replicating in the staging account and Region against DRS's ${quotas.replicatingServers.value}`,
    },
    { id: "target-describe-key", scope: "staging key", what: "the target account can DescribeKey the key (the guide's verification step)" },
    {
        id: "target-direct-decrypt-denied",
        scope: "staging key",
        what: "a direct Decrypt from the target is denied: the key is usable only through EC2",
    },
    { id: "target-drs-initialised", scope: "target Region", what: "DRS answers in the target account: it is initialised in that Region" },
    {
        id: "target-ebs-encryption",
        scope: "target Region",
        what: "EBS encryption by default is on in the target, with a key of the target's own (not a staging account's)",
    },
    {
        id: "extended-source-servers",
        scope: "staging key",
        what: `source servers extended from the staging account into the target, against its ${quotas.replicatingServers.value}-server capacity`,
    },
    {
        id: "extended-server-replication",
        scope: "staging key",
        what: "no extended server has an extension error, and each replicates in a healthy state",
    },
    {
        id: "extended-server-drills",
        scope: "staging key",
        what: "each extended server's last drill or recovery launched, within --max-drill-age days (default 90): else it is unproven",
    },
    {
        id: "target-capacity",
        scope: "target Region",
        what: "servers extended into the target from the stack's staging accounts, against DRS's source servers per account and Region",
    },
    {
        id: "managed-policies-per-role",
        scope: "key-user role",
        what: "managed policies attached to each of target.keyUserRoleNames, against target.maxPoliciesPerRole (IAM's quota)",
    },
    {
        id: "monthly-cost",
        scope: "run",
        what: "INFO: the keys' and DRS's monthly cost from the live server counts (plan/pricing.ts, --prices)",
    },
];

/** Every check, for `verify --help` and the README. */
export const checkCatalog: [string, string][] = checks.map((c) => [c.id, c.what]);

const symptoms = {
    accessDenied: 'guide symptom "AccessDeniedException when target account tries to use key"',
    replication: 'guide symptom "Replication failed: Unable to encrypt EBS volumes"',
    recovery: 'guide symptom "Recovery failed: Unable to decrypt EBS snapshots"',
};

/** What `verify --help` says after the options: the checks, what they need, the exit codes. */
export function verifyHelp(): string {
    const group = (scope: CheckScope) => checks.filter((c) => c.scope === scope).map((c) => `  ${c.id.padEnd(30)} ${c.what}`);
    return [
        "Checks a deployed stack against real AWS, read-only: it never changes anything. It uses the roles",
        "the stack config names (stagingAccounts[].roleArn, target.roleArn or targets[].roleArn); without one, the current",
        "credentials, which must then be for that account. Each account is called in its entry's Region and",
        "partition (IAM in us-east-1, cn-north-1 or us-gov-west-1). It first checks, once, that the current",
        "credentials work (sts:GetCallerIdentity): if not, it says why and exits 2.",
        "",
        "Where the stack's outputs and config come from:",
        "  - with the Pulumi CLI on PATH and no --outputs: from the stack itself (the Automation API, as",
        "    `pulumi stack output` and `pulumi config` read them; secrets decrypted, and never printed);",
        "  - otherwise from files: --outputs (`pulumi stack output --json`, a file or - for stdin) and the",
        "    stack file (Pulumi.<stack>.yaml, or --config-file) under Pulumi.yaml's project config.",
        "",
        "Checks (PASS, FAIL or WARN, each with its fix; UNCHECKED when a check could not run, with why), once per",
        "staging account:",
        ...group("staging account"),
        "Once per staging account and Region:",
        ...group("staging account and Region"),
        "Per staging key (staging account and Region; each replica of a multi-Region key is a key of its own):",
        ...group("staging key"),
        "Once per multi-Region primary key (key.multiRegion):",
        ...group("multi-Region primary"),
        "Once per target Region (those in target.regions and those of the keys):",
        ...group("target Region"),
        "Once per role of target.keyUserRoleNames:",
        ...group("key-user role"),
        "Once, at the end:",
        ...group("run"),
        "",
        "Source servers: each server has its own replication settings; the template is only the default for",
        "servers added later. A server not on CUSTOM with exactly the key's ARN cannot be recovered in the",
        "target: `npm run -s align-servers -- -s <stack>` shows the changes, and with --apply makes them",
        "(a full sync may follow).",
        `Data replication states treated as healthy: ${healthyReplicationStates.join(", ")}. Every other state`,
        "(for example STALLED, DISCONNECTED, PAUSED, STOPPED, BACKLOG) is reported, as is an extension error.",
        "",
        "A FAIL names the guide's troubleshooting symptom it explains. A check that could not run is UNCHECKED,",
        "never passed, with why: its account could not be reached, a call was refused (and the permission it",
        "needs), AWS kept failing, an answer was not what AWS sends, no answer came in time (--request-timeout),",
        "or the --time-limit (default 30 minutes) came first. Throttled calls are retried by the AWS SDK",
        "(adaptive retry mode); every listing is bounded. Progress goes to stderr.",
        "",
        "Proof: an extended server whose last drill or recovery in the target failed, or that was never",
        `drilled, is unproven (WARN, naming the drill command); one drilled more than ${defaultMaxDrillAgeDays} days ago (--max-drill-age) too.`,
        "",
        "Multi-Region keys: a replica shares its primary's rotation (key-rotation on a replica reports the primary's,",
        "which only the primary can change). A missing replica leaves its Region's template and target policy naming",
        "a key that does not exist; a primary Region changed in AWS (UpdatePrimaryRegion) leaves the stack managing",
        "a replica as its primary.",
        "",
        ...permissionsHelp("verify"),
        "",
        "--json prints the results as one JSON array on stdout (check, scope, status, message, fix, and per",
        "server the full list in details); the text form shows counts and the first few servers only.",
        "",
        "Quotas come from plan/quotas.ts and prices from plan/pricing.ts (list prices, each with its source and",
        "date; --prices <file.json> replaces figures, e.g. a DRS price per server-hour): docs/cost-and-quotas.md.",
    ].join("\n");
}

export interface VerifyInput {
    settings: Settings;
    /** `pulumi stack output --json` of the stack. */
    outputs: Record<string, unknown>;
    /** The stack's name, for the commands the fixes name. */
    stack?: string;
    /** The --outputs file verify read (- for stdin), for the commands the fixes name; none: the stack's own. */
    outputsFile?: string;
    /** The price table for monthly-cost (--prices); default the list prices. */
    prices?: PriceTable;
    /** A server drilled or recovered longer ago than this is unproven again (--max-drill-age). */
    maxDrillAgeDays?: number;
}

export const defaultMaxDrillAgeDays = 90;

export interface VerifyOptions {
    /** Called with what is being checked (account and Region) as verify moves on. */
    progress?: (line: string) => void;
    /** The time limit (--time-limit): checks not begun by then are not checked. */
    deadline?: Deadline;
    /** What "now" is for the age of the last drill (the tests' fake clock). */
    clock?: Clock;
}

export async function verify(input: VerifyInput, aws: AwsAccess, options: VerifyOptions = {}): Promise<CheckResult[]> {
    const progress = options.progress ?? (() => undefined);
    const keys = stagingKeysOf(input.outputs);
    // Every target the stack serves (a stack of several lists them), and the targets of each key.
    const stackTargets = Array.isArray(input.outputs.targetAccountIds)
        ? (input.outputs.targetAccountIds as string[])
        : [String(input.outputs.targetAccountId ?? input.settings.target.accountId)];
    // A key's policy names every target it serves; a target stack checks only its own target's side.
    const policyTargetsOf = (key: StagingKeyExport) => key.targetAccountIds ?? stackTargets;
    const targetsOfKey = (key: StagingKeyExport) => policyTargetsOf(key).filter((t) => stackTargets.includes(t));
    const several = stackTargets.length > 1;
    const forTarget = (scope: string, target: string) => (several ? `${scope} for ${target}` : scope);
    const settingsOf = (target: string) => input.settings.targets.find((t) => t.accountId === target);
    const targetAccess = (input.outputs.targetAccess ?? input.settings.key.targetAccess) as TargetAccess;
    const outputsFlag = input.outputsFile ? ` --outputs ${input.outputsFile === "-" ? "<outputs file>" : input.outputsFile}` : "";
    const alignCommand = `npm run -s align-servers -- --stack ${input.stack ?? "<stack>"}${outputsFlag}`;
    const results: CheckResult[] = [];
    const deadline = options.deadline ?? noDeadline();
    const now = (options.clock ?? realClock).now();
    const maxDrillAge = input.maxDrillAgeDays ?? defaultMaxDrillAgeDays;
    const drillCommand = `npm run -s drill -- -s ${input.stack ?? "<target stack>"}`;
    const run = async (check: string, scope: string, account: string, body: () => Promise<Outcome>) => {
        const outcome = deadline.reached() ? notChecked(new TimeLimitReached(deadline.minutes), account) : await guarded(account, body);
        results.push({ check, scope, ...outcome });
    };
    // What the checks read that the capacity and cost checks count: servers replicating per staging
    // key, servers extended per key, each key policy's bytes.
    const replicating = new Map<string, number>();
    const extendedCounts = new Map(stackTargets.map((target) => [target, new Map<string, number>()]));
    const policyBytes = new Map<string, number>();

    // Account- and Region-wide checks run once, however many keys share the account or Region.
    const stagingPlaces = unique([...keys, ...input.settings.stagingAccounts].map((p) => `${p.accountId}/${p.region}`));
    const stagingRegions = (account: string) => stagingPlaces.filter((p) => p.startsWith(`${account}/`)).map((p) => p.split("/")[1]);
    const keysServing = (target: string) => keys.filter((k) => targetsOfKey(k).includes(target));
    const targetRegions = (target: string) => unique([...(settingsOf(target)?.regions ?? []), ...keysServing(target).map((k) => k.region)]);
    const done = new Set<string>();
    const once = async (id: string, body: () => Promise<void>) => {
        if (done.has(id)) return;
        done.add(id);
        await body();
    };
    const stagingPlaceChecks = async (account: string, region: string) => {
        await once(`role ${account}`, () =>
            run("drs-service-linked-role", account, account, () => drsServiceLinkedRole(aws, account, stagingRegions(account))),
        );
        await once(`staging DRS ${account}/${region}`, () =>
            run("staging-drs-initialised", `${account}/${region}`, account, () =>
                drsInitialised(aws, account, region, symptoms.replication),
            ),
        );
    };
    const targetRegionChecks = (target: string, region: string) =>
        once(`target DRS ${target}/${region}`, async () => {
            await run("target-drs-initialised", `${target}/${region}`, target, () =>
                drsInitialised(aws, target, region, symptoms.recovery),
            );
            await run("target-ebs-encryption", `${target}/${region}`, target, () => targetEbsEncryption(aws, target, region, keys));
        });

    // A multi-Region key's parts share account and key ID (mrk-...); each lives in its own Region.
    const family = (key: StagingKeyExport, part: "primary" | "replica") =>
        keys.filter((k) => k.multiRegionKey === part && k.accountId === key.accountId && k.keyId === key.keyId);
    for (const [i, key] of keys.entries()) {
        const scope = `${key.accountId}/${key.region}`;
        const targets = targetsOfKey(key);
        progress(
            `Checking key ${i + 1} of ${keys.length}: staging account ${key.accountId} in ${key.region}, and target account${targets.length > 1 ? "s" : ""} ${targets.join(", ")} there...`,
        );
        await stagingPlaceChecks(key.accountId, key.region);
        // One DescribeKey serves key-state and, for a primary, multi-region-replicas.
        let described: Promise<KeyMetadata | undefined> | undefined;
        const describeKey = () => (described ??= describe(aws, key));
        await run("key-state", scope, key.accountId, () => keyState(key, describeKey(), alignCommand));
        await run("key-rotation", scope, key.accountId, () =>
            keyRotation(aws, key, input.settings.key.enableKeyRotation, family(key, "primary")[0]),
        );
        await run("key-policy", scope, key.accountId, () =>
            keyPolicy(aws, key, policyTargetsOf(key), targetAccess, (bytes) => policyBytes.set(key.keyArn, bytes)),
        );
        await run("key-policy-size", scope, key.accountId, async () => keyPolicySizeOutcome(policyBytes.get(key.keyArn)));
        if (key.multiRegionKey === "primary")
            await run("multi-region-replicas", scope, key.accountId, () =>
                multiRegionReplicas(key, describeKey(), family(key, "replica"), alignCommand),
            );
        for (const target of targets) {
            await run("staging-role", forTarget(scope, target), key.accountId, () => stagingRole(aws, key, target));
        }
        await run("replication-template", scope, key.accountId, () => replicationTemplate(aws, key));
        await run("source-server-encryption", scope, key.accountId, () =>
            sourceServerEncryption(aws, key, alignCommand, (n) => replicating.set(key.keyArn, n)),
        );
        await run("replicating-capacity", scope, key.accountId, async () => replicatingCapacity(key, replicating.get(key.keyArn)));
        for (const target of targets) {
            const here = forTarget(scope, target);
            await run("target-describe-key", here, target, () => targetDescribeKey(aws, key, target));
            await run("target-direct-decrypt-denied", here, target, () => targetDirectDecrypt(aws, key, target));
            await targetRegionChecks(target, key.region);
            // One listing of the extended servers serves both checks.
            let extended: Promise<SourceServer[]> | undefined;
            const extendedServers = () =>
                (extended ??= aws.drs(target, key.region).then((drs) => listSourceServers(drs, { stagingAccountIDs: [key.accountId] })));
            await run("extended-source-servers", here, target, async () => {
                const listed = await extendedServers();
                extendedCounts.get(target)?.set(key.keyArn, listed.length);
                return extendedCapacity(key, listed);
            });
            await run("extended-server-replication", here, target, async () => extendedReplication(key, target, await extendedServers()));
            await run("extended-server-drills", here, target, async () =>
                extendedDrills(key, await extendedServers(), now, maxDrillAge, drillCommand),
            );
        }
    }
    // Configured places the outputs have no key for yet.
    for (const place of stagingPlaces) {
        const [account, region] = place.split("/");
        if (done.has(`staging DRS ${account}/${region}`)) continue;
        progress(`Checking staging account ${account} in ${region}...`);
        await stagingPlaceChecks(account, region);
    }
    for (const target of stackTargets) {
        for (const region of targetRegions(target)) {
            if (done.has(`target DRS ${target}/${region}`)) continue;
            progress(`Checking target account ${target} in ${region}...`);
            await targetRegionChecks(target, region);
        }
        for (const region of unique(keysServing(target).map((k) => k.region))) {
            const here = keysServing(target).filter((k) => k.region === region);
            await run("target-capacity", `${target}/${region}`, target, async () =>
                targetCapacity(target, region, here, extendedCounts.get(target)!),
            );
        }
        const targetSettings = settingsOf(target);
        const maxPolicies = targetSettings?.maxPoliciesPerRole ?? quotas.managedPoliciesPerRole.value;
        for (const role of unique((targetSettings?.keyUserRoleNames ?? []).map((r) => r.split("/").pop()!))) {
            progress(`Checking the managed policies of role ${role} in ${target}...`);
            await run("managed-policies-per-role", `${target}/${role}`, target, () =>
                managedPoliciesPerRole(aws, target, targetRegions(target)[0] ?? keys[0].region, role, maxPolicies),
            );
        }
    }
    results.push({
        check: "monthly-cost",
        scope: "all",
        ...monthlyCost(keys, replicating, pricesFor(input.prices, input.settings.pricing)),
    });
    return results;
}

/** The key policy's size against KMS's limit (docs/aws-requirements.md, Limits). */
function keyPolicySizeOutcome(bytes: number | undefined): Outcome {
    const limit = quotas.keyPolicyBytes.value;
    if (bytes === undefined) return dependsOn("key-policy", "the key policy could not be read");
    const share = `${bytes.toLocaleString("en-US")} of ${limit.toLocaleString("en-US")} bytes (${Math.round((bytes / limit) * 100)}%)`;
    if (bytes >= limit * nearLimit)
        return {
            status: "WARN",
            message: `The key policy takes ${share}: near KMS's limit.`,
            fix: "Fewer targets or statements per key: a key policy cannot grow past the limit.",
        };
    return { status: "PASS", message: `The key policy takes ${share}.` };
}

/** Servers replicating in the staging account and Region against DRS's 300 (docs/aws-requirements.md, Capacity). */
function replicatingCapacity(key: StagingKeyExport, count: number | undefined): Outcome {
    const limit = quotas.replicatingServers.value;
    const where = `${key.accountId}/${key.region}`;
    if (count === undefined) return dependsOn("source-server-encryption", `the servers replicating in ${where} could not be listed`);
    const usage = `${count} of ${limit} replicating servers in ${where}`;
    if (count >= limit * nearLimit)
        return {
            status: "WARN",
            message: `${usage}: near DRS's limit per account and Region.`,
            fix: "Replicate further servers into another staging account (a new staging entry), extended into the same target.",
        };
    return { status: "PASS", message: `${usage}.` };
}

/** The servers extended into one target Region from the stack's staging accounts, against the source-server quota. */
function targetCapacity(target: string, region: string, keys: StagingKeyExport[], counts: Map<string, number>): Outcome {
    const known = keys.filter((k) => counts.has(k.keyArn));
    if (known.length === 0) return dependsOn("extended-source-servers", `the extended servers in ${target}/${region} could not be listed`);
    const extended = known.reduce((t, k) => t + counts.get(k.keyArn)!, 0);
    const accounts = unique(known.filter((k) => counts.get(k.keyArn)! > 0).map((k) => k.accountId));
    const q = quotas.sourceServers;
    const quota = q.value;
    const message =
        `${extended} servers extended into ${target} in ${region} from ${accounts.length} of the stack's ${unique(keys.map((k) => k.accountId)).length} staging accounts; ` +
        `source servers per account and Region: ${quota.toLocaleString("en-US")}${q.confirmed ? "" : " (unconfirmed: check Service Quotas, AWS Elastic Disaster Recovery, L-E28BE5E0)"}` +
        `, of which the target's own and other stacks' servers use some too. Staging accounts per target: ${quotas.stagingAccountsPerTarget.note}.`;
    if (extended >= quota * nearLimit)
        return { status: "WARN", message, fix: "Ask for a higher quota (Service Quotas) or recover into a second target account." };
    return { status: "PASS", message };
}

/** Managed policies attached to a key-user role, against target.maxPoliciesPerRole (IAM's quota: docs/aws-requirements.md, Limits). */
async function managedPoliciesPerRole(aws: AwsAccess, target: string, region: string, role: string, max: number): Promise<Outcome> {
    const iam = await aws.iam(target, region);
    let count = 0;
    try {
        count = (await attachedRolePolicies(iam, role)).length;
    } catch (err) {
        if ((err as Error).name !== "NoSuchEntityException" && (err as Error).name !== "NoSuchEntity") throw err;
        return {
            status: "FAIL",
            message: `Role ${role} (target.keyUserRoleNames) does not exist in ${target}.`,
            fix: "Create the role, or correct target.keyUserRoleNames, then run `pulumi up` on the target stack.",
        };
    }
    const usage = `Role ${role} holds ${count} of ${max} managed policies (target.maxPoliciesPerRole)`;
    if (count >= max)
        return {
            status: "WARN",
            message: `${usage}: full; a further key-use policy (a larger fleet) could not be attached.`,
            fix: 'Raise IAM\'s "Managed policies per role" quota (up to 20) and target.maxPoliciesPerRole, or detach policies the role does not need.',
        };
    return { status: "PASS", message: `${usage}.` };
}

/** INFO: the keys' list price a month, and DRS's own charge for the servers replicating now. */
function monthlyCost(keys: StagingKeyExport[], replicating: Map<string, number>, prices: PriceTable): Outcome {
    const { keyMonth, rotationMonth, billedRotations } = prices.kms;
    const parts = [
        `${keys.length} staging keys: ${money(keys.length * keyMonth)} to ${money(keys.length * (keyMonth + billedRotations * rotationMonth))} a month as rotations add up (alert topic keys: see the plan's cost)`,
    ];
    const counted = keys.filter((k) => replicating.has(k.keyArn));
    const servers = counted.reduce((t, k) => t + replicating.get(k.keyArn)!, 0);
    const unpriced = unique(counted.filter((k) => drsPriceIn(prices, k.region) === undefined).map((k) => k.region));
    const drs = counted.reduce((t, k) => t + replicating.get(k.keyArn)! * (drsPriceIn(prices, k.region) ?? 0) * hoursPerMonth, 0);
    parts.push(
        unpriced.length > 0
            ? `DRS: ${servers} replicating servers now; no DRS price for ${unpriced.join(", ")} in the table: give it with --prices (drsServerHour)`
            : `DRS: ${servers} replicating servers now, ${money(drs)} a month at ${hoursPerMonth} hours`,
    );
    if (counted.length < keys.length) parts.push(`${keys.length - counted.length} keys' servers could not be counted`);
    return {
        status: "INFO",
        message: `${prices.origin} (plan/pricing.ts): ${parts.join("; ")}. Not included: KMS requests, the staging area's EC2 and EBS.`,
    };
}

function unique(items: string[]): string[] {
    return [...new Set(items)];
}

type Outcome = Omit<CheckResult, "check" | "scope">;

/** Runs a check; what stops it (an unreachable account, a refused call, a failing service, ...) makes it UNCHECKED, never passed. */
async function guarded(account: string, body: () => Promise<Outcome>): Promise<Outcome> {
    try {
        return await body();
    } catch (err) {
        return notChecked(err, account);
    }
}

/** What to do about each reason a check could not run. */
const uncheckedFixes: Record<UncheckedKind, string> = {
    unreachable: "Set roleArn for this account in the stack config, or run with its credentials.",
    refused:
        "Run verify with credentials that may read KMS, IAM, DRS and EC2 there: `npm run -s verify -- --print-policy` prints the policy.",
    "service-error": "AWS kept failing after the SDK's retries: run verify again later (AWS Health Dashboard for the Region).",
    malformed: "An answer was not what AWS sends (a proxy or endpoint in between?): run verify again, and report it if it stays.",
    timeout: "No answer in time: check the network, proxy or VPC endpoint, or raise --request-timeout.",
    "time-limit": "Run verify again with a longer --time-limit, or on fewer keys (--outputs of one staging stack).",
    "not-initialised": "See the staging-drs-initialised or target-drs-initialised check for this account and Region.",
    changing: "Run verify again in a few minutes.",
    depends: "See the check named, which could not run either.",
};

/** An UNCHECKED outcome for what stopped a check; an error that is none of the known kinds is a bug and is thrown. */
function notChecked(err: unknown, account: string): Outcome {
    const unchecked = uncheckedOf(err, account);
    if (!unchecked) throw err;
    const fix =
        unchecked.kind === "unreachable" && (err as { fix?: string }).fix ? (err as { fix: string }).fix : uncheckedFixes[unchecked.kind];
    return { status: "UNCHECKED", message: `Not checked: ${unchecked.why}.`, fix, unchecked };
}

/** A check that needs what another check read, which could not be read. */
function dependsOn(check: string, why: string): Outcome {
    return {
        status: "UNCHECKED",
        message: `Not checked: ${why} (see ${check}).`,
        fix: uncheckedFixes.depends,
        unchecked: { kind: "depends", why },
    };
}

/** How the messages name a key: multi-Region parts say which part they are. */
function keyLabel(key: StagingKeyExport): string {
    return key.multiRegionKey === "primary" ? "Multi-Region primary key" : key.multiRegionKey === "replica" ? "Replica key" : "Key";
}

/** The key's metadata, from its own account and Region (an mrk- ID is the same in every Region). */
async function describe(aws: AwsAccess, key: StagingKeyExport): Promise<KeyMetadata | undefined> {
    const kms = await aws.kms(key.accountId, key.region);
    return (await kms.send(new DescribeKeyCommand({ KeyId: key.keyId }))).KeyMetadata;
}

async function keyState(key: StagingKeyExport, described: Promise<KeyMetadata | undefined>, alignCommand: string): Promise<Outcome> {
    const label = `${keyLabel(key)} ${key.keyArn}`;
    // The CLI calls KMS in its default Region: name the key's own (a replica's is not the primary's).
    const cli = (command: string) => `aws kms ${command} --key-id ${key.keyArn} --region ${key.region}`;
    try {
        const m = await described;
        if (m?.KeyState === "Enabled") return { status: "PASS", message: `${label} is Enabled.` };
        if (m?.KeyState === "PendingDeletion" || m?.KeyState === "PendingReplicaDeletion") {
            // A primary scheduled for deletion waits for its replicas' deletion first (PendingReplicaDeletion).
            const when =
                m.KeyState === "PendingReplicaDeletion"
                    ? "once its replicas are deleted (PendingReplicaDeletion)"
                    : `on ${m.DeletionDate?.toISOString() ?? "an unknown date"}`;
            return {
                status: "FAIL",
                message: `${label} is scheduled for deletion ${when}: every snapshot it encrypted becomes unrecoverable then.`,
                fix: `${cli("cancel-key-deletion")}, then enable-key; ${symptoms.replication}, ${symptoms.recovery}.`,
            };
        }
        // Transient: a replica being created, or a primary Region being changed.
        if (m?.KeyState === "Creating" || m?.KeyState === "Updating") {
            const why = `${label} is ${m.KeyState}, for a moment`;
            return {
                status: "UNCHECKED",
                message: `Not checked: ${why}.`,
                fix: uncheckedFixes.changing,
                unchecked: { kind: "changing", why },
            };
        }
        return {
            status: "FAIL",
            message: `${label} is ${m?.KeyState}.`,
            fix: `${cli("enable-key")}; ${symptoms.replication}, ${symptoms.recovery}.`,
        };
    } catch (err) {
        if ((err as Error).name !== "NotFoundException") throw err;
        if (key.multiRegionKey === "replica") return missingReplicas([key], alignCommand);
        return {
            status: "FAIL",
            message: `${label} does not exist.`,
            fix: "Run `pulumi refresh` and `pulumi up` on the staging stack.",
        };
    }
}

/**
 * Rotation is a property a multi-Region key's parts share (docs/aws-requirements.md, Multi-Region keys and
 * adopting keys): KMS reports the primary's on a replica, and only the primary's can be changed.
 */
async function keyRotation(aws: AwsAccess, key: StagingKeyExport, expected: boolean, primary?: StagingKeyExport): Promise<Outcome> {
    const kms = await aws.kms(key.accountId, key.region);
    const { KeyRotationEnabled } = await kms.send(new GetKeyRotationStatusCommand({ KeyId: key.keyId }));
    const replica = key.multiRegionKey === "replica";
    const primaryName = primary ? `the primary key ${primary.keyArn}` : "its primary key";
    const shared = replica ? `, shared with ${primaryName}` : "";
    if (Boolean(KeyRotationEnabled) === expected)
        return { status: "PASS", message: `Rotation is ${expected ? "on" : "off, as configured"}${shared}.` };
    return {
        status: "FAIL",
        message: `Rotation is ${KeyRotationEnabled ? "on" : "off"}, but the config says ${expected ? "on" : "off"} (drift)${shared}.`,
        fix: replica
            ? `Run \`pulumi up\` on the staging stack: it sets rotation on ${primaryName}, and every replica follows it.`
            : "Run `pulumi up` on the staging stack.",
    };
}

async function keyPolicy(
    aws: AwsAccess,
    key: StagingKeyExport,
    targets: string[],
    targetAccess: TargetAccess,
    onBytes: (bytes: number) => void = () => undefined,
): Promise<Outcome> {
    const kms = await aws.kms(key.accountId, key.region);
    const iam = await aws.iam(key.accountId, key.region);
    // Each target's staging role as the key policy names it: its ARN, and its unique ID in the policy Id.
    let roles;
    try {
        roles = await Promise.all(
            targets.map(async (target) => {
                const { Role } = await iam.send(new GetRoleCommand({ RoleName: drsStagingRoleName(target) }));
                return {
                    targetAccountId: target,
                    stagingRoleArn: key.stagingRoleArns?.[target] ?? key.stagingRoleArn,
                    stagingRoleUniqueId: Role?.RoleId,
                };
            }),
        );
    } catch (err) {
        // The policy names the role by its unique ID: without the role there is nothing to compare with.
        if (!/^NoSuchEntity(Exception)?$/.test((err as Error).name ?? "")) throw err;
        return dependsOn("staging-role", `a staging role of ${key.accountId} does not exist, and the key policy names it by its unique ID`);
    }
    const [first, ...additionalTargets] = roles;
    const expected = buildKeyPolicy({ ...first, stagingAccountId: key.accountId, region: key.region, targetAccess, additionalTargets });
    const { Policy } = await kms.send(new GetKeyPolicyCommand({ KeyId: key.keyId, PolicyName: "default" }));
    const actual = JSON.parse(Policy ?? "{}");
    // KMS counts the policy as stored; its text's bytes, or the document's when only that is at hand.
    onBytes(Policy ? Buffer.byteLength(Policy, "utf8") : keyPolicySize(actual));
    const differences = policyDifferences(expected, actual);
    if (differences.length === 0) return { status: "PASS", message: "The key policy is the one the program deploys." };
    return {
        status: "FAIL",
        message: `The key policy differs from the one the program deploys: ${differences.join("; ")}.`,
        fix: `Run \`pulumi up\` on the staging stack (a replaced DRSStagingAccountRole shows here as a changed Id); guide symptoms "Key policy does not allow operation", ${symptoms.recovery}.`,
    };
}

/**
 * A multi-Region primary lists its replicas (DescribeKey, MultiRegionConfiguration.ReplicaKeys).
 * A replica the stack exports that AWS does not list is gone, while its Region's template and
 * target policy still name it. A disabled replica shows in its own key-state check.
 */
async function multiRegionReplicas(
    primary: StagingKeyExport,
    described: Promise<KeyMetadata | undefined>,
    replicas: StagingKeyExport[],
    alignCommand: string,
): Promise<Outcome> {
    let m: KeyMetadata | undefined;
    try {
        m = await described;
    } catch (err) {
        if ((err as Error).name !== "NotFoundException") throw err;
        return dependsOn("key-state", `the primary key ${primary.keyArn} does not exist`);
    }
    const config = m?.MultiRegionConfiguration;
    if (!m?.MultiRegion || !config) {
        // KMS never makes a key multi-Region after its creation (docs/aws-requirements.md, Multi-Region keys and adopting keys).
        return {
            status: "FAIL",
            message: `${primary.keyArn} is not a multi-Region key, but the stack exports it as the multi-Region primary.`,
            fix: "The stack's record is out of date: run `pulumi refresh` and `pulumi up` on the staging stack, then verify again.",
        };
    }
    if (config.MultiRegionKeyType !== "PRIMARY") {
        // While the primary Region changes, DescribeKey may show both keys as replicas.
        if (m.KeyState === "Updating")
            return {
                status: "UNCHECKED",
                message: `Not checked: the primary Region of ${primary.keyArn} is being changed (Updating).`,
                fix: uncheckedFixes.changing,
                unchecked: { kind: "changing", why: `the primary Region of ${primary.keyArn} is being changed (Updating)` },
            };
        const now = config.PrimaryKey;
        return {
            status: "FAIL",
            message:
                `${primary.keyArn} is no longer the multi-Region primary: it is a replica of ${now?.Arn ?? "a key in another Region"} ` +
                "(the primary Region was changed: UpdatePrimaryRegion). The staging stack manages the primary in " +
                `${primary.region}, and the replicas from there.`,
            fix:
                `Make ${primary.region} the primary Region again: aws kms update-primary-region --key-id ${primary.keyId} ` +
                `--primary-region ${primary.region} --region ${now?.Region ?? "<the current primary Region>"}; then run \`pulumi refresh\` on the staging stack.`,
        };
    }
    const listed = (config.ReplicaKeys ?? []).map((r) => r.Region ?? "");
    const missing = replicas.filter((r) => !listed.includes(r.region));
    if (missing.length > 0) return missingReplicas(missing, alignCommand, primary);
    const unexported = listed.filter((r) => !replicas.some((x) => x.region === r));
    const others = unexported.length > 0 ? ` AWS also lists replicas the stack does not export, in ${unexported.join(", ")}.` : "";
    if (replicas.length === 0)
        return { status: "PASS", message: `${primary.keyArn} is a multi-Region primary; the stack exports no replica of it.${others}` };
    return {
        status: "PASS",
        message: `${primary.keyArn} is the multi-Region primary, with its replicas in ${replicas.map((r) => r.region).join(", ")}.${others}`,
    };
}

/** Replicas that do not exist, as the primary's check and a replica's key-state report them. */
function missingReplicas(missing: StagingKeyExport[], alignCommand: string, primary?: StagingKeyExport): Outcome {
    const regions = missing.map((r) => r.region).join(", ");
    const one = missing.length === 1;
    const subject = primary
        ? `${primary.keyArn} has no replica in ${regions} (${missing.map((r) => r.keyArn).join(", ")})`
        : `Replica key ${missing[0].keyArn} does not exist`;
    return {
        status: "FAIL",
        message: `${subject}: the DRS replication template and the target policy ${one ? "there name a key" : "in each Region name a key"} that does not exist.`,
        fix:
            `Run \`pulumi up\` on the staging stack to create ${one ? "it" : "them"}; a replica that was deleted must be recreated: ` +
            `\`pulumi refresh\` first, as the stack still records it. Then re-align the servers in ${regions}: \`${alignCommand}\` ` +
            `lists the changes, and with --apply makes them; ${symptoms.replication}, ${symptoms.recovery}.`,
        details: missing.map((r) => ({ accountId: r.accountId, region: r.region, keyArn: r.keyArn })),
    };
}

async function stagingRole(aws: AwsAccess, key: StagingKeyExport, target: string): Promise<Outcome> {
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

async function replicationTemplate(aws: AwsAccess, key: StagingKeyExport): Promise<Outcome> {
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

async function targetDescribeKey(aws: AwsAccess, key: StagingKeyExport, target: string): Promise<Outcome> {
    const kms = await aws.kms(target, key.region);
    try {
        await kms.send(new DescribeKeyCommand({ KeyId: key.keyArn }));
        return { status: "PASS", message: `The target account can describe ${key.keyArn}.` };
    } catch (err) {
        if (!isAccessDenied(err)) throw err;
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
        await kms.send(new DecryptCommand({ KeyId: key.keyArn, CiphertextBlob: Buffer.from("drs-cross-account-kms verify") }));
        return {
            status: "FAIL",
            message: "A direct Decrypt from the target succeeded; it must be denied.",
            fix: "Run `pulumi up` on both stacks.",
        };
    } catch (err) {
        const name = (err as Error).name;
        if (isAccessDenied(err)) {
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

/** DRS's service-linked role in an account: docs/aws-requirements.md, "The staging account's DRS service-linked role". */

async function drsServiceLinkedRole(aws: AwsAccess, account: string, regions: string[]): Promise<Outcome> {
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
async function drsInitialised(aws: AwsAccess, account: string, region: string, symptom: string): Promise<Outcome> {
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

/** GetReplicationConfiguration calls in flight at once, per key. */
const serverReadConcurrency = 8;

/**
 * Each server has its own replication configuration; the template only holds the defaults for
 * servers added later (docs/aws-requirements.md, "Per-server replication settings").
 */
async function sourceServerEncryption(
    aws: AwsAccess,
    key: StagingKeyExport,
    alignCommand: string,
    onCount: (replicating: number) => void = () => undefined,
): Promise<Outcome> {
    const drs = await aws.drs(key.accountId, key.region);
    const where = `${key.accountId}/${key.region}`;
    const servers = replicatingHere(await listSourceServers(drs));
    onCount(servers.length);
    const read = await mapLimit(servers, serverReadConcurrency, (server) => readEncryptionIfExists(drs, server));
    const encryptions = read.filter((e): e is ServerEncryption => e !== undefined);
    const total = encryptions.length;
    if (total === 0) {
        return {
            status: "WARN",
            message: `No source server replicates in ${where} yet.`,
            fix: "Install the AWS Replication Agent on the source servers: new servers take the replication template's settings.",
        };
    }
    // Unencrypted servers need no key to be recovered in the target (docs/aws-requirements.md, "Unencrypted servers").
    const unencrypted = encryptions.filter((e) => e.ebsEncryption === "NONE");
    const off = encryptions.filter((e) => !isOnKey(e, key.keyArn) && e.ebsEncryption !== "NONE");
    const unencryptedNote =
        unencrypted.length > 0
            ? ` ${unencrypted.length} of ${total} replicate${unencrypted.length === 1 ? "s" : ""} unencrypted (ebsEncryption NONE): recoverable in the target without a key, ` +
              `but their staging disks and points in time are not encrypted: ${firstFew(unencrypted.map(serverLabel))}.`
            : "";
    const encryptFix = `To encrypt them with this key: \`${alignCommand} --include-unencrypted\` (a full sync may follow).`;
    const details = [...off, ...unencrypted].map((e) => ({ ...e, encryption: describeEncryption(e) }));
    if (off.length === 0 && unencrypted.length === 0) {
        return {
            status: "PASS",
            message:
                total === 1
                    ? `The one server replicating in ${where} uses ebsEncryption CUSTOM with this key.`
                    : `All ${total} servers replicating in ${where} use ebsEncryption CUSTOM with this key.`,
        };
    }
    if (off.length === 0) return { status: "WARN", message: unencryptedNote.trim(), fix: encryptFix, details };
    const kinds: [string, (e: ServerEncryption) => boolean][] = [
        ["DEFAULT (aws/ebs)", (e) => e.ebsEncryption === "DEFAULT"],
        ["on another key", (e) => e.ebsEncryption === "CUSTOM"],
        ["with unknown encryption", (e) => !["DEFAULT", "NONE", "CUSTOM"].includes(e.ebsEncryption ?? "")],
    ];
    const counts = kinds.map(([label, is]) => [off.filter(is).length, label] as const).filter(([n]) => n > 0);
    return {
        status: "FAIL",
        message:
            `${off.length} of ${total} server${total === 1 ? "" : "s"} replicating in ${where} ${off.length === 1 ? "is" : "are"} not on this key: ` +
            `${counts.map(([n, label]) => `${n} ${label}`).join(", ")}: ${firstFew(off.map(serverLabel))}.${unencryptedNote}`,
        fix:
            `Move them onto ${key.keyArn}: \`${alignCommand}\` lists the changes, and with --apply makes them. ` +
            `Changing a server's EBS encryption may need a full sync, and points in time taken before stay under the old key; ${symptoms.recovery}.` +
            (unencrypted.length > 0 ? ` ${encryptFix}` : ""),
        details,
    };
}

/** A server deleted since the listing has no replication configuration: it is skipped. */
async function readEncryptionIfExists(drs: DrsClient, server: SourceServer): Promise<ServerEncryption | undefined> {
    try {
        return await readServerEncryption(drs, server);
    } catch (err) {
        if ((err as Error).name === "ResourceNotFoundException") return undefined;
        throw err;
    }
}

function serverLabel(server: { sourceServerID?: string; hostname?: string }): string {
    return server.hostname ? `${server.sourceServerID} (${server.hostname})` : (server.sourceServerID ?? "?");
}

/** `fn` over `items` with at most `limit` calls in flight; the first error stops new calls and is thrown. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
    const results: R[] = new Array(items.length);
    let next = 0;
    let failed = false;
    const worker = async () => {
        while (!failed && next < items.length) {
            const i = next++;
            try {
                results[i] = await fn(items[i]);
            } catch (err) {
                failed = true;
                throw err;
            }
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
    return results;
}

function extendedCapacity(key: StagingKeyExport, servers: SourceServer[]): Outcome {
    const count = servers.length;
    const capacity = quotas.replicatingServers.value;
    const usage = `${count} of ${capacity}`;
    if (count === 0) {
        return {
            status: "WARN",
            message: `No extended source servers from ${key.accountId} in the target yet (${usage}).`,
            fix: "In the target's DRS console, extend the staging account's source servers.",
        };
    }
    if (count >= capacity * nearLimit) {
        return {
            status: "WARN",
            message: `${usage} replicating servers of ${key.accountId} are extended: near the per-account limit.`,
            fix: "Add another staging account for more servers.",
        };
    }
    return { status: "PASS", message: `${usage} servers of ${key.accountId} are extended into the target.` };
}

/** Extension errors and replication states that are not normal: docs/aws-requirements.md, "Data replication states". */
function extendedReplication(key: StagingKeyExport, target: string, servers: SourceServer[]): Outcome {
    const from = `${key.accountId} in ${key.region}`;
    if (servers.length === 0) return { status: "PASS", message: `No server is extended from ${from}: nothing to check.` };
    const extensionErrors = servers.filter((s) => s.stagingArea?.status === "EXTENSION_ERROR");
    const unhealthy = servers.filter((s) => s.stagingArea?.status !== "EXTENSION_ERROR" && !healthyReplicationStates.includes(stateOf(s)));
    if (extensionErrors.length + unhealthy.length === 0) {
        return {
            status: "PASS",
            message: `All ${servers.length} servers extended from ${from} replicate normally (${healthyReplicationStates.join(", ")}).`,
        };
    }
    const parts: string[] = [];
    if (extensionErrors.length > 0) {
        const shown = extensionErrors.map(
            (s) => `${serverLabel(serverIdentity(s))}: ${shorten(s.stagingArea?.errorMessage ?? "no message")}`,
        );
        parts.push(`${extensionErrors.length} with an extension error (${firstFew(shown, 3)})`);
    }
    if (unhealthy.length > 0) {
        const states = unique(unhealthy.map(stateOf)).map((state) => `${unhealthy.filter((s) => stateOf(s) === state).length} ${state}`);
        parts.push(
            `${unhealthy.length} not replicating normally (${states.join(", ")}: ${firstFew(unhealthy.map((s) => serverLabel(serverIdentity(s))))})`,
        );
    }
    const fixes: string[] = [];
    if (extensionErrors.length > 0)
        fixes.push(
            `Extension errors: read each server's message in the target's DRS console; DRS in ${key.accountId} and its ${drsStagingRoleName(target)} must be in place (see the checks above for that account).`,
        );
    if (unhealthy.length > 0)
        fixes.push(
            "Servers not replicating normally: look at their data replication in the staging account's DRS console (agent, replication server, network); until they are back to a healthy state, they cannot be recovered from a recent point in time.",
        );
    const bad = extensionErrors.length + unhealthy.length;
    return {
        status: "FAIL",
        message: `${bad} of ${servers.length} server${servers.length === 1 ? "" : "s"} extended from ${from} ${bad === 1 ? "needs" : "need"} attention: ${parts.join("; ")}.`,
        fix: fixes.join(" "),
        details: [...extensionErrors, ...unhealthy].map((s) => ({
            ...serverIdentity(s),
            stagingAreaStatus: s.stagingArea?.status,
            dataReplicationState: s.dataReplicationInfo?.dataReplicationState,
            errorMessage:
                s.stagingArea?.errorMessage ??
                ([s.dataReplicationInfo?.dataReplicationError?.error, s.dataReplicationInfo?.dataReplicationError?.rawError]
                    .filter(Boolean)
                    .join(": ") ||
                    undefined),
        })),
    };
}

/**
 * What proves a server recoverable in the target: its last launch there, a drill or a recovery
 * (lifeCycle.lastLaunch), launched, and recent enough. Never launched, or a last launch that
 * failed, is unproven (docs/aws-requirements.md, "Proof of recovery").
 */
function extendedDrills(key: StagingKeyExport, servers: SourceServer[], now: number, maxAgeDays: number, drillCommand: string): Outcome {
    const from = `${key.accountId} in ${key.region}`;
    if (servers.length === 0) return { status: "PASS", message: `No server is extended from ${from}: nothing to check.` };
    const day = 24 * 60 * 60_000;
    const rows = servers.map((s) => {
        const last = s.lifeCycle?.lastLaunch;
        const at = Date.parse(last?.initiated?.apiCallDateTime ?? "");
        return {
            ...serverIdentity(s),
            lastLaunchType: last?.initiated?.type,
            lastLaunchStatus: last?.status,
            lastLaunchAt: last?.initiated?.apiCallDateTime,
            lastLaunchJobID: last?.initiated?.jobID,
            ageDays: Number.isNaN(at) ? undefined : Math.floor((now - at) / day),
        };
    });
    const never = rows.filter((r) => !r.lastLaunchType || r.ageDays === undefined);
    const failed = rows.filter((r) => !never.includes(r) && r.lastLaunchStatus === "FAILED");
    const old = rows.filter((r) => !never.includes(r) && !failed.includes(r) && r.ageDays! > maxAgeDays);
    if (never.length + failed.length + old.length === 0)
        return {
            status: "PASS",
            message: `All ${servers.length} servers extended from ${from} were drilled or recovered within ${maxAgeDays} days, their last launch not failed.`,
        };
    const parts = [
        never.length > 0 ? `${never.length} never drilled or recovered (${firstFew(never.map(serverLabel), 3)})` : "",
        failed.length > 0
            ? `${failed.length} whose last ${failed.length === 1 ? "launch" : "launches"} failed (${firstFew(
                  failed.map((r) => `${serverLabel(r)}: ${r.lastLaunchType} ${r.lastLaunchAt}`),
                  3,
              )})`
            : "",
        old.length > 0
            ? `${old.length} last drilled or recovered more than ${maxAgeDays} days ago (${firstFew(
                  old.map((r) => `${serverLabel(r)}: ${r.ageDays} days`),
                  3,
              )})`
            : "",
    ].filter(Boolean);
    const unproven = never.length + failed.length;
    return {
        status: "WARN",
        message: `${unproven > 0 ? "Unproven: " : ""}${parts.join("; ")}, of the ${servers.length === 1 ? "1 server" : `${servers.length} servers`} extended from ${from}.`,
        fix:
            `Drill them in the target: \`${drillCommand} --server <id> --start\` (or --count <n> per staging entry); ` +
            `only a drill proves the chain of keys and roles (--max-drill-age sets the age, default ${defaultMaxDrillAgeDays} days).`,
        details: [...never, ...failed, ...old],
    };
}

/**
 * EBS encryption by default in the target, and its key: volumes EC2 creates there (outside DRS's own
 * settings, which decide the recovered volumes' key) use it, so it should be a key of the target's own.
 */
async function targetEbsEncryption(aws: AwsAccess, target: string, region: string, keys: StagingKeyExport[]): Promise<Outcome> {
    const ec2 = await aws.ec2(target, region);
    const { EbsEncryptionByDefault: on } = await ec2.send(new GetEbsEncryptionByDefaultCommand({}));
    if (typeof on !== "boolean") throw new MalformedAnswer("ec2:GetEbsEncryptionByDefault", "no EbsEncryptionByDefault");
    const where = `${target}/${region}`;
    const cli = (command: string) => `aws ec2 ${command} --region ${region}`;
    if (!on)
        return {
            status: "WARN",
            message: `EBS encryption by default is off in ${where}: volumes created there outside DRS's settings (a restored or re-encrypted recovered volume) are unencrypted unless asked.`,
            fix: `In the target: ${cli("enable-ebs-encryption-by-default")}, and ${cli("modify-ebs-default-kms-key-id --kms-key-id <a key of the target>")}.`,
        };
    const { KmsKeyId: keyId } = await ec2.send(new GetEbsDefaultKmsKeyIdCommand({}));
    const owner = keyId ? parseKeyArn(keyId)?.accountId : undefined;
    const staging = keys.find((k) => k.keyArn === keyId);
    if (staging || (owner && owner !== target))
        return {
            status: "WARN",
            message:
                `EBS encryption by default is on in ${where}, with ${keyId}, a key of ${staging ? `the staging account ${staging.accountId}` : `account ${owner}`}: ` +
                "every volume created there by default depends on that account's key, which may be lost with it in a disaster.",
            fix: `Make a key of the target the default: ${cli("modify-ebs-default-kms-key-id --kms-key-id <a key of the target>")}.`,
        };
    return {
        status: "PASS",
        message: `EBS encryption by default is on in ${where}, with ${keyId && /alias\/aws\/ebs$/.test(keyId) ? "the target's AWS managed key aws/ebs" : `the target's key ${keyId ?? "(AWS managed aws/ebs)"}`}.`,
    };
}

function stateOf(server: SourceServer): string {
    return server.dataReplicationInfo?.dataReplicationState ?? "UNKNOWN";
}

function serverIdentity(s: SourceServer): { sourceServerID?: string; hostname?: string } {
    return { sourceServerID: s.sourceServerID, hostname: hostnameOf(s) };
}

/** An AWS error message, cut short for the one-line summary (details keep it whole). */
function shorten(text: string, max = 120): string {
    return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
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
        `${r.status.padEnd(9)}  ${r.scope.padEnd(24)}  ${r.check.padEnd(28)}  ${r.message}`,
        ...(r.fix ? [`           fix: ${r.fix}`] : []),
    ]);
    const count = (s: Status) => results.filter((r) => r.status === s).length;
    return [
        ...lines,
        "",
        `${count("PASS")} passed, ${count("FAIL")} failed, ${count("WARN")} warnings, ${count("UNCHECKED")} not checked.`,
    ].join("\n");
}

/**
 * Exit code of a run: 1 when a check failed; else 3 when a check could not run; else 0 (warnings
 * included). 2 when no check could run at all.
 */
export function exitCodeOf(results: CheckResult[]): 0 | 1 | 2 | 3 {
    const judged = results.filter((r) => r.status !== "INFO");
    if (judged.length > 0 && judged.every((r) => r.status === "UNCHECKED")) return 2;
    if (judged.some((r) => r.status === "FAIL")) return 1;
    return judged.some((r) => r.status === "UNCHECKED") ? 3 : 0;
}

/**
 * The command as the CLI runs it: reads the stack (its own outputs and config through the Pulumi
 * CLI, or the files given), checks the credentials once, runs every check with progress on
 * stderr, and prints the results. Exit code: exitCodeOf (0, 1, 3), or 2 when no check could run.
 */
export async function verifyCommand(
    options: AwsCommandOptions & { prices?: PriceTable; maxDrillAgeDays?: number },
    deps: AwsCommandDeps,
): Promise<number> {
    const { stack, io, access, deadline, clock } = await openStack("verify", options, deps);
    const prices = options.prices;
    const progress = delayedProgress(io, deps.progressDelayMs ?? 1000);
    let results: CheckResult[];
    try {
        results = await verify(
            {
                settings: stack.settings,
                outputs: stack.outputs,
                stack: options.stack,
                outputsFile: options.outputsFile,
                prices,
                maxDrillAgeDays: options.maxDrillAgeDays,
            },
            access,
            { progress: progress.update, deadline, clock },
        );
    } finally {
        progress.done();
    }
    io.out(options.json ? `${JSON.stringify(results, null, 2)}\n` : `${formatResults(results)}\n`);
    const code = exitCodeOf(results);
    if (code === 2) io.err("error: no check could run: see the first result for why.\n");
    const unchecked = results.filter((r) => r.status === "UNCHECKED").length;
    if (code === 3)
        io.err(`warning: ${unchecked} check${unchecked === 1 ? "" : "s"} could not run (UNCHECKED, with why): not a pass. Exit code 3.\n`);
    return code;
}
