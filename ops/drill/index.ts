// drill: the proof that the target account can recover the staging accounts' servers with their
// keys. AWS does not document which target identity calls KMS during a recovery, so only a drill
// proves the chain (docs/aws-requirements.md, "Who calls KMS in the target (inferred)"). A plan by
// default; with --start a DRS drill (StartRecovery with isDrill true, never a recovery, sent once)
// as a role that holds the key-use policy, followed to its end; which key the recovered volumes
// use; a KMS refusal behind a failure found in the CloudTrail of the account that logged it; and
// what it launched terminated.
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
import { GetRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { randomUUID } from "crypto";
import type { Settings } from "../../config";
import { targetKeyUsePolicyName } from "../../components/defaults";
import { TargetAccess, parseRoleArn, partitionOf } from "../../components/policies";
import { AssumedRoleAccess, AwsAccess, ClientOptions, DrillAccess, IdentitySession, isDrillAccess } from "../aws/access";
import { AwsCommandDeps, AwsCommandOptions, openStack } from "../aws/command";
import { allPages, answerLost, failure, isAccessDenied, MalformedAnswer, uncheckedOf, UnreachableAccount } from "../aws/faults";
import { Clock, Deadline, noDeadline, realClock } from "../clock";
import { attachedRolePolicies } from "../aws/iamReads";
import { Io, delayedProgress } from "../io";
import { permissionsHelp } from "../permissions";
import { PriceTable, drsPriceIn, pricesFor } from "../../plan/pricing";
import { RecoveredServer, readRecoveredVolumes } from "./volumes";
import {
    describeEncryption,
    firstFew,
    healthyReplicationStates,
    hostnameOf,
    isOnKey,
    listSourceServers,
    readServerEncryption,
    serverName,
} from "../aws/sourceServers";
import { KeyDiagnosis, defaultTrailWaitMinutes, diagnoseKeys, windowMarginMs } from "./diagnosis";
import { UsageError } from "../../config/errors";
import { type StagingKeyExport } from "../../program/contract";
import { plural } from "../../config/text";

/** The tag StartRecovery puts on the job: --cleanup terminates only what a job carrying it launched. */
export const drillTag = { key: "drs-cross-account-kms:tool", value: "drill" } as const;
/** The tag naming one run's StartRecovery: a request whose answer was lost is found by it, never sent twice. */
export const runTagKey = "drs-cross-account-kms:run";

export const defaultCount = 1;
export const defaultTimeoutMinutes = 60;
/** How often the job is read while it runs. */
export const defaultPollMs = 30_000;
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
    /** The price table for the plan's cost (--prices); default the list prices of plan/pricing.ts. */
    prices?: PriceTable;
    /** --trail-wait: minutes after the job's end CloudTrail may still deliver (default defaultTrailWaitMinutes). */
    trailWaitMinutes?: number;
}

export interface DrillDeps {
    io: Io;
    clock?: Clock;
    /** The command's time limit (--time-limit): planning and the diagnosis stop there; the clean-up never does. */
    deadline?: Deadline;
    /** How often both trails are read again while the delivery wait runs. */
    trailPollMs?: number;
    /** The run tag's value (the tests fix it); default a random UUID. */
    runId?: string;
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
    /** StartRecovery was refused, or its answer lost and no job of this run found: no job. */
    error?: string;
    /** What happened beside the plain answer (an answer lost, and the job found by the run tag). */
    note?: string;
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
    /** What happened beside the plain answers (a lost answer, and the job found instead). */
    notes: string[];
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
        /** Staging places the time limit left unplanned. */
        unplanned: string[];
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
    /** Which key each launched server's recovered volumes use. */
    volumes: RecoveredServer[];
    diagnosis: KeyDiagnosis[];
    /** In words, what the drill proved of key.targetAccess (the profile the keys were shared with). */
    profile?: string;
    /** What could not be checked (a server's key, the volumes, CloudTrail): exit code 3 unless there is a finding. */
    unchecked: string[];
    exitCode: number;
}

