// drill: the proof that the target account can recover the staging accounts' servers with their
// keys. AWS does not document which target identity calls KMS during a recovery, so only a drill
// proves the chain (docs/aws-requirements.md, "Who calls KMS in the target (inferred)"). A plan by
// default; with --start a DRS drill (StartRecovery with isDrill true, never a recovery) as a role
// that holds the key-use policy, followed to its end, a KMS refusal behind a failure named from the
// staging account's CloudTrail, and what it launched terminated.
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import {
    DescribeJobLogItemsCommand,
    DescribeJobsCommand,
    DrsClient,
    GetLaunchConfigurationCommand,
    Job,
    JobLog,
    SourceServer,
    StartRecoveryCommand,
    StartRecoveryRequest,
    TerminateRecoveryInstancesCommand,
} from "@aws-sdk/client-drs";
import { GetRoleCommand, IAMClient, ListAttachedRolePoliciesCommand } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import type { Settings, StagingKeyExport } from "../config";
import { targetKeyUsePolicyName } from "../components/defaults";
import {
    PolicyDocument,
    TargetAccess,
    accountRootArn,
    allowStatements,
    awsPrincipals,
    buildKeyPolicy,
    buildTargetKeyUsePolicy,
    drsServiceLinkedRoleArn,
    drsServiceLinkedRoleName,
    drsStagingRoleName,
    grantsAction,
    isIdentityCenterRole,
    parseRoleArn,
    partitionOf,
} from "../components/policies";
import { AssumedRoleAccess, AwsAccess, DrillAccess, IdentitySession, UnreachableAccount, isDrillAccess } from "./awsAccess";
import { AwsCommandDeps, AwsCommandOptions, openStack } from "./awsCommand";
import { Io, delayedProgress } from "./io";
import { PriceTable, drsPriceIn, pricesFor } from "./pricing";
import {
    allPages,
    describeEncryption,
    firstFew,
    healthyReplicationStates,
    hostnameOf,
    isOnKey,
    listSourceServers,
    readServerEncryption,
} from "./sourceServers";
import { UsageError } from "./stackFiles";

/**
 * The IAM actions the command calls, by account and identity: the help lists exactly these, and a
 * test checks them against the calls.
 */
export const permissions = {
    /** In the target account, with target.roleArn (or your credentials): the plan's reads. */
    target: ["drs:DescribeSourceServers", "drs:GetLaunchConfiguration", "iam:GetRole", "iam:ListAttachedRolePolicies"],
    /** Your credentials, on the key-user role the drill runs as. */
    assume: ["sts:AssumeRole"],
    /** The drill's identity (the key-user role), in the target account. */
    identity: ["drs:StartRecovery", "drs:DescribeJobs", "drs:DescribeJobLogItems", "drs:TerminateRecoveryInstances"],
    /** In each staging account (stagingAccounts[].roleArn, --staging-role, or your credentials). */
    staging: ["drs:DescribeSourceServers", "drs:GetReplicationConfiguration", "cloudtrail:LookupEvents"],
};

/** The tag StartRecovery puts on the job: --cleanup terminates only what a job carrying it launched. */
export const drillTag = { key: "drs-cross-account-kms:tool", value: "drill" } as const;

export const defaultCount = 1;
export const defaultTimeoutMinutes = 60;
/** How often the job is read while it runs. */
export const defaultPollMs = 30_000;
/** LookupEvents allows two requests a second per account and Region (CloudTrail quotas): never faster. */
export const lookupEventsIntervalMs = 500;
/** At most this many LookupEvents pages (50 events each) per key: a busy account's KMS events are many. */
export const maxLookupPages = 100;
/** CloudTrail delivers an event within about 5 minutes, and up to 15. */
const trailDelayMinutes = 15;
/** The CloudTrail window opens this long before the job and closes this long after it. */
const windowMarginMs = 5 * 60_000;

/** Wall time and waiting, replaceable by the tests' fake clock. */
export interface Clock {
    now(): number;
    /** Resolves after `ms`, or as soon as `signal` aborts. */
    sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
    now: () => Date.now(),
    sleep: (ms, signal) =>
        new Promise((resolve) => {
            if (signal?.aborted) return resolve();
            const done = () => {
                clearTimeout(timer);
                signal?.removeEventListener("abort", done);
                resolve();
            };
            const timer = setTimeout(done, ms);
            signal?.addEventListener("abort", done, { once: true });
        }),
};

export type Mode = "dry-run" | "drill" | "cleanup" | "diagnose";

export interface DrillOptions {
    mode: Mode;
    /** --server: extended source servers in the target (or their staging servers' IDs). */
    servers?: string[];
    /** --count: servers per staging entry, picked from the healthy ones. */
    count?: number;
    /** --role: the key-user role to run as. */
    role?: string;
    /** --current-credentials: run as the current credentials rather than a key-user role. */
    currentCredentials?: boolean;
    /** --any-identity: run even when the identity holds no key-use policy. */
    anyIdentity?: boolean;
    timeoutMinutes?: number;
    keep?: boolean;
    /** --job, for --cleanup and --diagnose. */
    jobs?: string[];
    json?: boolean;
    /** This command line up to its mode flags (stack, --outputs, --config-file), for the commands the messages name. */
    command?: string;
    /** The price table for the plan's cost (--prices); default the list prices of tools/pricing.ts. */
    prices?: PriceTable;
}

export interface DrillDeps {
    io: Io;
    clock?: Clock;
    /** Aborted on Ctrl-C (SIGINT): the drill stops following the job and cleans up. */
    signal?: AbortSignal;
    pollMs?: number;
    /** Planning progress shows once the command has run this long. */
    progressDelayMs?: number;
    /** Told each job as soon as it starts (the command prints how to clean up after a second Ctrl-C). */
    onJobStarted?: (job: { jobID: string; region: string }) => void;
}

export interface DrillInput {
    settings: Settings;
    outputs: Record<string, unknown>;
    keys: StagingKeyExport[];
    stack: string;
}

/** The launch settings DRS applies to a server's drill instance (GetLaunchConfiguration in the target). */
export interface LaunchSummary {
    launchDisposition?: string;
    targetInstanceTypeRightSizingMethod?: string;
    copyPrivateIp?: boolean;
    copyTags?: boolean;
    osByol?: boolean;
    postLaunchEnabled?: boolean;
    ec2LaunchTemplateID?: string;
    launchIntoInstanceID?: string;
}

export type OnKey = "yes" | "no" | "not checked";

export interface PlannedServer {
    sourceServerID: string;
    hostname?: string;
    region: string;
    stagingAccountId: string;
    keyArn: string;
    /** The server in the staging account this one is extended from. */
    stagingSourceServerID?: string;
    /** dataReplicationState as the target sees it. */
    replicationState?: string;
    /** Its own replication configuration in the staging account: on its entry's key? */
    onKey: OnKey;
    encryption?: string;
    /** Why onKey is "not checked". */
    notChecked?: string;
    launch?: LaunchSummary;
    launchError?: string;
    /** Why this server cannot be drilled: the drill is refused. */
    problem?: string;
    warnings: string[];
}

export interface IdentityReport {
    how: "role" | "current credentials";
    /** Why this identity: the flag or setting that chose it. */
    why: string;
    roleName?: string;
    roleArn?: string;
    roleId?: string;
    /** The key-use policies attached to the role. */
    keyUsePolicies: string[];
    /** Key-use policies the stack's outputs list that the role does not hold. */
    missingPolicies: string[];
    /** undefined: not checked (checkError says why). */
    holdsKeyUse?: boolean;
    checkError?: string;
    /** sts:GetCallerIdentity with the drill's credentials: who ran it. */
    callerArn?: string;
    /** The identity cannot be used at all (not assumable, another account). */
    error?: string;
    /** It holds no key-use policy (or could not be checked): refused without --any-identity. */
    refusal?: string;
    /** --any-identity ran it despite the refusal. */
    overridden?: boolean;
}

/** "running": --diagnose of a job that has not ended. */
export type ServerStatus = "launched" | "failed" | "timed out" | "interrupted" | "running";

export interface ServerResult {
    sourceServerID: string;
    hostname?: string;
    region: string;
    jobID: string;
    status: ServerStatus;
    /** For failed, the job's own message; otherwise what happened. */
    message?: string;
    recoveryInstanceID?: string;
}

export interface JobReport {
    region: string;
    jobID: string;
    sourceServerIDs: string[];
    status?: string;
    creationDateTime?: string;
    endDateTime?: string;
    /** StartRecovery was refused: no job. */
    error?: string;
}

export interface CleanupReport {
    /** Recovery instances whose termination was requested. */
    terminated: string[];
    /** The TerminateRecoveryInstances jobs. */
    terminateJobIDs: string[];
    /** Already terminated, nothing to do. */
    alreadyGone: string[];
    /** Still running: clean-up failed for them. */
    left: { recoveryInstanceID: string; sourceServerID?: string; region: string; error: string }[];
    /** --keep: left on purpose. */
    kept: string[];
    /** Jobs that may still launch servers after this run (timed out, interrupted). */
    stillRunning: string[];
}

export interface Refusal {
    action: string;
    errorCode: string;
    errorMessage?: string;
    principal: string;
    principalAccount?: string;
    roleName?: string;
    /** The service the call came through (invokedBy, sourceIPAddress). */
    through: string;
    count: number;
    firstSeen: string;
    lastSeen: string;
    eventId?: string;
    sharedEventId?: string;
    cause: string;
    fix: string;
    /** The setting or statement that would allow it. */
    allowedBy?: string;
}

export interface KeyDiagnosis {
    accountId: string;
    region: string;
    keyArn: string;
    from: string;
    to: string;
    /** refusals: found some; none-yet: nothing, but events may still arrive; none; not-checked: CloudTrail could not be read. */
    status: "refusals" | "none-yet" | "none" | "not-checked";
    refusals: Refusal[];
    /** KMS events of the window looked at. */
    scanned: number;
    /** Stopped after maxLookupPages: older events were not read. */
    truncated: boolean;
    note: string;
}

export interface DrillReport {
    mode: Mode;
    stack: string;
    targetAccountId: string;
    targetAccess: TargetAccess;
    identity?: IdentityReport;
    plan?: {
        servers: PlannedServer[];
        /** --count picks passed over, and why. */
        skipped: { sourceServerID: string; hostname?: string; region: string; reason: string }[];
        notes: string[];
        count?: number;
        timeoutMinutes: number;
        expected: string;
        cost: string;
    };
    /** Why the drill does not (or would not) start. */
    blockers: string[];
    jobs: JobReport[];
    results: ServerResult[];
    cleanup?: CleanupReport;
    diagnosis: KeyDiagnosis[];
    exitCode: number;
}

/** The command cannot start (arguments, outputs, config): exit 2. */
export class CannotDrill extends UsageError {}

const failure = (err: unknown) => `${(err as Error).name ?? "Error"}: ${(err as Error).message}`;
const accessDenied = (err: unknown) => /AccessDenied|UnauthorizedOperation|NotAuthorized/i.test((err as Error).name ?? "");
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const serverName = (s: { sourceServerID: string; hostname?: string }) => `${s.sourceServerID}${s.hostname ? ` (${s.hostname})` : ""}`;
const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const keyUsePattern = new RegExp(`^${targetKeyUsePolicyName}(-\\d+)?$`);

