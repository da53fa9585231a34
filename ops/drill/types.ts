// The drill's shapes: its options, its dependencies, its input and the report it returns (the
// JSON --json prints), with the defaults of its options. A leaf module: every part of the drill
// reads these, and they import nothing of the drill but the volumes' and the diagnosis's shapes.
import type { Settings } from "../../config";
import { TargetAccess } from "../../components/policies";
import { Clock, Deadline } from "../clock";
import { Io } from "../io";
import { PriceTable } from "../../plan/pricing";
import { type StagingKeyExport } from "../../program/contract";
import type { RecoveredServer } from "./volumes";
import type { KeyDiagnosis } from "./diagnosis";
import type { FailbackReport } from "./failbackTypes";

export const defaultCount = 1;
export const defaultTimeoutMinutes = 60;
/** How often the job is read while it runs. */
export const defaultPollMs = 30_000;
/** The drill's modes; the failback drill's (--failback) are a plan, a start, and a clean-up of a stopped run. */
export type Mode = "dry-run" | "drill" | "cleanup" | "diagnose" | "failback-plan" | "failback" | "failback-cleanup";

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
    /** --failback: the drill instances reversed, the way back's readiness, the clean-up. */
    failback?: FailbackReport;
    /** What could not be checked (a server's key, the volumes, CloudTrail): exit code 3 unless there is a finding. */
    unchecked: string[];
    exitCode: number;
}