/** The command cannot start (arguments, outputs, config): exit 2. */
export class CannotDrill extends UsageError {}

const keyUsePattern = new RegExp(`^${targetKeyUsePolicyName}(-\\d+)?$`);

/** The staging server's ID, from the extended server's stagingArea.stagingSourceServerArn. */
export function stagingServerIdOf(server: SourceServer): string | undefined {
    return /source-server\/(s-[0-9a-zA-Z]+)$/.exec(server.stagingArea?.stagingSourceServerArn ?? "")?.[1];
}

/** The StartRecovery request of a drill. The one place that builds it: isDrill is always true. */
export function drillRequest(sourceServerIDs: string[], stack: string, runId: string): StartRecoveryRequest & { isDrill: true } {
    return {
        sourceServers: sourceServerIDs.map((sourceServerID) => ({ sourceServerID })),
        isDrill: true,
        // The tags land on the job, not on the instances: --cleanup --job finds the instances through the job.
        tags: { [drillTag.key]: drillTag.value, "drs-cross-account-kms:stack": stack, [runTagKey]: runId },
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
    private readonly started: number;
    private readonly deadline: Deadline;
    private readonly runId: string;

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
        this.started = this.clock.now();
        this.deadline = deps.deadline ?? noDeadline(this.clock);
        this.runId = deps.runId ?? randomUUID();
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
            volumes: [],
            diagnosis: [],
            unchecked: [],
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
        report.unchecked = [
            ...report.plan.servers.flatMap((s) =>
                s.onKey === "not checked" && !s.problem ? [`${serverName(s)}: whether it is on its key (${s.notChecked ?? "?"})`] : [],
            ),
            ...report.plan.unplanned.map((place) => `the servers of ${place} (the time limit came first)`),
        ];
        if (this.options.mode === "dry-run" || report.blockers.length > 0) {
            report.exitCode = report.blockers.length > 0 ? 2 : report.unchecked.length > 0 ? 3 : 0;
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
        const unplanned: string[] = [];
        for (const key of this.input.keys) {
            const scope = `${key.accountId}/${key.region}`;
            if (this.deadline.reached()) {
                unplanned.push(scope);
                continue;
            }
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
        if (unplanned.length > 0)
            notes.push(
                `The ${this.deadline.minutes}-minute --time-limit came before ${unplanned.join(", ")} could be planned: not planned.`,
            );
        const timeoutMinutes = this.options.timeoutMinutes ?? defaultTimeoutMinutes;
        const drillable = servers.filter((s) => !s.problem);
        const regions = [...new Set(drillable.map((s) => s.region))];
        return {
            servers,
            skipped,
            notes,
            unplanned,
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
                    : isAccessDenied(err)
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
            const names = (await attachedRolePolicies(iam, roleName)).map((p) => p.PolicyName ?? "");
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
        if (plan.unplanned.length > 0)
            blockers.push(
                `The plan did not finish within --time-limit (${plan.unplanned.join(", ")} not planned): give a longer --time-limit.`,
            );
        const identity = report.identity;
        if (identity?.error) blockers.push(`Identity: ${identity.error}`);
        else if (identity?.refusal && !identity.overridden) blockers.push(`Identity: ${identity.refusal}`);
        return blockers;
    }

    // ---- The drill ----

    private async start(report: DrillReport): Promise<void> {
        const plan = report.plan!;
        // A drilled server settles whether it was on its key: what the plan could not read no longer counts.
        report.unchecked = [];
        const byRegion = new Map<string, PlannedServer[]>();
        for (const s of plan.servers) byRegion.set(s.region, [...(byRegion.get(s.region) ?? []), s]);
        const runs: FollowedJob[] = [];
        for (const [region, servers] of byRegion) {
            const ids = servers.map((s) => s.sourceServerID);
            const job: JobReport = { region, jobID: "", sourceServerIDs: ids };
            report.jobs.push(job);
            const started = await this.startJob(region, ids, job);
            if (!started) {
                this.io.err(`error: ${region}: ${job.error}\n`);
                continue;
            }
            job.jobID = started.job.jobID!;
            job.status = started.job.status;
            job.creationDateTime = started.job.creationDateTime;
            runs.push({ job, session: started.session, servers, log: [], current: started.job });
            this.deps.onJobStarted?.({ jobID: job.jobID, region });
            this.io.err(
                `Started drill job ${job.jobID} in ${region} (${plural(ids.length, "server")}) as ${report.identity?.callerArn ?? "the drill identity"}. ` +
                    `If this run is stopped, clean up with: ${this.command(`--cleanup --job ${job.jobID}`)}\n`,
            );
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
        // Before the clean-up terminates them: which key the recovered volumes use.
        report.volumes = await this.recoveredVolumes(report.results);
        for (const v of report.volumes.filter((x) => x.unchecked))
            report.unchecked.push(`${serverName(v)}: which key its recovered volumes use (${v.unchecked!.why})`);
        report.cleanup = await this.cleanUp(
            runs.map((r) => ({
                jobID: r.job.jobID,
                region: r.job.region,
                session: r.session,
                finished: r.current?.status === "COMPLETED",
            })),
            this.options.keep ?? false,
        );
        const unlaunched = report.results.filter((r) => r.status !== "launched" && r.jobID);
        if (unlaunched.length > 0 && outcome !== "interrupted") {
            const keys = this.keysOfServers(plan.servers.filter((s) => unlaunched.some((u) => u.sourceServerID === s.sourceServerID)));
            // From a minute before the drill's own job: nothing before it is the drill's.
            const from = Math.min(...runs.map((r) => Date.parse(r.job.creationDateTime ?? "") || this.started)) - 60_000;
            const jobEnd = Math.max(...runs.map((r) => Date.parse(r.current?.endDateTime ?? "") || this.clock.now()));
            report.diagnosis = await this.diagnose(
                keys,
                from,
                jobEnd,
                runs.map((r) => r.job.jobID),
                true,
            );
        }
        this.settle(report);
        // Instances left running by a failed clean-up cost money until someone acts: that is a finding too.
        const findings = !report.results.every((r) => r.status === "launched") || report.cleanup.left.length > 0;
        report.exitCode = findings ? 1 : report.unchecked.length > 0 ? 3 : 0;
    }

    /**
     * StartRecovery, sent once (the writer client retries only a throttled call). When its answer is
     * lost, the job it may have started is looked for by this run's tag before anything is decided.
     */
    private async startJob(region: string, ids: string[], job: JobReport): Promise<{ job: Job; session: IdentitySession } | undefined> {
        let session: IdentitySession;
        try {
            session = await this.session(region);
        } catch (err) {
            job.error = `the drill identity could not be used in ${region}: ${failure(err)}`;
            return undefined;
        }
        const sentAt = this.clock.now();
        try {
            const answer = await session.drsWriter.send(new StartRecoveryCommand(drillRequest(ids, this.input.stack, this.runId)));
            if (answer?.job?.jobID) return { job: answer.job, session };
            throw new MalformedAnswer("drs:StartRecovery", "no job");
        } catch (err) {
            if (!answerLost(err)) {
                job.error = `StartRecovery was refused: ${failure(err)}`;
                return undefined;
            }
            const tag = `${runTagKey}=${this.runId}`;
            this.io.err(`warning: ${region}: StartRecovery's answer was lost (${failure(err)}); looking for a job carrying ${tag}...\n`);
            const found = await this.findJob(session.drs, sentAt, (j) => j.tags?.[runTagKey] === this.runId && j.type === "LAUNCH");
            if (found.job) {
                job.note = `StartRecovery's answer was lost (${failure(err)}); the job it started, ${found.job.jobID}, carries ${tag}: it was not sent again.`;
                return { job: found.job, session };
            }
            job.error = found.error
                ? `StartRecovery's answer was lost (${failure(err)}), and DescribeJobs could not be read to look for its job (${found.error}). ` +
                  `It was not sent again: look in the target's DRS console (Jobs) for a job tagged ${tag} before drilling again, and clean it up with --cleanup --job <its ID>.`
                : `StartRecovery's answer was lost (${failure(err)}), and no job carrying ${tag} was found in DescribeJobs: nothing was started. ` +
                  "It was not sent again: run the drill again.";
            return undefined;
        }
    }

    /**
     * The newest job created since `since` that `matches`, from DescribeJobs (bounded pages), read up
     * to three times a few seconds apart: a job is listed moments after it is created.
     */
    private async findJob(drs: DrsClient, since: number, matches: (job: Job) => boolean): Promise<{ job?: Job; error?: string }> {
        for (let attempt = 0; attempt < 3; attempt++) {
            if (attempt > 0) await this.clock.sleep(findJobIntervalMs, this.deps.signal);
            try {
                const jobs = await allPages("drs:DescribeJobs", (nextToken) =>
                    drs.send(
                        new DescribeJobsCommand({
                            filters: {
                                fromDate: new Date(since - 60_000).toISOString(),
                                toDate: new Date(this.clock.now() + 60_000).toISOString(),
                            },
                            nextToken,
                        }),
                    ),
                );
                const job = jobs.filter(matches).pop();
                if (job) return { job };
            } catch (err) {
                if (!uncheckedOf(err, this.target, "drs:DescribeJobs")) throw err;
                return { error: failure(err) };
            }
        }
        return {};
    }

    /** Which key the volumes of each launched server's recovery instance use, read in the target account. */
    private async recoveredVolumes(results: ServerResult[]): Promise<RecoveredServer[]> {
        const launched = results.filter((r) => r.status === "launched" && r.recoveryInstanceID);
        const found: RecoveredServer[] = [];
        for (const region of [...new Set(launched.map((r) => r.region))]) {
            const here = launched
                .filter((r) => r.region === region)
                .map((r) => ({
                    sourceServerID: r.sourceServerID,
                    hostname: r.hostname,
                    region,
                    recoveryInstanceID: r.recoveryInstanceID!,
                }));
            try {
                const clients = { drs: await this.access.drs(this.target, region), ec2: await this.access.ec2(this.target, region) };
                found.push(...(await readRecoveredVolumes(clients, here, this.target, this.input.keys)));
            } catch (err) {
                const unchecked = uncheckedOf(err, this.target);
                if (!unchecked) throw err;
                found.push(...here.map((s) => ({ ...s, volumes: [], message: `Not checked: ${unchecked.why}.`, unchecked })));
            }
        }
        return found;
    }

    /** What the drill proved of key.targetAccess, and the diagnosis's pending parts as not checked. */
    private settle(report: DrillReport): void {
        for (const d of report.diagnosis.filter((x) => x.status === "none-yet" || x.status === "not-checked"))
            report.unchecked.push(
                `the KMS diagnosis of ${d.keyArn} (${d.status === "none-yet" ? "CloudTrail may still deliver" : "a trail could not be read"})`,
            );
        const launched = report.results.length > 0 && report.results.every((r) => r.status === "launched");
        const fallback = report.diagnosis.some((d) =>
            d.refusals.some((r) => r.allowedBy?.startsWith("key.targetAccess: ebs-shared-snapshots")),
        );
        if (launched)
            report.profile =
                this.targetAccess === "documented"
                    ? "Proven under key.targetAccess documented: the minimum the DRS multi-account page documents (kms:ReEncrypt* and kms:DescribeKey, through EC2) was enough to recover these servers."
                    : "Proven under key.targetAccess ebs-shared-snapshots (the fallback: the EBS snapshot-sharing set, through EC2); this drill did not try the documented minimum.";
        else if (fallback && this.targetAccess === "documented")
            report.profile =
                "Not enough under key.targetAccess documented: KMS refused what only the fallback allows (above). Set key.targetAccess: ebs-shared-snapshots " +
                "in every staging stack and the target stack, `pulumi up` them (staging first), and drill again.";
    }

    /** Reads each job until all complete, the timeout passes or Ctrl-C; progress on stderr. */
    private async follow(runs: FollowedJob[]): Promise<"completed" | "timed out" | "interrupted"> {
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
                    const { items } = await run.session.drs.send(new DescribeJobsCommand({ filters: { jobIDs: [run.job.jobID] } }));
                    run.current = items?.[0] ?? run.current;
                } catch (err) {
                    this.io.err(`${stamp()} warning: reading job ${run.job.jobID} failed (${failure(err)}); trying again.\n`);
                    continue;
                }
                // The log only tells what happened: a log that cannot be read does not hold up the job's status.
                try {
                    const log = await jobLog(run.session.drs, run.job.jobID);
                    for (const item of log.slice(run.log.length)) this.io.err(`${stamp()} ${run.job.jobID} ${describeLogItem(item)}\n`);
                    run.log = log;
                } catch (err) {
                    this.io.err(`${stamp()} warning: reading the log of job ${run.job.jobID} failed (${failure(err)}).\n`);
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
        jobs: { jobID: string; region: string; session: IdentitySession; finished: boolean }[],
        keep: boolean,
    ): Promise<CleanupReport> {
        const report: CleanupReport = {
            terminated: [],
            terminateJobIDs: [],
            alreadyGone: [],
            left: [],
            kept: [],
            stillRunning: [],
            notes: [],
        };
        for (const { jobID, region, session, finished } of jobs) {
            let job: Job | undefined;
            try {
                job = (await session.drs.send(new DescribeJobsCommand({ filters: { jobIDs: [jobID] } }))).items?.[0];
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
            const sentAt = this.clock.now();
            try {
                // Sent once: the writer client retries only a throttled call.
                const answer = await session.drsWriter.send(new TerminateRecoveryInstancesCommand({ recoveryInstanceIDs: ids }));
                report.terminated.push(...ids);
                if (answer?.job?.jobID) report.terminateJobIDs.push(answer.job.jobID);
            } catch (err) {
                // A lost answer: the termination may have started; its job lists the instances.
                const found = answerLost(err)
                    ? await this.findJob(
                          session.drs,
                          sentAt,
                          (j) =>
                              j.type === "TERMINATE" && ids.every((id) => j.participatingServers?.some((p) => p.recoveryInstanceID === id)),
                      )
                    : {};
                if (found.job?.jobID) {
                    report.terminated.push(...ids);
                    report.terminateJobIDs.push(found.job.jobID);
                    report.notes.push(
                        `TerminateRecoveryInstances's answer was lost (${failure(err)}); its job ${found.job.jobID} terminates ${ids.join(", ")}: it was not sent again.`,
                    );
                    continue;
                }
                const lost = answerLost(err)
                    ? ` (its answer was lost, and no terminate job for them was found${found.error ? `: ${found.error}` : ""}; it was not sent again)`
                    : "";
                for (const p of live)
                    report.left.push({
                        recoveryInstanceID: p.recoveryInstanceID!,
                        sourceServerID: p.sourceServerID,
                        region,
                        error: `${failure(err)}${lost}`,
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
        const found: { job: Job; region: string; session: IdentitySession }[] = [];
        for (const jobID of jobs) {
            let hit: { job: Job; region: string; session: IdentitySession } | undefined;
            const errors: string[] = [];
            for (const region of this.regions) {
                try {
                    const session = await this.session(region);
                    const job = (await session.drs.send(new DescribeJobsCommand({ filters: { jobIDs: [jobID] } }))).items?.find(
                        (j) => j.jobID === jobID,
                    );
                    if (job) {
                        hit = { job, region, session };
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
                found.map((f) => ({ jobID: f.job.jobID!, region: f.region, session: f.session, finished: true })),
                false,
            );
            report.exitCode = report.cleanup.left.length > 0 ? 1 : 0;
            return;
        }
        // --diagnose: each server's result from its job, then CloudTrail for the keys of the job's servers.
        const servers: PlannedServer[] = [];
        for (const { job, region, session } of found) {
            const ids = (job.participatingServers ?? []).map((p) => p.sourceServerID ?? "").filter(Boolean);
            // What cannot be read here only makes the report poorer (no job message, no hostname): said, not fatal.
            const readOrSay = async <T>(what: string, read: () => Promise<T>, none: T): Promise<T> => {
                try {
                    return await read();
                } catch (err) {
                    if (!uncheckedOf(err, this.target)) throw err;
                    report.unchecked.push(`${what} of job ${job.jobID} (${failure(err)})`);
                    return none;
                }
            };
            const log = await readOrSay("the log", () => jobLog(session.drs, job.jobID!), [] as JobLog[]);
            const described =
                ids.length > 0
                    ? await readOrSay(
                          "the servers",
                          async () => listSourceServers(await this.access.drs(this.target, region), { sourceServerIDs: ids }),
                          [] as SourceServer[],
                      )
                    : [];
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
        report.diagnosis = await this.diagnose(this.keysOfServers(servers), from, jobEnd, jobs, false);
        this.settle(report);
        // --diagnose answers why: refusals are its finding; a diagnosis still waiting on CloudTrail is 3, however the servers fared.
        const refused = report.diagnosis.some((d) => d.refusals.length > 0);
        report.exitCode = refused ? 1 : report.unchecked.length > 0 ? 3 : report.results.some((r) => r.status !== "launched") ? 1 : 0;
    }

    private keysOfServers(servers: { stagingAccountId: string; region: string }[]): StagingKeyExport[] {
        return this.input.keys.filter((k) => servers.some((s) => s.stagingAccountId === k.accountId && s.region === k.region));
    }

    // ---- KMS diagnosis ----

    /**
     * The refused KMS calls on each key, from the target's CloudTrail and the staging account's (a
     * refused cross-account call is logged only in the caller's), each explained with the setting or
     * statement that would allow it. After a drill (`poll`), both trails are read again until
     * CloudTrail's delivery wait has passed; --diagnose reads them once.
     */
    private async diagnose(
        keys: StagingKeyExport[],
        from: number,
        jobEnd: number,
        jobIDs: string[],
        poll: boolean,
    ): Promise<KeyDiagnosis[]> {
        const rerun = this.command(`--diagnose ${jobIDs.map((j) => `--job ${j}`).join(" ")}`);
        return diagnoseKeys(
            {
                keys,
                from,
                jobEnd,
                waitMinutes: this.options.trailWaitMinutes ?? defaultTrailWaitMinutes,
                poll,
                pollMs: this.deps.trailPollMs,
                rerun,
                contextOf: (key) => ({
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
                }),
            },
            {
                access: this.access,
                target: this.target,
                clock: this.clock,
                io: this.io,
                deadline: this.deadline,
                signal: this.deps.signal,
                fixFor: (account, err) => {
                    const how =
                        account === this.target
                            ? "Run with target.roleArn (or credentials of the target) that may call cloudtrail:LookupEvents"
                            : `Give a role in ${account} that may call cloudtrail:LookupEvents with --staging-role`;
                    const why = err instanceof UnreachableAccount ? "" : isAccessDenied(err) ? " (it was refused)" : "";
                    return `${how}${why}, then: ${rerun}. Or look by hand (docs/drill.md, "A KMS refusal, by hand").`;
                },
            },
        );
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

/** Every item of a job's log, all pages (bounded). */
function jobLog(drs: DrsClient, jobID: string): Promise<JobLog[]> {
    return allPages("drs:DescribeJobLogItems", (nextToken) => drs.send(new DescribeJobLogItemsCommand({ jobID, nextToken })));
}

/** A started job as the drill follows it: its identity's session, its servers, its log so far. */
interface FollowedJob {
    job: JobReport;
    session: IdentitySession;
    servers: PlannedServer[];
    log: JobLog[];
    current?: Job;
}

/** How long to wait between DescribeJobs reads when looking for a job whose start's answer was lost. */
const findJobIntervalMs = 10_000;

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
        if (job.note) lines.push(`  note: ${job.note}`);
        for (const r of results) lines.push(`  ${r.status.padEnd(11)} ${serverName(r)}: ${r.message ?? ""}`);
    }
    if (report.volumes.length > 0) {
        lines.push("", "Recovered volumes (which key the recovery instances' volumes use):");
        for (const v of report.volumes) {
            const verdict = v.unchecked ? "not checked" : v.key === "target" ? "target key" : `WARNING ${v.key}`;
            lines.push(`  ${verdict.padEnd(20)} ${serverName(v)} (${v.ec2InstanceID ?? v.recoveryInstanceID}): ${v.message}`);
        }
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
        for (const n of c.notes) lines.push(`note: ${n}`);
        if (c.stillRunning.length > 0)
            lines.push(
                `Job ${c.stillRunning.join(", ")} may still launch servers after this run: run ${command(`--cleanup ${c.stillRunning.map((j) => `--job ${j}`).join(" ")}`)} once it ends.`,
            );
    }
    for (const d of report.diagnosis) {
        const trails = d.trails.map((t) => `${t.side} ${t.account}${t.error ? " (not read)" : ""}`).join(" and ");
        lines.push("", `KMS refusals on ${d.keyArn} in the CloudTrail of ${trails} (${d.region}), ${d.from} to ${d.to}: ${d.note}`);
        for (const r of d.refusals) {
            const times = r.count === 1 ? `at ${r.firstSeen}` : `${r.count} times, ${r.firstSeen} to ${r.lastSeen}`;
            lines.push(`  ${r.action} refused (${r.errorCode}) ${times}, logged in ${r.trailAccount}`);
            lines.push(`    who: ${r.principal}`);
            lines.push(`    through: ${r.through}`);
            lines.push(`    why: ${r.cause}`);
            if (r.allowedBy) lines.push(`    allowed by: ${r.allowedBy}`);
            lines.push(`    fix: ${r.fix}`);
        }
    }
    if (report.profile) lines.push("", report.profile);
    if (report.unchecked.length > 0) lines.push("", `Not checked (exit code 3 unless something failed): ${report.unchecked.join("; ")}.`);
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
 * The drill's cost in words, from the price table (plan/pricing.ts): DRS's own charge is per
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
        `${prices.origin} (plan/pricing.ts). DRS's own charge is per replicating server-hour, which the drilled servers incur whether drilled or not` +
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
        "With --start: StartRecovery with isDrill true (never a recovery), sent once, the job tagged",
        `${drillTag.key}=${drillTag.value} and with this run's ${runTagKey}, as a role holding the key-use policy`,
        `(${targetKeyUsePolicyName}, ${targetKeyUsePolicyName}-2, ...): the first of target.keyUserRoleNames, or --role,`,
        "assumed with your credentials (session drs-cross-account-kms-drill). An identity without the policy is",
        "refused unless --any-identity. If StartRecovery's answer is lost, the job is looked for by the run tag",
        "(DescribeJobs), never started twice. It follows the job (progress on stderr), reports each server",
        "(launched; failed, with the job's own message; timed out), reads which key each recovered instance's",
        "volumes use (a key of the target, or a warning: the staging key, another account's, unencrypted),",
        "terminates the recovery instances (unless --keep; also after a failure, a timeout or Ctrl-C), and for a",
        "server that did not launch reads the refused KMS calls on its key in the CloudTrail of the target and",
        "of the staging account (a refused cross-account call is logged only in the caller's account), naming",
        "the setting or key policy statement that would allow each; AWS's own sessions (EC2's infrastructure",
        "session) are named as such. It reads both trails again until --trail-wait minutes (default",
        `${defaultTrailWaitMinutes}) after the job ended: CloudTrail delivers in about 5 minutes on average, without a guarantee,`,
        '"no KMS refusal found" is said only then; before, "none found yet" (exit 3) with the command that',
        "re-runs only the diagnosis. A drill that launched says which key.targetAccess it proved.",
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
        "  npm run -s drill -- -s target --start --trail-wait 30  # wait longer for CloudTrail",
        "  npm run -s drill -- -s target --start --time-limit 240",
        "  npm run -s drill -- --print-policy drill-identity   # the policy the drill's role needs",
        "  npm run -s drill -- -s target --start --json        # one JSON document on stdout",
        "",
        "No key-user roles (keyUserRoleNames empty; identityCenter permission sets): sign in with the permission",
        "set in the target account, and the drill runs with those credentials, checking that their role",
        "(AWSReservedSSO_...) holds the key-use policies the permission set references. --current-credentials",
        "does the same in any stack.",
        "",
        ...permissionsHelp("drill"),
        "",
        "In the exit codes, 1 also covers a server interrupted by Ctrl-C, drill instances a failed clean-up left",
        "running, and a --diagnose that finds refused KMS calls or servers that did not launch; 2 also covers a",
        "plan whose --start would be refused (an identity without the key-use policy, a server not on its key, no",
        "server), a job --cleanup may not touch (not this command's drill), and a refused StartRecovery; 3 a plan",
        "with a server whose key could not be checked, a drill whose recovered volumes could not be read, and a",
        "--diagnose whose CloudTrail reads are not complete yet (none found yet, or a trail that could not be read).",
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
    /** --trail-wait, in minutes. */
    trailWait?: string;
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
    only("--trail-wait", o.trailWait, mode === "drill" || mode === "diagnose", "--start or --diagnose");
    const trailWaitMinutes = o.trailWait === undefined ? undefined : Number(o.trailWait);
    if (trailWaitMinutes !== undefined && !(trailWaitMinutes >= 0 && trailWaitMinutes <= 24 * 60))
        throw new CannotDrill(
            `--trail-wait ${o.trailWait}: give the minutes after the job's end to wait for CloudTrail's delivery, 0 to 1440.`,
        );
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
        ...(trailWaitMinutes !== undefined ? { trailWaitMinutes } : {}),
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
    const factory = (roleArns: Map<string, string | undefined>, command: string, clientOptions: ClientOptions): AwsAccess => {
        const merged = new Map(roleArns);
        for (const [account, arn] of stagingRoles) merged.set(account, arn);
        return deps.access ? deps.access(merged, command, clientOptions) : new AssumedRoleAccess(merged, command, undefined, clientOptions);
    };
    // Long enough for the follow, CloudTrail's delivery wait and the rest; the clean-up runs whatever the limit.
    const timeLimitMinutes =
        options.timeLimitMinutes ??
        (drillOptions.timeoutMinutes ?? defaultTimeoutMinutes) + (drillOptions.trailWaitMinutes ?? defaultTrailWaitMinutes) + 60;
    let input: DrillInput | undefined;
    const { io, access, deadline, clock } = await openStack(
        "drill",
        { ...options, timeLimitMinutes },
        { ...deps, access: factory },
        (stack, keys) => {
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
        },
    );
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
            clock,
            deadline,
            trailPollMs: deps.trailPollMs,
            runId: deps.runId,
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