/** The staging server's ID, from the extended server's stagingArea.stagingSourceServerArn. */
export function stagingServerIdOf(server: SourceServer): string | undefined {
    return /source-server\/(s-[0-9a-zA-Z]+)$/.exec(server.stagingArea?.stagingSourceServerArn ?? "")?.[1];
}

/** The StartRecovery request of a drill. The one place that builds it: isDrill is always true. */
export function drillRequest(sourceServerIDs: string[], stack: string): StartRecoveryRequest & { isDrill: true } {
    return {
        sourceServers: sourceServerIDs.map((sourceServerID) => ({ sourceServerID })),
        isDrill: true,
        // The tags land on the job, not on the instances: --cleanup --job finds the instances through the job.
        tags: { [drillTag.key]: drillTag.value, "drs-cross-account-kms:stack": stack },
    };
}

/** Plans, and in the mode asked, drills, cleans up or diagnoses; prints as it goes; returns the report. */
export async function drill(input: DrillInput, access: DrillAccess, options: DrillOptions, deps: DrillDeps): Promise<DrillReport> {
    const run = new DrillRun(input, access, options, deps);
    const report = await run.execute();
    run.print(report);
    return report;
}

class DrillRun {
    private readonly clock: Clock;
    private readonly io: Io;
    private readonly target: string;
    private readonly targetAccess: TargetAccess;
    private readonly regions: string[];
    private readonly sessions = new Map<string, Promise<IdentitySession>>();
    private identityRoleArn: string | undefined;
    private readonly knownRoleIds = new Map<string, string>();
    private readonly stagingClients = new Map<string, Promise<DrsClient>>();
    private readonly pace: (signal?: AbortSignal) => Promise<void>;
    private readonly started: number;

    constructor(
        private readonly input: DrillInput,
        private readonly access: DrillAccess,
        private readonly options: DrillOptions,
        private readonly deps: DrillDeps,
    ) {
        this.clock = deps.clock ?? realClock;
        this.io = deps.io;
        this.target = String(input.outputs.targetAccountId ?? input.settings.target.accountId);
        this.targetAccess = (input.outputs.targetAccess ?? input.settings.key.targetAccess) as TargetAccess;
        this.regions = [...new Set(input.keys.map((k) => k.region))];
        this.pace = pacer(this.clock, lookupEventsIntervalMs);
        this.started = this.clock.now();
    }

    private command(flags: string): string {
        return `${this.options.command ?? `npm run -s drill -- -s ${this.input.stack}`} ${flags}`;
    }

    private emptyReport(): DrillReport {
        return {
            mode: this.options.mode,
            stack: this.input.stack,
            targetAccountId: this.target,
            targetAccess: this.targetAccess,
            blockers: [],
            jobs: [],
            results: [],
            diagnosis: [],
            exitCode: 0,
        };
    }

    async execute(): Promise<DrillReport> {
        const report = this.emptyReport();
        if (this.options.mode === "cleanup" || this.options.mode === "diagnose") {
            await this.byJob(report);
            return report;
        }
        const progress = delayedProgress(this.io, this.deps.progressDelayMs ?? 1000);
        try {
            report.plan = await this.plan(progress.update);
            report.identity = await this.resolveIdentity(report.plan.servers[0]?.region ?? this.regions[0], true);
        } finally {
            progress.done();
        }
        report.blockers = this.blockers(report);
        if (this.options.mode === "dry-run" || report.blockers.length > 0) {
            report.exitCode = report.blockers.length > 0 ? 2 : 0;
            return report;
        }
        if (this.deps.signal?.aborted) {
            report.blockers.push("Interrupted before the drill started: nothing was started.");
            report.exitCode = 2;
            return report;
        }
        await this.start(report);
        return report;
    }

    // ---- The plan ----

    private async plan(progress: (line: string) => void): Promise<NonNullable<DrillReport["plan"]>> {
        const named = this.options.servers && this.options.servers.length > 0 ? this.options.servers : undefined;
        const count = named ? undefined : (this.options.count ?? defaultCount);
        const servers: PlannedServer[] = [];
        const skipped: NonNullable<DrillReport["plan"]>["skipped"] = [];
        const notes: string[] = [];
        const found = new Set<string>();
        const targetClients = new Map<string, Promise<DrsClient>>();
        const targetDrs = (region: string) => {
            if (!targetClients.has(region)) targetClients.set(region, this.access.drs(this.target, region));
            return targetClients.get(region)!;
        };
        for (const key of this.input.keys) {
            const scope = `${key.accountId}/${key.region}`;
            progress(`Listing the servers extended from ${scope} into the target ${this.target}...`);
            const drs = await targetDrs(key.region);
            const extended = (await listSourceServers(drs, { stagingAccountIDs: [key.accountId] })).filter(
                (s) => (s.stagingArea?.stagingAccountID ?? key.accountId) === key.accountId,
            );
            if (named) {
                for (const server of extended) {
                    const id = server.sourceServerID ?? "";
                    const stagingId = stagingServerIdOf(server);
                    const names = named.filter((n) => n === id || n === stagingId);
                    const asked = names[0];
                    if (!asked || found.has(id)) continue;
                    for (const n of [...names, id]) found.add(n);
                    const planned = await this.planServer(drs, key, server);
                    if (asked !== id)
                        planned.warnings.push(`--server ${asked} is the staging server; its extended server in the target is ${id}.`);
                    servers.push(planned);
                }
                continue;
            }
            progress(`Picking ${plural(count!, "healthy server")} extended from ${scope}...`);
            let picked = 0;
            for (const server of extended) {
                if (picked >= count!) break;
                const id = server.sourceServerID ?? "";
                const reason = this.unpickable(server);
                if (reason) {
                    skipped.push({ sourceServerID: id, hostname: hostnameOf(server), region: key.region, reason });
                    continue;
                }
                const planned = await this.planServer(drs, key, server);
                if (planned.onKey === "no") {
                    skipped.push({
                        sourceServerID: id,
                        hostname: planned.hostname,
                        region: key.region,
                        reason: `not on its entry's key (${planned.encryption})`,
                    });
                    continue;
                }
                servers.push(planned);
                picked++;
            }
            if (picked < count!) {
                notes.push(
                    picked === 0
                        ? `No healthy extended server from ${scope} to drill (${plural(extended.length, "server")} extended): its key is not proven by this drill.`
                        : `Only ${picked} of ${count} healthy extended servers from ${scope} to drill.`,
                );
            }
        }
        if (named) {
            for (const id of named.filter((n) => !found.has(n))) {
                servers.push({
                    sourceServerID: id,
                    region: "?",
                    stagingAccountId: "?",
                    keyArn: "?",
                    onKey: "not checked",
                    warnings: [],
                    problem: `no server extended from the stack's staging accounts has this ID in the target ${this.target} (Regions ${this.regions.join(", ")}).`,
                });
            }
        }
        const timeoutMinutes = this.options.timeoutMinutes ?? defaultTimeoutMinutes;
        const drillable = servers.filter((s) => !s.problem);
        const regions = [...new Set(drillable.map((s) => s.region))];
        return {
            servers,
            skipped,
            notes,
            count,
            timeoutMinutes,
            expected:
                `${plural(regions.length, "job")} (one per Region${regions.length > 0 ? `: ${regions.join(", ")}` : ""}) with ${plural(drillable.length, "server")}, ` +
                `from the latest data (DRS takes an on-demand snapshot); DRS usually launches drill instances in 10 to 30 minutes, ` +
                `longer for many or large disks. This run follows the job for up to ${timeoutMinutes} minutes (--timeout).`,
            cost: drillCost(
                pricesFor(this.options.prices, this.input.settings.pricing),
                drillable,
                timeoutMinutes,
                this.options.keep ?? false,
            ),
        };
    }

    /** Why --count does not pick this server, or undefined. */
    private unpickable(server: SourceServer): string | undefined {
        const area = server.stagingArea;
        if (area?.status !== "EXTENDED")
            return `stagingArea ${area?.status ?? "unknown"}${area?.errorMessage ? `: ${area.errorMessage}` : ""}`;
        const state = server.dataReplicationInfo?.dataReplicationState ?? "UNKNOWN";
        if (!healthyReplicationStates.includes(state)) return `replication ${state}, not ${healthyReplicationStates.join(", ")}`;
        if (server.recoveryInstanceId) return `has a recovery instance already (${server.recoveryInstanceId})`;
        return undefined;
    }

    private async planServer(targetDrs: DrsClient, key: StagingKeyExport, server: SourceServer): Promise<PlannedServer> {
        const id = server.sourceServerID ?? "";
        const planned: PlannedServer = {
            sourceServerID: id,
            hostname: hostnameOf(server),
            region: key.region,
            stagingAccountId: key.accountId,
            keyArn: key.keyArn,
            stagingSourceServerID: stagingServerIdOf(server),
            replicationState: server.dataReplicationInfo?.dataReplicationState,
            onKey: "not checked",
            warnings: [],
        };
        const area = server.stagingArea;
        if (area?.status !== "EXTENDED") {
            planned.problem =
                area?.status === "EXTENSION_ERROR"
                    ? `extension error: ${area.errorMessage ?? "no message"}. Fix the extension first (verify's extended-server-replication check).`
                    : `not extended from a staging account (stagingArea ${area?.status ?? "unknown"}).`;
        } else if (server.recoveryInstanceId) {
            planned.problem =
                `it has a recovery instance already (${server.recoveryInstanceId}), perhaps a real recovery: a drill could replace it. ` +
                "Terminate it first if it is a previous drill's (--cleanup --job <that drill's job>), or drill another server.";
        } else if (!healthyReplicationStates.includes(planned.replicationState ?? "UNKNOWN")) {
            planned.warnings.push(
                `replication is ${planned.replicationState ?? "UNKNOWN"}, not ${healthyReplicationStates.join(", ")}: the drill launches from its last point in time.`,
            );
        }
        await this.checkOnKey(key, planned);
        if (planned.onKey === "no" && !planned.problem) {
            planned.problem =
                `its replication in ${key.accountId} is ${planned.encryption}, not its entry's key ${key.keyArn}: it cannot be recovered in the target. ` +
                "Move it first: npm run -s align-servers -- -s <staging stack> --server " +
                `${planned.stagingSourceServerID ?? "<its staging server ID>"} --apply.`;
        }
        try {
            const c = await targetDrs.send(new GetLaunchConfigurationCommand({ sourceServerID: id }));
            planned.launch = {
                launchDisposition: c.launchDisposition,
                targetInstanceTypeRightSizingMethod: c.targetInstanceTypeRightSizingMethod,
                copyPrivateIp: c.copyPrivateIp,
                copyTags: c.copyTags,
                osByol: c.licensing?.osByol,
                postLaunchEnabled: c.postLaunchEnabled,
                ec2LaunchTemplateID: c.ec2LaunchTemplateID,
                launchIntoInstanceID: c.launchIntoInstanceProperties?.launchIntoEC2InstanceID,
            };
            if (c.copyPrivateIp)
                planned.warnings.push(
                    "copyPrivateIp is on: the drill instance takes the source server's private IP; launch into an isolated subnet (the EC2 launch template's).",
                );
            if (c.launchIntoInstanceProperties?.launchIntoEC2InstanceID)
                planned.warnings.push(
                    `it launches into the existing instance ${c.launchIntoInstanceProperties.launchIntoEC2InstanceID}: a drill would use that instance.`,
                );
        } catch (err) {
            planned.launchError = failure(err);
        }
        return planned;
    }

    /** The staging server's own replication configuration (docs/aws-requirements.md, "Per-server replication settings"). */
    private async checkOnKey(key: StagingKeyExport, planned: PlannedServer): Promise<void> {
        const stagingId = planned.stagingSourceServerID;
        if (!stagingId) {
            planned.notChecked = "the target does not name the staging server (stagingArea.stagingSourceServerArn).";
            return;
        }
        try {
            const drs = await this.stagingDrs(key.accountId, key.region);
            const [staged] = await listSourceServers(drs, { sourceServerIDs: [stagingId] });
            if (!staged) {
                planned.notChecked = `no source server ${stagingId} in ${key.accountId}/${key.region}.`;
                return;
            }
            const encryption = await readServerEncryption(drs, staged);
            planned.onKey = isOnKey(encryption, key.keyArn) ? "yes" : "no";
            planned.encryption = describeEncryption(encryption);
        } catch (err) {
            planned.notChecked =
                err instanceof UnreachableAccount
                    ? `${err.message} (give a role with --staging-role, or run on a stack whose config names stagingAccounts[].roleArn).`
                    : accessDenied(err)
                      ? `the credentials for ${key.accountId} may not read it (${failure(err)}).`
                      : `${failure(err)}.`;
        }
    }

    private stagingDrs(account: string, region: string): Promise<DrsClient> {
        const id = `${account}/${region}`;
        if (!this.stagingClients.has(id)) this.stagingClients.set(id, this.access.drs(account, region));
        return this.stagingClients.get(id)!;
    }

    // ---- The identity the drill runs as ----

    private session(region: string): Promise<IdentitySession> {
        if (!this.sessions.has(region)) this.sessions.set(region, this.access.identity(this.identityRoleArn, region));
        return this.sessions.get(region)!;
    }

    /**
     * Which identity starts the drill: a key-user role assumed with the current credentials (--role, or
     * the first of target.keyUserRoleNames), or the current credentials themselves (--current-credentials,
     * or no keyUserRoleNames: Identity Center permission sets). With `check`, whether it holds the
     * key-use policies; without them KMS refuses it, and the drill would fail for the wrong reason.
     */
    private async resolveIdentity(region: string, check: boolean): Promise<IdentityReport> {
        const { keyUserRoleNames } = this.input.settings.target;
        const roleName = this.options.currentCredentials ? undefined : (this.options.role ?? keyUserRoleNames[0]);
        const report: IdentityReport = {
            how: roleName ? "role" : "current credentials",
            why: "",
            keyUsePolicies: [],
            missingPolicies: [],
        };
        if (roleName) {
            report.roleName = roleName;
            const listed = keyUserRoleNames.some((n) => n.toLowerCase() === roleName.toLowerCase());
            report.why = this.options.role
                ? `--role ${roleName}${listed ? "" : " (not in target.keyUserRoleNames)"}`
                : `the first of target.keyUserRoleNames${keyUserRoleNames.length > 1 ? ` (${keyUserRoleNames.join(", ")}; --role names another)` : ""}`;
            await this.readRole(report, check);
            if (report.error) return report;
            report.roleArn ??= `arn:${partitionOf(region)}:iam::${this.target}:role/${roleName}`;
            this.identityRoleArn = report.roleArn;
            try {
                await this.session(region);
            } catch (err) {
                report.error =
                    `cannot assume ${report.roleArn} with your credentials (${failure(err)}): its trust policy must allow them, ` +
                    "and they need sts:AssumeRole on it.";
                return report;
            }
        } else {
            report.why = this.options.currentCredentials
                ? "--current-credentials"
                : "target.keyUserRoleNames is empty (the stack gives the key-use policies to IAM Identity Center permission sets, if any): " +
                  "the drill runs with your current credentials. Sign in with a permission set that references the key-use policies, " +
                  "in the target account (aws sso login; AWS_PROFILE of that permission set there).";
        }
        let caller: { Arn?: string; Account?: string };
        try {
            caller = await (await this.session(region)).sts.send(new GetCallerIdentityCommand({}));
        } catch (err) {
            report.error = `cannot tell who the drill's credentials are (sts:GetCallerIdentity: ${failure(err)}).`;
            return report;
        }
        report.callerArn = caller.Arn;
        if (caller.Account && caller.Account !== this.target) {
            report.error = `the drill's credentials are for account ${caller.Account}, not the target ${this.target}: recovery starts in the target account.`;
            return report;
        }
        if (!roleName) {
            const assumed = /:assumed-role\/([^/]+)\//.exec(caller.Arn ?? "")?.[1];
            if (assumed) {
                report.roleName = assumed;
                await this.readRole(report, check);
            } else {
                report.checkError = `${caller.Arn ?? "the current identity"} is not a role session: only roles are checked.`;
            }
        }
        if (!check) return report;
        const who = report.roleName ? `role ${report.roleName}` : (report.callerArn ?? "the current identity");
        if (report.holdsKeyUse === false && report.keyUsePolicies.length === 0) {
            report.refusal =
                `${who} holds no key-use policy (${targetKeyUsePolicyName} or ${targetKeyUsePolicyName}-<n>): KMS would refuse it the staging keys, ` +
                `and the drill would fail for that reason. Run as a role in target.keyUserRoleNames (--role), add this role there and ` +
                "`pulumi up` the target stack, or insist with --any-identity.";
        } else if (report.holdsKeyUse === false) {
            report.refusal =
                `${who} holds ${report.keyUsePolicies.join(", ")} but not ${report.missingPolicies.join(", ")}: the keys in ${report.missingPolicies.length === 1 ? "that policy" : "those policies"} would be refused. ` +
                "`pulumi up` the target stack (it attaches every key-use policy to each role in keyUserRoleNames), or insist with --any-identity.";
        } else if (report.holdsKeyUse === undefined) {
            report.refusal = `could not check that ${who} holds a key-use policy (${report.checkError}). Grant iam:GetRole and iam:ListAttachedRolePolicies in the target, or insist with --any-identity.`;
        }
        if (report.refusal && this.options.anyIdentity) report.overridden = true;
        return report;
    }

    /** GetRole (its ARN: roles may have paths) and, with `check`, its attached key-use policies. */
    private async readRole(report: IdentityReport, check: boolean): Promise<void> {
        const roleName = report.roleName!;
        let iam: IAMClient;
        try {
            iam = await this.access.iam(this.target, this.regions[0]);
            const { Role } = await iam.send(new GetRoleCommand({ RoleName: roleName }));
            report.roleArn = Role?.Arn;
            report.roleId = Role?.RoleId;
            if (Role?.RoleId) this.knownRoleIds.set(Role.RoleId, roleName);
        } catch (err) {
            if (/NoSuchEntity/.test((err as Error).name ?? "")) {
                report.error = `role ${roleName} does not exist in the target account ${this.target}.`;
                report.holdsKeyUse = false;
                return;
            }
            report.checkError = `iam:GetRole ${roleName}: ${failure(err)}`;
            return;
        }
        if (!check) return;
        try {
            const names: string[] = [];
            let marker: string | undefined;
            do {
                const page = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName, Marker: marker }));
                names.push(...(page.AttachedPolicies ?? []).map((p) => p.PolicyName ?? ""));
                marker = page.IsTruncated ? page.Marker : undefined;
            } while (marker);
            report.keyUsePolicies = names.filter((n) => keyUsePattern.test(n));
            report.missingPolicies = this.expectedPolicies().filter((n) => !report.keyUsePolicies.includes(n));
            report.holdsKeyUse = report.keyUsePolicies.length > 0 && report.missingPolicies.length === 0;
        } catch (err) {
            report.checkError = `iam:ListAttachedRolePolicies ${roleName}: ${failure(err)}`;
        }
    }

    /** The key-use policies the stack created (its targetKeyUsePolicyArns output), by name. */
    private expectedPolicies(): string[] {
        const arns = this.input.outputs.targetKeyUsePolicyArns;
        if (!Array.isArray(arns)) return [];
        return arns.filter((a): a is string => typeof a === "string").map((a) => a.split("/").pop() ?? a);
    }

    private blockers(report: DrillReport): string[] {
        const blockers: string[] = [];
        const plan = report.plan!;
        for (const s of plan.servers) if (s.problem) blockers.push(`${serverName(s)}: ${s.problem}`);
        if (plan.servers.length === 0) blockers.push("No server to drill: no healthy extended server was found (see the notes).");
        const identity = report.identity;
        if (identity?.error) blockers.push(`Identity: ${identity.error}`);
        else if (identity?.refusal && !identity.overridden) blockers.push(`Identity: ${identity.refusal}`);
        return blockers;
    }

    // ---- The drill ----

    private async start(report: DrillReport): Promise<void> {
        const plan = report.plan!;
        const byRegion = new Map<string, PlannedServer[]>();
        for (const s of plan.servers) byRegion.set(s.region, [...(byRegion.get(s.region) ?? []), s]);
        const runs: { job: JobReport; drs: DrsClient; servers: PlannedServer[]; log: JobLog[]; current?: Job }[] = [];
        for (const [region, servers] of byRegion) {
            const ids = servers.map((s) => s.sourceServerID);
            const job: JobReport = { region, jobID: "", sourceServerIDs: ids };
            report.jobs.push(job);
            try {
                const { drs } = await this.session(region);
                const answer = await drs.send(new StartRecoveryCommand(drillRequest(ids, this.input.stack)));
                if (!answer.job?.jobID) throw new Error("StartRecovery returned no job");
                job.jobID = answer.job.jobID;
                job.status = answer.job.status;
                job.creationDateTime = answer.job.creationDateTime;
                runs.push({ job, drs, servers, log: [], current: answer.job });
                this.deps.onJobStarted?.({ jobID: job.jobID, region });
                this.io.err(
                    `Started drill job ${job.jobID} in ${region} (${plural(ids.length, "server")}) as ${report.identity?.callerArn ?? "the drill identity"}. ` +
                        `If this run is stopped, clean up with: ${this.command(`--cleanup --job ${job.jobID}`)}\n`,
                );
            } catch (err) {
                job.error = `StartRecovery was refused: ${failure(err)}`;
                this.io.err(`error: ${region}: ${job.error}\n`);
            }
        }
        if (runs.length === 0) {
            report.exitCode = 2;
            return;
        }
        const outcome = await this.follow(runs);
        for (const run of runs) {
            for (const s of run.servers) report.results.push(this.resultOf(run.job.jobID, run.current, run.log, s, outcome));
            run.job.status = run.current?.status ?? run.job.status;
            run.job.endDateTime = run.current?.endDateTime;
        }
        for (const job of report.jobs.filter((j) => j.error)) {
            for (const id of job.sourceServerIDs) {
                const s = plan.servers.find((x) => x.sourceServerID === id)!;
                report.results.push({
                    sourceServerID: id,
                    hostname: s.hostname,
                    region: job.region,
                    jobID: "",
                    status: "failed",
                    message: job.error,
                });
            }
        }
        report.cleanup = await this.cleanUp(
            runs.map((r) => ({ jobID: r.job.jobID, region: r.job.region, drs: r.drs, finished: r.current?.status === "COMPLETED" })),
            this.options.keep ?? false,
        );
        const unlaunched = report.results.filter((r) => r.status !== "launched" && r.jobID);
        if (unlaunched.length > 0 && outcome !== "interrupted") {
            const keys = this.keysOf(plan.servers.filter((s) => unlaunched.some((u) => u.sourceServerID === s.sourceServerID)));
            const from = Math.min(...runs.map((r) => Date.parse(r.job.creationDateTime ?? "") || this.started)) - 60_000;
            const jobEnd = Math.max(...runs.map((r) => Date.parse(r.current?.endDateTime ?? "") || this.clock.now()));
            report.diagnosis = await this.diagnose(
                keys,
                from,
                this.clock.now(),
                jobEnd,
                runs.map((r) => r.job.jobID),
            );
        }
        // Instances left running by a failed clean-up cost money until someone acts: that is a finding too.
        report.exitCode = report.results.every((r) => r.status === "launched") && report.cleanup.left.length === 0 ? 0 : 1;
    }

    /** Reads each job until all complete, the timeout passes or Ctrl-C; progress on stderr. */
    private async follow(
        runs: { job: JobReport; drs: DrsClient; servers: PlannedServer[]; log: JobLog[]; current?: Job }[],
    ): Promise<"completed" | "timed out" | "interrupted"> {
        const pollMs = this.deps.pollMs ?? defaultPollMs;
        const deadline = this.clock.now() + (this.options.timeoutMinutes ?? defaultTimeoutMinutes) * 60_000;
        const signal = this.deps.signal;
        const stamp = () => {
            const s = Math.round((this.clock.now() - this.started) / 1000);
            return `[${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}]`;
        };
        const shown = new Map<string, string>();
        const done = new Set<string>();
        for (;;) {
            for (const run of runs) {
                if (done.has(run.job.jobID)) continue;
                try {
                    const { items } = await run.drs.send(new DescribeJobsCommand({ filters: { jobIDs: [run.job.jobID] } }));
                    run.current = items?.[0] ?? run.current;
                    const log = await jobLog(run.drs, run.job.jobID);
                    for (const item of log.slice(run.log.length)) this.io.err(`${stamp()} ${run.job.jobID} ${describeLogItem(item)}\n`);
                    run.log = log;
                } catch (err) {
                    this.io.err(`${stamp()} warning: reading job ${run.job.jobID} failed (${failure(err)}); trying again.\n`);
                    continue;
                }
                const servers = (run.current?.participatingServers ?? [])
                    .map((p) => `${p.sourceServerID} ${p.launchStatus ?? "?"}`)
                    .join(", ");
                const line = `job ${run.current?.status ?? "?"}: ${servers || "no server yet"}`;
                if (run.current?.status === "COMPLETED") done.add(run.job.jobID);
                if (shown.get(run.job.jobID) !== line) {
                    shown.set(run.job.jobID, line);
                    this.io.err(`${stamp()} ${run.job.jobID} ${line}\n`);
                }
            }
            if (runs.every((r) => done.has(r.job.jobID))) return "completed";
            if (signal?.aborted) return "interrupted";
            const left = deadline - this.clock.now();
            if (left <= 0) return "timed out";
            await this.clock.sleep(Math.min(pollMs, left), signal);
            if (signal?.aborted) return "interrupted";
        }
    }

    private resultOf(
        jobID: string,
        job: Job | undefined,
        log: JobLog[],
        server: { sourceServerID: string; hostname?: string; region: string },
        outcome: "completed" | "timed out" | "interrupted" | "running",
    ): ServerResult {
        const base = { sourceServerID: server.sourceServerID, hostname: server.hostname, region: server.region, jobID };
        const p = job?.participatingServers?.find((x) => x.sourceServerID === server.sourceServerID);
        const recoveryInstanceID = p?.recoveryInstanceID;
        if (p?.launchStatus === "LAUNCHED")
            return { ...base, status: "launched", recoveryInstanceID, message: `recovery instance ${recoveryInstanceID ?? "?"}` };
        const said = failureMessage(log, server.sourceServerID);
        if (p?.launchStatus === "FAILED" || p?.launchStatus === "TERMINATED" || job?.status === "COMPLETED") {
            const what =
                p?.launchStatus === "TERMINATED"
                    ? "its recovery instance was terminated before the job ended"
                    : "the job reports it failed";
            return { ...base, status: "failed", recoveryInstanceID, message: said ?? `${what}, without a message in the job log` };
        }
        const state = p?.launchStatus ?? "PENDING";
        if (outcome === "interrupted")
            return { ...base, status: "interrupted", recoveryInstanceID, message: `stopped by Ctrl-C while ${state}` };
        if (outcome === "running")
            return { ...base, status: "running", recoveryInstanceID, message: `${state}: the job is still ${job?.status ?? "running"}` };
        return {
            ...base,
            status: "timed out",
            recoveryInstanceID,
            message: `still ${state} after ${this.options.timeoutMinutes ?? defaultTimeoutMinutes} minutes${said ? ` (last failure in the log: ${said})` : ""}`,
        };
    }

    // ---- Clean-up ----

    /**
     * Terminates the jobs' recovery instances (unless --keep), re-reading each job first: a server may
     * have launched since the last read. What could not be terminated is listed, with how to finish.
     */
    private async cleanUp(
        jobs: { jobID: string; region: string; drs: DrsClient; finished: boolean }[],
        keep: boolean,
    ): Promise<CleanupReport> {
        const report: CleanupReport = { terminated: [], terminateJobIDs: [], alreadyGone: [], left: [], kept: [], stillRunning: [] };
        for (const { jobID, region, drs, finished } of jobs) {
            let job: Job | undefined;
            try {
                job = (await drs.send(new DescribeJobsCommand({ filters: { jobIDs: [jobID] } }))).items?.[0];
            } catch (err) {
                report.left.push({ recoveryInstanceID: "(unknown)", region, error: `could not read job ${jobID}: ${failure(err)}` });
                continue;
            }
            if (job?.status !== "COMPLETED" && !finished) report.stillRunning.push(jobID);
            const servers = job?.participatingServers ?? [];
            const live = servers.filter((p) => p.recoveryInstanceID && p.launchStatus !== "TERMINATED");
            report.alreadyGone.push(
                ...servers.filter((p) => p.recoveryInstanceID && p.launchStatus === "TERMINATED").map((p) => p.recoveryInstanceID!),
            );
            const ids = live.map((p) => p.recoveryInstanceID!);
            if (ids.length === 0) continue;
            if (keep) {
                report.kept.push(...ids);
                continue;
            }
            try {
                const answer = await drs.send(new TerminateRecoveryInstancesCommand({ recoveryInstanceIDs: ids }));
                report.terminated.push(...ids);
                if (answer.job?.jobID) report.terminateJobIDs.push(answer.job.jobID);
            } catch (err) {
                for (const p of live)
                    report.left.push({
                        recoveryInstanceID: p.recoveryInstanceID!,
                        sourceServerID: p.sourceServerID,
                        region,
                        error: failure(err),
                    });
            }
        }
        return report;
    }

    // ---- --cleanup --job and --diagnose --job ----

    private async byJob(report: DrillReport): Promise<void> {
        const jobs = this.options.jobs ?? [];
        report.identity = await this.resolveIdentity(this.regions[0], false);
        if (report.identity.error) {
            report.blockers.push(`Identity: ${report.identity.error}`);
            report.exitCode = 2;
            return;
        }
        const found: { job: Job; region: string; drs: DrsClient }[] = [];
        for (const jobID of jobs) {
            let hit: { job: Job; region: string; drs: DrsClient } | undefined;
            const errors: string[] = [];
            for (const region of this.regions) {
                try {
                    const { drs } = await this.session(region);
                    const job = (await drs.send(new DescribeJobsCommand({ filters: { jobIDs: [jobID] } }))).items?.find(
                        (j) => j.jobID === jobID,
                    );
                    if (job) {
                        hit = { job, region, drs };
                        break;
                    }
                } catch (err) {
                    errors.push(`${region}: ${failure(err)}`);
                }
            }
            if (!hit) {
                report.blockers.push(
                    `Job ${jobID}: not found in the target ${this.target} in ${this.regions.join(", ")}${errors.length > 0 ? ` (${errors.join("; ")})` : ""}.`,
                );
                continue;
            }
            const ours = hit.job.tags?.[drillTag.key] === drillTag.value && hit.job.initiatedBy !== "START_RECOVERY";
            if (!ours && this.options.mode === "cleanup") {
                report.blockers.push(
                    `Job ${jobID} was not started by this command's drill (no tag ${drillTag.key}=${drillTag.value}; initiated by ${hit.job.initiatedBy ?? "?"}): ` +
                        "its instances may be a real recovery's, and are left alone. Terminate drill instances in the DRS console (Recovery instances) if they are.",
                );
                continue;
            }
            found.push(hit);
            report.jobs.push({
                region: hit.region,
                jobID,
                sourceServerIDs: (hit.job.participatingServers ?? []).map((p) => p.sourceServerID ?? ""),
                status: hit.job.status,
                creationDateTime: hit.job.creationDateTime,
                endDateTime: hit.job.endDateTime,
            });
        }
        if (report.blockers.length > 0) {
            report.exitCode = 2;
            return;
        }
        if (this.options.mode === "cleanup") {
            report.cleanup = await this.cleanUp(
                found.map((f) => ({ jobID: f.job.jobID!, region: f.region, drs: f.drs, finished: true })),
                false,
            );
            report.exitCode = report.cleanup.left.length > 0 ? 1 : 0;
            return;
        }
        // --diagnose: each server's result from its job, then CloudTrail for the keys of the job's servers.
        const servers: PlannedServer[] = [];
        for (const { job, region, drs } of found) {
            const log = await jobLog(drs, job.jobID!);
            const ids = (job.participatingServers ?? []).map((p) => p.sourceServerID ?? "").filter(Boolean);
            const targetDrs = await this.access.drs(this.target, region);
            const described = ids.length > 0 ? await listSourceServers(targetDrs, { sourceServerIDs: ids }) : [];
            for (const id of ids) {
                const s = described.find((x) => x.sourceServerID === id);
                const account = s?.stagingArea?.stagingAccountID;
                const key = this.input.keys.find((k) => k.accountId === account && k.region === region);
                servers.push({
                    sourceServerID: id,
                    hostname: s ? hostnameOf(s) : undefined,
                    region,
                    stagingAccountId: account ?? "?",
                    keyArn: key?.keyArn ?? "?",
                    onKey: "not checked",
                    warnings: [],
                });
                const result = this.resultOf(
                    job.jobID!,
                    job,
                    log,
                    { sourceServerID: id, hostname: s ? hostnameOf(s) : undefined, region },
                    "running",
                );
                report.results.push(result);
            }
        }
        const from = Math.min(...found.map((f) => Date.parse(f.job.creationDateTime ?? "") || this.clock.now())) - windowMarginMs;
        const jobEnd = Math.max(...found.map((f) => Date.parse(f.job.endDateTime ?? "") || this.clock.now()));
        const to = Math.min(this.clock.now(), jobEnd + windowMarginMs);
        report.diagnosis = await this.diagnose(this.keysOf(servers), from, to, jobEnd, jobs);
        const refused = report.diagnosis.some((d) => d.refusals.length > 0);
        report.exitCode = refused || report.results.some((r) => r.status !== "launched") ? 1 : 0;
    }

    private keysOf(servers: { stagingAccountId: string; region: string }[]): StagingKeyExport[] {
        return this.input.keys.filter((k) => servers.some((s) => s.stagingAccountId === k.accountId && s.region === k.region));
    }

    // ---- KMS diagnosis ----

    /**
     * The refused KMS calls on each key in its staging account's CloudTrail (the key owner's account
     * records cross-account calls too), between `from` and `to`, each explained with the setting or
     * statement that would allow it. `jobEnd`: calls stop then, and arrive up to 15 minutes later.
     */
    private async diagnose(keys: StagingKeyExport[], from: number, to: number, jobEnd: number, jobIDs: string[]): Promise<KeyDiagnosis[]> {
        const results: KeyDiagnosis[] = [];
        const rerun = this.command(`--diagnose ${jobIDs.map((j) => `--job ${j}`).join(" ")}`);
        for (const key of keys) {
            const d: KeyDiagnosis = {
                accountId: key.accountId,
                region: key.region,
                keyArn: key.keyArn,
                from: isoSeconds(from),
                to: isoSeconds(to),
                status: "none",
                refusals: [],
                scanned: 0,
                truncated: false,
                note: "",
            };
            results.push(d);
            this.io.err(
                `Looking up refused KMS calls on ${key.keyArn} in CloudTrail of ${key.accountId} (${key.region}), ${d.from} to ${d.to}...\n`,
            );
            let events: TrailRecord[];
            try {
                const trail = await this.access.cloudTrail(key.accountId, key.region);
                const found = await lookUpKeyErrors(trail, key, new Date(from), new Date(to), this.pace, this.deps.signal);
                events = found.records;
                d.scanned = found.scanned;
                d.truncated = found.truncated;
            } catch (err) {
                d.status = "not-checked";
                const why =
                    err instanceof UnreachableAccount
                        ? `${err.message}`
                        : accessDenied(err)
                          ? `the credentials for ${key.accountId} may not call cloudtrail:LookupEvents (${failure(err)})`
                          : failure(err);
                d.note =
                    `Not checked: ${why}. Give a role in ${key.accountId} that may call cloudtrail:LookupEvents with --staging-role, then: ${rerun}. ` +
                    `Or look by hand (README, "If a drill fails with a KMS access error").`;
                continue;
            }
            d.refusals = explainAll(events, {
                target: this.target,
                stagingAccount: key.accountId,
                region: key.region,
                keyArn: key.keyArn,
                targetAccess: this.targetAccess,
                keyUserRoleNames: this.input.settings.target.keyUserRoleNames,
                identityCenter: this.input.settings.identityCenter !== undefined,
                stagingStacks: this.input.settings.stagingStacks ?? [],
                deploy: this.input.settings.deploy,
                stack: this.input.stack,
                knownRoleIds: this.knownRoleIds,
                stagingRoleArn: key.stagingRoleArns?.[this.target] ?? key.stagingRoleArn,
                otherTargets: (key.targetAccountIds ?? [])
                    .filter((t) => t !== this.target)
                    .map((t) => ({ targetAccountId: t, stagingRoleArn: key.stagingRoleArns?.[t] ?? "" })),
            });
            const truncated = d.truncated ? ` Only the newest ${d.scanned} KMS events of the window were read.` : "";
            if (d.refusals.length > 0) {
                d.status = "refusals";
                d.note = `${plural(d.refusals.length, "kind")} of refused KMS call on the key.${truncated}`;
            } else if (this.clock.now() < jobEnd + trailDelayMinutes * 60_000) {
                d.status = "none-yet";
                d.note =
                    `CloudTrail has nothing yet: no refused KMS call on the key among ${plural(d.scanned, "KMS event")} so far. Events take minutes to arrive ` +
                    `(about 5, up to ${trailDelayMinutes}). Re-run only the diagnosis in a few minutes: ${rerun}${truncated}`;
            } else {
                d.status = "none";
                d.note =
                    `No refused KMS call on the key among ${plural(d.scanned, "KMS event")} of the window: the failure is not a KMS refusal in ` +
                    `${key.accountId}; read the job's message.${truncated}`;
            }
        }
        return results;
    }

    // ---- Output ----

    print(report: DrillReport): void {
        if (this.options.json) {
            this.io.out(`${JSON.stringify(report, null, 2)}\n`);
            return;
        }
        this.io.out(`${formatReport(report, this.command.bind(this))}\n`);
    }
}

/** Every item of a job's log, all pages. */
function jobLog(drs: DrsClient, jobID: string): Promise<JobLog[]> {
    return allPages((nextToken) => drs.send(new DescribeJobLogItemsCommand({ jobID, nextToken })));
}

const failureEvents = /FAIL|SKIPPED/;

function describeLogItem(item: JobLog): string {
    const d = item.eventData;
    const server = d?.sourceServerID ? ` ${d.sourceServerID}` : "";
    const instance = d?.targetInstanceID ? ` ${d.targetInstanceID}` : "";
    return `${item.event ?? "?"}${server}${instance}${d?.rawError ? `: ${d.rawError}` : ""}`;
}

/** The job's own message for a server: its last failure in the log (or the job's, naming no server). */
function failureMessage(log: JobLog[], sourceServerID: string): string | undefined {
    const failures = log.filter((i) => failureEvents.test(i.event ?? ""));
    const mine = failures.filter((i) => i.eventData?.sourceServerID === sourceServerID);
    const item = (mine.length > 0 ? mine : failures.filter((i) => !i.eventData?.sourceServerID)).pop();
    return item ? `${item.event}: ${item.eventData?.rawError ?? "no message"}` : undefined;
}

/** At most one call per `intervalMs`: waits on `clock` as needed before each call. */
export function pacer(clock: Clock, intervalMs: number): (signal?: AbortSignal) => Promise<void> {
    let last = Number.NEGATIVE_INFINITY;
    return async (signal) => {
        const wait = last + intervalMs - clock.now();
        if (wait > 0) await clock.sleep(wait, signal);
        last = clock.now();
    };
}

/** A CloudTrail record, as far as the diagnosis reads it. */
export interface TrailRecord {
    eventTime?: string;
    eventName?: string;
    errorCode?: string;
    errorMessage?: string;
    sourceIPAddress?: string;
    eventID?: string;
    sharedEventID?: string;
    userIdentity?: {
        type?: string;
        arn?: string;
        accountId?: string;
        principalId?: string;
        invokedBy?: string;
        sessionContext?: { sessionIssuer?: { type?: string; arn?: string; userName?: string; accountId?: string } };
    };
}

/**
 * KMS events (EventSource kms.amazonaws.com) of the window that name the key and carry an
 * errorCode, newest first, at most maxLookupPages pages, paced to CloudTrail's rate.
 */
async function lookUpKeyErrors(
    trail: CloudTrailClient,
    key: StagingKeyExport,
    from: Date,
    to: Date,
    pace: (signal?: AbortSignal) => Promise<void>,
    signal?: AbortSignal,
): Promise<{ records: TrailRecord[]; scanned: number; truncated: boolean }> {
    const records: TrailRecord[] = [];
    let scanned = 0;
    let pages = 0;
    let nextToken: string | undefined;
    do {
        if (pages >= maxLookupPages) return { records, scanned, truncated: true };
        await pace(signal);
        if (signal?.aborted) throw Object.assign(new Error("stopped by Ctrl-C"), { name: "Interrupted" });
        const page = await trail.send(
            new LookupEventsCommand({
                LookupAttributes: [{ AttributeKey: "EventSource", AttributeValue: "kms.amazonaws.com" }],
                StartTime: from,
                EndTime: to,
                MaxResults: 50,
                NextToken: nextToken,
            }),
        );
        pages++;
        for (const event of page.Events ?? []) {
            scanned++;
            const text = event.CloudTrailEvent ?? "";
            const onKey = text.includes(key.keyId) || (event.Resources ?? []).some((r) => r.ResourceName === key.keyArn);
            if (!onKey) continue;
            let record: TrailRecord;
            try {
                record = JSON.parse(text) as TrailRecord;
            } catch {
                continue;
            }
            if (record.errorCode) records.push({ ...record, eventName: record.eventName ?? event.EventName });
        }
        nextToken = page.NextToken;
    } while (nextToken);
    return { records, scanned, truncated: false };
}

export interface DiagnosisContext {
    target: string;
    stagingAccount: string;
    region: string;
    keyArn: string;
    targetAccess: TargetAccess;
    keyUserRoleNames: string[];
    identityCenter: boolean;
    stagingStacks: string[];
    deploy: Settings["deploy"];
    stack: string;
    /** Role unique IDs (AROA...) to names, for records that give only a principalId. */
    knownRoleIds: Map<string, string>;
    /** The key's DRSStagingAccountRole_<target> (the stack's stagingKeys output). */
    stagingRoleArn: string;
    /** The key's other targets, when it serves several: its policy has a statement set for each. */
    otherTargets?: { targetAccountId: string; stagingRoleArn: string }[];
}

interface Principal {
    label: string;
    arn?: string;
    accountId?: string;
    type?: string;
    roleName?: string;
}

function principalOf(r: TrailRecord, known: Map<string, string>): Principal {
    const id = r.userIdentity ?? {};
    const issuer = id.sessionContext?.sessionIssuer;
    const arn = id.arn ?? issuer?.arn ?? /User: (arn:\S+) is not authorized/.exec(r.errorMessage ?? "")?.[1];
    const accountId = id.accountId ?? issuer?.accountId ?? arn?.split(":")[4];
    const roleName =
        (issuer?.type === "Role" ? issuer.userName : undefined) ??
        /:assumed-role\/([^/]+)\//.exec(arn ?? "")?.[1] ??
        (arn ? parseRoleArn(arn)?.name : undefined) ??
        known.get((id.principalId ?? "").split(":")[0]);
    const label =
        arn ??
        (roleName
            ? `role ${roleName} of ${accountId}`
            : `${id.type ?? "an identity"} ${id.principalId ?? ""} of ${accountId ?? "an unknown account"}`.trim());
    return { label, arn, accountId, type: id.type, roleName };
}

/** The service a call came through: the service that made it for the caller, or where it came from. */
function throughOf(r: TrailRecord): { through: string; direct: boolean } {
    const by = r.userIdentity?.invokedBy;
    if (by) return { through: by, direct: false };
    const ip = r.sourceIPAddress;
    if (ip && /amazonaws\.com$/.test(ip)) return { through: ip, direct: false };
    if (ip === "AWS Internal") return { through: "an AWS service (AWS Internal)", direct: false };
    return ip ? { through: `directly, from ${ip}`, direct: true } : { through: "unknown", direct: false };
}

/** Groups the records by who, what and how, and explains each. */
export function explainAll(records: TrailRecord[], ctx: DiagnosisContext): Refusal[] {
    const groups = new Map<string, Refusal>();
    for (const r of records) {
        const principal = principalOf(r, ctx.knownRoleIds);
        const { through } = throughOf(r);
        const action = `kms:${r.eventName ?? "?"}`;
        const id = [principal.label, action, r.errorCode, through].join("|");
        const time = r.eventTime ?? "";
        const existing = groups.get(id);
        if (existing) {
            existing.count++;
            if (time < existing.firstSeen) existing.firstSeen = time;
            if (time > existing.lastSeen) existing.lastSeen = time;
            continue;
        }
        groups.set(id, {
            action,
            errorCode: r.errorCode ?? "",
            errorMessage: r.errorMessage,
            principal: principal.label,
            principalAccount: principal.accountId,
            roleName: principal.roleName,
            through,
            count: 1,
            firstSeen: time,
            lastSeen: time,
            eventId: r.eventID,
            sharedEventId: r.sharedEventID,
            ...explain(r, principal, ctx),
        });
    }
    return [...groups.values()];
}

/** The Sid of the first Allow statement of `doc` that grants `action` (to `principal`, when given). */
function allowing(doc: PolicyDocument, action: string, principal?: string): string | undefined {
    return allowStatements(doc).find((st) => grantsAction(st, action) && (!principal || awsPrincipals(st).includes(principal)))?.Sid;
}

/**
 * What the program's own policies allow for this key, from the builders the stacks deploy (so the
 * diagnosis cannot drift from them): the key policy, and the target's key-use policy, per mode.
 */
function programPolicies(ctx: DiagnosisContext) {
    const partition = partitionOf(ctx.region);
    const keyPolicy = (targetAccess: TargetAccess) =>
        buildKeyPolicy({
            stagingAccountId: ctx.stagingAccount,
            targetAccountId: ctx.target,
            region: ctx.region,
            stagingRoleArn: ctx.stagingRoleArn,
            targetAccess,
            additionalTargets: ctx.otherTargets,
        });
    const keyUse = (targetAccess: TargetAccess) => buildTargetKeyUsePolicy({ keyArns: [ctx.keyArn], targetAccess });
    return {
        targetRoot: accountRootArn(partition, ctx.target),
        serviceLinkedRole: drsServiceLinkedRoleArn(partition, ctx.stagingAccount),
        keyPolicy,
        keyUse,
    };
}

/** Why KMS refused this call, and the setting or statement that would allow it. */
export function explain(r: TrailRecord, p: Principal, ctx: DiagnosisContext): { cause: string; fix: string; allowedBy?: string } {
    const action = `kms:${r.eventName ?? "?"}`;
    const { direct, through } = throughOf(r);
    const ec2 = `ec2.${ctx.region}.amazonaws.com`;
    const verifyStaging = "run verify on the staging stack (its key-policy check), then `pulumi up` it";
    const event = r.sharedEventID ? `sharedEventID ${r.sharedEventID}` : `eventID ${r.eventID ?? "?"}`;
    if (!/AccessDenied/i.test(r.errorCode ?? "")) {
        if (/Disabled|KMSInvalidState/.test(r.errorCode ?? ""))
            return {
                cause: `the key could not be used (${r.errorCode}): it is disabled or pending deletion.`,
                fix: `Run verify on the staging stack (its key-state check); enable the key (aws kms enable-key --key-id ${ctx.keyArn} --region ${ctx.region}).`,
            };
        return {
            cause: `KMS answered ${r.errorCode}: ${r.errorMessage ?? "no message"}.`,
            fix: "Not an access refusal: read the event in CloudTrail.",
        };
    }
    const policies = programPolicies(ctx);
    const other: TargetAccess = ctx.targetAccess === "documented" ? "ebs-shared-snapshots" : "documented";
    // The key policy statement for the target (its root) now, and in the other mode; the key-use statement that goes with it.
    const targetNow = allowing(policies.keyPolicy(ctx.targetAccess), action, policies.targetRoot);
    const targetOther = allowing(policies.keyPolicy(other), action, policies.targetRoot);
    const useNow = allowing(policies.keyUse(ctx.targetAccess), action);
    const useOther = allowing(policies.keyUse(other), action);
    const stacks = (ctx.deploy === "all" ? [ctx.stack] : [...ctx.stagingStacks, ctx.stack]).join(", ");
    const switchAccess =
        `set key.targetAccess to ebs-shared-snapshots in every staging stack and the target stack (${stacks}): ` +
        "`pulumi config set --path drs-cross-account-kms:key.targetAccess ebs-shared-snapshots --stack <each>`; " +
        "`pulumi up` the staging stacks, then the target stack, and drill again. Each added action stays limited to EC2 in the key's Region (grants to AWS resources).";
    const needsFallback = !targetNow && targetOther !== undefined && other === "ebs-shared-snapshots";
    if (p.accountId === ctx.target) {
        const name = p.roleName;
        if (name === drsServiceLinkedRoleName) {
            return {
                cause:
                    `${action} was refused to the target account's DRS service-linked role. IAM cannot give a service-linked role permissions ` +
                    '(docs/aws-requirements.md, "Service-linked roles take no policies"), and no setting of this program allows it.',
                fix:
                    'This is outside what AWS documents and this program models (docs/aws-requirements.md, "Who calls KMS in the target (inferred)"): ' +
                    `report it with the event (${event}).`,
            };
        }
        if (!name) {
            return {
                cause: `${action} was refused to an identity of the target account that this CloudTrail record does not name (${p.label}).`,
                fix:
                    `Look the event up in the target account's CloudTrail (${r.sharedEventID ? `sharedEventID ${r.sharedEventID}` : `around ${r.eventTime}`}) to name it. ` +
                    "A role not in target.keyUserRoleNames: add it there; a role in it refused Decrypt, GenerateDataKey* or CreateGrant: key.targetAccess ebs-shared-snapshots.",
            };
        }
        const sso = isIdentityCenterRole(name);
        const listed = ctx.keyUserRoleNames.some((n) => n.toLowerCase() === name.toLowerCase());
        if (sso && !ctx.identityCenter) {
            return {
                cause: `${action} was refused to ${name}, a role of an IAM Identity Center permission set, and the stack sets no identityCenter: no key-use policy reaches it.`,
                fix: `Set identityCenter (instanceArn, and permissionSetArns with that permission set) in the target stack (${ctx.stack}) and \`pulumi up\` it; sign in again and drill.`,
                allowedBy: "identityCenter.permissionSetArns (the permission set references the key-use policies)",
            };
        }
        if (!listed && !sso) {
            const then = needsFallback ? ` If it is then still refused ${action}, ${switchAccess}` : "";
            return {
                cause:
                    `${action} was refused to the target role ${name}, which is not in target.keyUserRoleNames: it holds no key-use policy, and ` +
                    'cross-account use of the key needs one in the target as well as the key policy (docs/aws-requirements.md, "Who calls KMS in the target (inferred)").',
                fix:
                    `Add ${name} to drs-cross-account-kms:target.keyUserRoleNames in the target stack (${ctx.stack}) and \`pulumi up\` it, then drill as it (--role ${name}); ` +
                    `or drill as a role already there${ctx.keyUserRoleNames[0] ? ` (--role ${ctx.keyUserRoleNames[0]})` : ""}, or use identityCenter for people who sign in through IAM Identity Center.${then}`,
                allowedBy: `target.keyUserRoleNames (the key-use policy ${targetKeyUsePolicyName}, statement ${useNow ?? useOther ?? "?"})`,
            };
        }
        const who = sso
            ? `${name} (an IAM Identity Center role; if its permission set is not in identityCenter.permissionSetArns, add it first)`
            : `${name} (in target.keyUserRoleNames)`;
        if (direct) {
            return {
                cause: `${action} was called directly (${through}), not through ${ec2}: the program lets the target use the key only through EC2 in the key's Region (kms:ViaService).`,
                fix: "Nothing to change for the drill: DRS uses the key through EC2. A direct call (a script, the CLI) is refused by design.",
            };
        }
        if (needsFallback) {
            return {
                cause:
                    `${action} was refused to ${who}: with key.targetAccess documented the key policy gives the target only what the DRS ` +
                    "multi-account page documents (ReEncrypt* through EC2, and DescribeKey), and this recovery needed more.",
                fix: `Switch to the fallback: ${switchAccess}`,
                allowedBy: `key.targetAccess: ebs-shared-snapshots (key policy statement ${targetOther}, and the key-use policy's ${useOther ?? "?"})`,
            };
        }
        if (!targetNow) {
            return {
                cause: `${action} was refused to ${who}: the program grants the target no such action in either key.targetAccess mode.`,
                fix: `Outside what AWS documents for DRS and EBS: report it with the event (${event}).`,
            };
        }
        return {
            cause:
                `${action} was refused to ${who}, although the program's key policy (${targetNow}) and key-use policy (${useNow ?? "?"}) allow it: ` +
                "one of them drifted or is not attached to the role, or something else denies it (a service control policy, a permissions boundary, a session policy).",
            fix: `${verifyStaging}; \`pulumi up\` the target stack (it attaches the key-use policies); check the role's other policies, boundary and your SCPs.`,
            allowedBy: `key policy statement ${targetNow} and the key-use policy's ${useNow ?? "?"}`,
        };
    }
    if (p.accountId === ctx.stagingAccount) {
        const name = p.roleName;
        const staged =
            name === drsServiceLinkedRoleName
                ? { who: "the staging account's DRS service-linked role", principal: policies.serviceLinkedRole }
                : name === drsStagingRoleName(ctx.target)
                  ? { who: name, principal: ctx.stagingRoleArn }
                  : undefined;
        if (!staged) {
            return {
                cause: `${action} was refused to ${p.label}, an identity of the staging account that is not part of DRS's chain.`,
                fix: "Not the drill's chain: if it should use the key, give it KMS permissions with IAM in the staging account (the key policy lets the account's IAM policies grant use).",
            };
        }
        const sid = allowing(policies.keyPolicy(ctx.targetAccess), action, staged.principal);
        if (!sid) {
            return {
                cause: `${action} was refused to ${staged.who}: the program's key policy grants it no such action (it follows what AWS documents).`,
                fix: `Outside what AWS documents: ${verifyStaging} to rule out drift, and report it with the event (${event}).`,
            };
        }
        const replaced = name === drsServiceLinkedRoleName ? "" : ", or the role was replaced (KMS stored the old one)";
        return {
            cause: `${action} was refused to ${staged.who}, which the program's key policy allows (${sid}): the key policy drifted${replaced}.`,
            fix: `The key policy drifted: ${verifyStaging}${replaced ? " (it re-applies the policy for a replaced role)" : ""}.`,
            allowedBy: `key policy statement ${sid}`,
        };
    }
    return {
        cause: `${action} was refused to ${p.label}, of account ${p.accountId ?? "?"}, neither the target nor the staging account: the key policy allows neither.`,
        fix: "Not the drill's chain: nothing to change unless that account should recover these servers (then it is the target of another stack).",
    };
}

// ---- The report in words ----

function yesNo(v: boolean | undefined): string {
    return v === undefined ? "DRS default" : v ? "yes" : "no";
}

function describeLaunch(l: LaunchSummary): string {
    const parts = [
        `launch ${l.launchDisposition ?? "DRS default"}`,
        `instance type right-sizing ${l.targetInstanceTypeRightSizingMethod ?? "DRS default"}`,
        `copy private IP ${yesNo(l.copyPrivateIp)}`,
        `copy tags ${yesNo(l.copyTags)}`,
        `OS licence ${l.osByol === undefined ? "DRS default" : l.osByol ? "bring your own" : "AWS-provided"}`,
        `post-launch actions ${l.postLaunchEnabled === undefined ? "DRS default" : l.postLaunchEnabled ? "on" : "off"}`,
    ];
    if (l.ec2LaunchTemplateID) parts.push(`EC2 launch template ${l.ec2LaunchTemplateID}`);
    return parts.join(", ");
}

function describeIdentity(i: IdentityReport): string[] {
    const lines: string[] = [];
    if (i.how === "role") lines.push(`Identity: role ${i.roleName}${i.roleArn ? ` (${i.roleArn})` : ""}, ${i.why}.`);
    else lines.push(`Identity: your current credentials (${i.why.replace(/\.$/, "")}).`);
    if (i.keyUsePolicies.length > 0)
        lines.push(`  holds the key-use ${i.keyUsePolicies.length === 1 ? "policy" : "policies"} ${i.keyUsePolicies.join(", ")}`);
    if (i.callerArn) lines.push(`  runs as ${i.callerArn}`);
    // A refusal or an error is listed once, with the other reasons the drill does not start.
    if (i.refusal && i.overridden) lines.push(`  warning (--any-identity): ${i.refusal}`);
    return lines;
}

export function formatReport(report: DrillReport, command: (flags: string) => string): string {
    const lines: string[] = [];
    const plan = report.plan;
    if (report.mode === "dry-run") lines.push("Dry run: nothing is started. Run again with --start to start the drill.", "");
    if (plan) {
        lines.push(
            `Drill plan for stack ${report.stack}: target account ${report.targetAccountId}, key.targetAccess ${report.targetAccess}.`,
        );
        if (report.identity) lines.push(...describeIdentity(report.identity));
        lines.push(
            plan.count !== undefined
                ? `Servers (${plan.count} per staging entry, picked from the healthy extended servers; --count, --server):`
                : "Servers (--server):",
        );
        for (const s of plan.servers) {
            const staging = s.stagingSourceServerID
                ? `, staging server ${s.stagingSourceServerID} in ${s.stagingAccountId}/${s.region}`
                : "";
            lines.push(`  ${serverName(s)}${staging}: replication ${s.replicationState ?? "unknown"}`);
            if (s.onKey === "yes") lines.push(`    on its entry's key: yes (${s.keyArn})`);
            else if (s.onKey === "no") lines.push(`    on its entry's key: NO, ${s.encryption}`);
            else lines.push(`    on its entry's key: not checked: ${s.notChecked ?? "?"}`);
            if (s.launch) lines.push(`    ${describeLaunch(s.launch)}`);
            if (s.launchError) lines.push(`    launch settings: could not read them (${s.launchError})`);
            for (const w of s.warnings) lines.push(`    note: ${w}`);
            if (s.problem) lines.push(`    cannot drill: ${s.problem}`);
        }
        if (plan.servers.length === 0) lines.push("  (none)");
        if (plan.skipped.length > 0)
            lines.push(
                `  passed over: ${firstFew(
                    plan.skipped.map((s) => `${serverName(s)}: ${s.reason}`),
                    3,
                )}`,
            );
        for (const n of plan.notes) lines.push(`  note: ${n}`);
        lines.push(`The drill: ${plan.expected}`, `Cost: ${plan.cost}`);
    } else if (report.identity) {
        lines.push(...describeIdentity(report.identity));
    }
    if (report.blockers.length > 0) {
        lines.push("", report.mode === "dry-run" ? "--start would be refused:" : "Refused:");
        for (const b of report.blockers) lines.push(`  ${b}`);
    }
    for (const job of report.jobs) {
        if (job.error) {
            lines.push("", `${job.region}: ${job.error}`);
            continue;
        }
        const results = report.results.filter((r) => r.jobID === job.jobID);
        const took =
            job.creationDateTime && job.endDateTime
                ? `, ${Math.round((Date.parse(job.endDateTime) - Date.parse(job.creationDateTime)) / 60_000)} min`
                : "";
        lines.push("", `Drill job ${job.jobID} in ${job.region}: ${job.status ?? "?"}${took}.`);
        for (const r of results) lines.push(`  ${r.status.padEnd(11)} ${serverName(r)}: ${r.message ?? ""}`);
    }
    const c = report.cleanup;
    if (c) {
        lines.push("");
        if (c.terminated.length > 0)
            lines.push(`Clean-up: terminating ${c.terminated.join(", ")} (DRS job ${c.terminateJobIDs.join(", ") || "?"}).`);
        if (c.kept.length > 0)
            lines.push(
                `Kept (--keep): ${c.kept.join(", ")}. Terminate them when done: ${command(`--cleanup ${report.jobs.map((j) => `--job ${j.jobID}`).join(" ")}`)}`,
            );
        if (c.alreadyGone.length > 0) lines.push(`Already terminated: ${c.alreadyGone.join(", ")}.`);
        if (c.left.length > 0) {
            lines.push("Clean-up failed: left running:");
            for (const l of c.left)
                lines.push(`  ${l.recoveryInstanceID}${l.sourceServerID ? ` (${l.sourceServerID})` : ""} in ${l.region}: ${l.error}`);
            lines.push(
                `  Terminate them in the DRS console (Recovery instances), or: ${command(
                    `--cleanup ${report.jobs
                        .filter((j) => j.jobID)
                        .map((j) => `--job ${j.jobID}`)
                        .join(" ")}`,
                )}`,
            );
        }
        if (c.terminated.length + c.kept.length + c.alreadyGone.length + c.left.length === 0)
            lines.push("Clean-up: no recovery instance to terminate.");
        if (c.stillRunning.length > 0)
            lines.push(
                `Job ${c.stillRunning.join(", ")} may still launch servers after this run: run ${command(`--cleanup ${c.stillRunning.map((j) => `--job ${j}`).join(" ")}`)} once it ends.`,
            );
    }
    for (const d of report.diagnosis) {
        lines.push("", `KMS refusals in CloudTrail of ${d.accountId} (${d.region}) on ${d.keyArn}, ${d.from} to ${d.to}: ${d.note}`);
        for (const r of d.refusals) {
            const times = r.count === 1 ? `at ${r.firstSeen}` : `${r.count} times, ${r.firstSeen} to ${r.lastSeen}`;
            lines.push(`  ${r.action} refused (${r.errorCode}) ${times}`);
            lines.push(`    who: ${r.principal}`);
            lines.push(`    through: ${r.through}`);
            lines.push(`    why: ${r.cause}`);
            if (r.allowedBy) lines.push(`    allowed by: ${r.allowedBy}`);
            lines.push(`    fix: ${r.fix}`);
        }
    }
    if (report.results.length > 0) {
        const count = (s: ServerStatus) => report.results.filter((r) => r.status === s).length;
        const others = (["timed out", "interrupted", "running"] as const).filter((s) => count(s) > 0).map((s) => `, ${count(s)} ${s}`);
        const left = c && c.left.length > 0 ? ` Clean-up left ${plural(c.left.length, "recovery instance")} running (above).` : "";
        lines.push("", `${count("launched")} launched, ${count("failed")} failed${others.join("")}.${left}`);
    } else if (report.mode === "cleanup" && report.blockers.length === 0) {
        lines.push("", c && c.left.length === 0 ? "Clean-up done." : "Clean-up incomplete.");
    }
    return lines.join("\n").replace(/^\n+/, "");
}

/**
 * The drill's cost in words, from the price table (tools/pricing.ts): DRS's own charge is per
 * replicating server-hour, which the drilled servers incur anyway; what the drill launches (instances,
 * their volumes, the on-demand snapshot) is billed at EC2 and EBS rates, which the table does not hold:
 * their instance types come from each server's EC2 launch template and right-sizing, not from here.
 */
export function drillCost(prices: PriceTable, servers: { region: string }[], timeoutMinutes: number, keep: boolean): string {
    const regions = [...new Set(servers.map((s) => s.region))].sort();
    const drs = regions.map((region) => {
        const price = drsPriceIn(prices, region);
        const n = servers.filter((s) => s.region === region).length;
        return price === undefined
            ? `${region}: no DRS price in the table (--prices drsServerHour)`
            : `${region}: ${plural(n, "server")} x $${price} an hour = $${(n * price).toFixed(2)} an hour`;
    });
    return (
        `${prices.origin} (tools/pricing.ts). DRS's own charge is per replicating server-hour, which the drilled servers incur whether drilled or not` +
        `${drs.length > 0 ? ` (${drs.join("; ")})` : ""}. The drill adds its recovery instances, their EBS volumes and the on-demand snapshot, ` +
        `billed at EC2 and EBS rates while they exist, which the table does not hold (each server's EC2 launch template and right-sizing choose the ` +
        `instance type): up to ${timeoutMinutes} minutes (--timeout) plus the clean-up${keep ? ", and longer: --keep leaves them running" : "; they are terminated at the end unless --keep"}.`
    );
}

// ---- Help and the command line ----

/** What `drill --help` says after the options. */
export function drillHelp(): string {
    const healthy = healthyReplicationStates.join(", ");
    return [
        "Proves that the target account can recover the staging accounts' servers with their keys. AWS does not",
        "document which target identity uses the keys in a recovery: only a drill proves the chain. Run it on the",
        "target stack (or a deploy: all stack), after `pulumi up` of the staging stacks and the target stack.",
        "",
        "A plan by default, which starts nothing: the servers (--server, or --count per staging entry from the",
        `healthy extended servers: stagingArea EXTENDED, replication ${healthy},`,
        "no recovery instance yet); whether each is on its entry's key (its staging server's own replication",
        'settings, read in the staging account; "not checked" when that account cannot be reached); the launch',
        "settings that apply; the identity it runs as; the expected duration and cost.",
        "",
        "With --start: StartRecovery with isDrill true (never a recovery), the job tagged",
        `${drillTag.key}=${drillTag.value}, as a role holding the key-use policy (${targetKeyUsePolicyName},`,
        `${targetKeyUsePolicyName}-2, ...): the first of target.keyUserRoleNames, or --role, assumed with your`,
        "credentials (session drs-cross-account-kms-drill). An identity without the policy is refused unless",
        "--any-identity. It follows the job (progress on stderr), reports each server (launched; failed, with the",
        "job's own message; timed out), terminates the recovery instances (unless --keep; also after a failure, a",
        "timeout or Ctrl-C), and for a server that did not launch reads the refused KMS calls on its key in the",
        "staging account's CloudTrail, naming the setting or key policy statement that would allow each.",
        "",
        "Examples, one per flag:",
        "  npm run -s drill -- -s target                       # the plan",
        "  npm run -s drill -- -s target --outputs out.json    # no Pulumi CLI: pulumi stack output --json > out.json",
        "  npm run -s drill -- -s target --config-file Pulumi.target.yaml --outputs out.json",
        "  npm run -s drill -- -s target --start               # 1 server per staging entry, as the first key-user role",
        "  npm run -s drill -- -s target --count 3 --start",
        "  npm run -s drill -- -s target --server s-1234567890abcdef0 --server s-234567890abcdef01 --start",
        "  npm run -s drill -- -s target --role DrsRecoveryOperator --start",
        "  npm run -s drill -- -s target --current-credentials --start        # an Identity Center session",
        "  npm run -s drill -- -s target --role Admin --any-identity --start  # insist: no key-use policy",
        "  npm run -s drill -- -s all --target 222233334444 --start  # a stack of several targets: drill one",
        "  npm run -s drill -- -s target --timeout 90 --start",
        "  npm run -s drill -- -s target --keep --start        # leave the drill instances running",
        "  npm run -s drill -- -s target --cleanup --job drsjob-1234567890abcdef0",
        "  npm run -s drill -- -s target --diagnose --job drsjob-1234567890abcdef0",
        "  npm run -s drill -- -s target --diagnose --job drsjob-1234567890abcdef0 \\",
        "      --staging-role arn:aws:iam::444455556666:role/DrsReadOnly",
        "  npm run -s drill -- -s target --start --json        # one JSON document on stdout",
        "",
        "No key-user roles (keyUserRoleNames empty; identityCenter permission sets): sign in with the permission",
        "set in the target account, and the drill runs with those credentials, checking that their role",
        "(AWSReservedSSO_...) holds the key-use policies the permission set references. --current-credentials",
        "does the same in any stack.",
        "",
        "Permissions:",
        "  target account, with target.roleArn or your credentials:",
        `    ${permissions.target.join(", ")}`,
        `  your credentials: ${permissions.assume.join(", ")} on the key-user role (its trust policy must allow you)`,
        "  the drill identity (the key-user role), in the target account:",
        `    ${permissions.identity.join(", ")},`,
        "    and what StartRecovery and TerminateRecoveryInstances need through DRS (EC2 launch templates,",
        "    instances, volumes, snapshots): AWS's managed policy AWSElasticDisasterRecoveryConsoleFullAccess_v2",
        "    is what recovery operators usually hold. sts:GetCallerIdentity needs no permission.",
        "  each staging account (stagingAccounts[].roleArn, --staging-role, or your credentials):",
        `    ${permissions.staging.join(", ")}`,
        "",
        "In the exit codes, 1 also covers a server interrupted by Ctrl-C, drill instances a failed clean-up left",
        "running, and a --diagnose that finds refused KMS calls or servers that did not launch; 2 also covers a",
        "plan whose --start would be refused (an identity without the key-use policy, a server not on its key, no",
        "server), a job --cleanup may not touch (not this command's drill), and a refused StartRecovery.",
    ].join("\n");
}

export interface DrillCommandOptions extends AwsCommandOptions {
    start?: boolean;
    cleanup?: boolean;
    diagnose?: boolean;
    servers?: string[];
    count?: string;
    role?: string;
    currentCredentials?: boolean;
    anyIdentity?: boolean;
    timeout?: string;
    keep?: boolean;
    jobs?: string[];
    stagingRoles?: string[];
    /** --target: the target account to drill, in a stack of several targets. */
    target?: string;
    /** --prices, read by the command line. */
    prices?: PriceTable;
}

/** The flags as the mode they ask for; a contradiction is a CannotDrill (exit 2). */
export function drillOptionsOf(o: DrillCommandOptions): DrillOptions {
    const modes = [o.start && "--start", o.cleanup && "--cleanup", o.diagnose && "--diagnose"].filter(Boolean) as string[];
    if (modes.length > 1) throw new CannotDrill(`${modes.join(" and ")} contradict each other: give one.`);
    const mode: Mode = o.cleanup ? "cleanup" : o.diagnose ? "diagnose" : o.start ? "drill" : "dry-run";
    const byJob = mode === "cleanup" || mode === "diagnose";
    if (byJob && !(o.jobs && o.jobs.length > 0)) throw new CannotDrill(`--${mode} needs --job <jobID>: the job ID the drill printed.`);
    if (!byJob && o.jobs?.length) throw new CannotDrill("--job goes with --cleanup or --diagnose.");
    const only = (flag: string, given: unknown, allowed: boolean, where: string) => {
        if (given && !allowed) throw new CannotDrill(`${flag} goes with ${where}.`);
    };
    only("--server", o.servers?.length, !byJob, "a plan or --start, not --cleanup or --diagnose");
    only("--count", o.count, !byJob, "a plan or --start, not --cleanup or --diagnose");
    only("--timeout", o.timeout, !byJob, "a plan or --start");
    only("--keep", o.keep, mode === "drill", "--start");
    only("--any-identity", o.anyIdentity, !byJob, "a plan or --start");
    if (o.role && o.currentCredentials) throw new CannotDrill("--role and --current-credentials contradict each other: give one.");
    if (o.servers?.length && o.count !== undefined) throw new CannotDrill("--server and --count contradict each other: give one.");
    const count = o.count === undefined ? undefined : Number(o.count);
    if (count !== undefined && !(Number.isInteger(count) && count >= 1))
        throw new CannotDrill(`--count ${o.count}: give a whole number of servers per staging entry, 1 or more.`);
    const timeoutMinutes = o.timeout === undefined ? undefined : Number(o.timeout);
    if (timeoutMinutes !== undefined && !(timeoutMinutes > 0 && timeoutMinutes <= 24 * 60))
        throw new CannotDrill(`--timeout ${o.timeout}: give the minutes to follow the job, more than 0 and at most 1440.`);
    const base = [
        "npm run -s drill --",
        `-s ${o.stack}`,
        o.outputsFile ? `--outputs ${o.outputsFile === "-" ? "<outputs file>" : o.outputsFile}` : "",
        o.configFile ? `--config-file ${o.configFile}` : "",
        o.target ? `--target ${o.target}` : "",
        ...(o.stagingRoles ?? []).map((r) => `--staging-role ${r}`),
        o.role ? `--role ${o.role}` : "",
        o.currentCredentials ? "--current-credentials" : "",
    ];
    return {
        mode,
        servers: o.servers,
        count,
        role: o.role,
        currentCredentials: o.currentCredentials,
        anyIdentity: o.anyIdentity,
        timeoutMinutes,
        keep: o.keep,
        jobs: o.jobs,
        json: o.json,
        command: base.filter(Boolean).join(" "),
        ...(o.prices ? { prices: o.prices } : {}),
    };
}

/** --staging-role ARNs by account: roles to read staging accounts with where the config names none. */
function stagingRolesOf(arns: string[] = []): Map<string, string> {
    const roles = new Map<string, string>();
    for (const arn of arns) {
        const role = parseRoleArn(arn);
        if (!role) throw new CannotDrill(`--staging-role ${arn}: not an IAM role ARN (arn:aws:iam::<account>:role/<name>).`);
        if (roles.has(role.accountId)) throw new CannotDrill(`--staging-role: two roles for account ${role.accountId}: give one.`);
        roles.set(role.accountId, arn);
    }
    return roles;
}

/**
 * The stack as the drilled target sees it. A stack of several targets needs --target: the drill
 * then reads that target's settings, key-use policies and the keys that serve it.
 */
function drillInputFor(input: DrillInput, chosen: string | undefined): DrillInput {
    const { settings, outputs, stack } = input;
    const ids = Array.isArray(outputs.targetAccountIds)
        ? (outputs.targetAccountIds as string[])
        : [String(outputs.targetAccountId ?? settings.target.accountId)];
    if (chosen === undefined && ids.length > 1)
        throw new CannotDrill(
            `stack ${stack} recovers into ${ids.length} targets (${ids.join(", ")}): give --target <account> to drill one.`,
        );
    const i = chosen === undefined ? 0 : ids.indexOf(chosen);
    if (i < 0) throw new CannotDrill(`--target ${chosen}: not a target of stack ${stack} (${ids.join(", ")}).`);
    if (ids.length === 1) return input;
    const access = (outputs.targetKeyAccess as { accountId: string; policyArns?: string[]; roleNames?: string[] }[] | undefined)?.find(
        (a) => a.accountId === ids[i],
    );
    return {
        stack,
        // By account: the order of the config's targets may have changed since the outputs were written.
        settings: { ...settings, target: settings.targets.find((t) => t.accountId === ids[i]) ?? settings.targets[i] },
        outputs: {
            ...outputs,
            targetAccountId: ids[i],
            targetKeyUsePolicyArns: access?.policyArns,
            targetKeyUserRoleNames: access?.roleNames,
        },
        keys: input.keys.filter((key) => !key.targetAccountIds || key.targetAccountIds.includes(ids[i])),
    };
}

/**
 * The command as the CLI runs it: reads the stack like verify, checks the credentials once, then
 * drill. Ctrl-C (SIGINT) stops following the job and cleans up; a second one exits at once.
 */
export async function drillCommand(options: DrillCommandOptions, deps: AwsCommandDeps & Partial<DrillDeps>): Promise<number> {
    const drillOptions = drillOptionsOf(options);
    const stagingRoles = stagingRolesOf(options.stagingRoles);
    const factory = (roleArns: Map<string, string | undefined>, command: string): AwsAccess => {
        const merged = new Map(roleArns);
        for (const [account, arn] of stagingRoles) merged.set(account, arn);
        return deps.access ? deps.access(merged, command) : new AssumedRoleAccess(merged, command);
    };
    let input: DrillInput | undefined;
    const { io, access } = await openStack("drill", options, { ...deps, access: factory }, (stack, keys) => {
        if (stack.settings.deploy === "staging") {
            throw new CannotDrill(
                `stack ${options.stack} deploys the staging side only: run drill on the target stack (or a deploy: all stack), whose config names the key-user roles. ` +
                    "Give roles for the staging accounts with --staging-role.",
            );
        }
        input = drillInputFor({ settings: stack.settings, outputs: stack.outputs, keys, stack: options.stack }, options.target);
        const target = input.settings.target.accountId;
        for (const account of stagingRoles.keys()) {
            if (account === target)
                throw new CannotDrill(`--staging-role for ${account}: that is the target account (its role is target.roleArn).`);
            if (!keys.some((k) => k.accountId === account))
                throw new CannotDrill(
                    `--staging-role for ${account}: not a staging account of the stack (${[...new Set(keys.map((k) => k.accountId))].join(", ")}).`,
                );
        }
    });
    if (!isDrillAccess(access))
        throw new Error("drill needs CloudTrail and the drill identity's sessions: the AWS access given has neither.");
    const started: string[] = [];
    let controller: AbortController | undefined;
    let onSigint: (() => void) | undefined;
    if (!deps.signal) {
        controller = new AbortController();
        const abort = controller;
        onSigint = () => {
            if (!abort.signal.aborted) {
                io.err("\nInterrupted: stopping, and cleaning up what the drill launched (Ctrl-C again to stop at once)...\n");
                abort.abort();
                return;
            }
            const how =
                started.length > 0 ? ` Clean up with: ${drillOptions.command} --cleanup ${started.map((j) => `--job ${j}`).join(" ")}` : "";
            io.err(`\nStopped before the clean-up finished.${how}\n`);
            process.exit(130);
        };
        process.on("SIGINT", onSigint);
    }
    try {
        const report = await drill(input!, access, drillOptions, {
            io,
            clock: deps.clock,
            signal: deps.signal ?? controller?.signal,
            pollMs: deps.pollMs,
            progressDelayMs: deps.progressDelayMs,
            onJobStarted: (job) => {
                started.push(job.jobID);
                deps.onJobStarted?.(job);
            },
        });
        if (report.exitCode === 2 && !drillOptions.json && report.blockers.length > 0 && report.mode !== "dry-run")
            io.err(`error: the drill could not run: ${report.blockers[0]}\n`);
        return report.exitCode;
    } finally {
        if (onSigint) process.off("SIGINT", onSigint);
    }
}
