// One run's shared state, made explicit: what every part of verify reads (the keys, the stack's
// targets, the commands the fixes name, the time limit) and what checks leave for later ones (the
// counts and bytes the capacity and cost checks judge, which once-only checks ran, the results).
import { TargetAccess } from "../../components/policies";
import { TargetSettings } from "../../config";
import { StagingKeyExport, stagingKeysOf } from "../../program/contract";
import { AwsAccess } from "../aws/access";
import { TimeLimitReached } from "../aws/faults";
import { Deadline, noDeadline, realClock } from "../clock";
import { unique } from "./lists";
import { guarded, notChecked } from "./outcomes";
import { ServerEncryption } from "../aws/sourceServers";
import {
    CheckResult,
    Outcome,
    ReadinessThresholds,
    VerifyInput,
    VerifyOptions,
    defaultMaxDrillAgeDays,
    defaultMaxLagMinutes,
    defaultMaxSnapshotAgeMinutes,
} from "./types";

export interface VerifyContext {
    input: VerifyInput;
    aws: AwsAccess;
    progress: (line: string) => void;
    keys: StagingKeyExport[];
    /** Every target the stack serves (a stack of several lists them). */
    stackTargets: string[];
    targetAccess: TargetAccess;
    alignCommand: string;
    drillCommand: string;
    /** extend on the target side, for the coverage check's fix. */
    extendCommand: string;
    deadline: Deadline;
    /** "Now" for the age of the last drill, read once at the start. */
    now: number;
    maxDrillAge: number;
    /** server-readiness's thresholds. */
    readiness: ReadinessThresholds;
    /** Each staging key's servers' replication settings as source-server-encryption read them (by key ARN, then server ID). */
    encryptions: Map<string, Map<string, ServerEncryption>>;
    /** Each staging key's servers' latest points in time, read once (by key ARN). */
    pointsInTime: Map<string, Promise<Map<string, string | undefined>>>;
    /** Servers replicating per staging key (by key ARN), for replicating-capacity and monthly-cost. */
    replicating: Map<string, number>;
    /** Servers extended per target, then per key, for target-capacity. */
    extendedCounts: Map<string, Map<string, number>>;
    /** Each key policy's bytes, for key-policy-size. */
    policyBytes: Map<string, number>;
    /** Every staging account/Region, of the keys and of the config. */
    stagingPlaces: string[];
    /** The once-only checks that ran: account- and Region-wide checks run once however many keys share them. */
    done: Set<string>;
    results: CheckResult[];
}

export function verifyContext(input: VerifyInput, aws: AwsAccess, options: VerifyOptions): VerifyContext {
    const progress = options.progress ?? (() => undefined);
    const keys = stagingKeysOf(input.outputs);
    const stackTargets = Array.isArray(input.outputs.targetAccountIds)
        ? (input.outputs.targetAccountIds as string[])
        : [String(input.outputs.targetAccountId ?? input.settings.target.accountId)];
    const targetAccess = (input.outputs.targetAccess ?? input.settings.key.targetAccess) as TargetAccess;
    const outputsFlag = input.outputsFile ? ` --outputs ${input.outputsFile === "-" ? "<outputs file>" : input.outputsFile}` : "";
    const alignCommand = `npm run -s align-servers -- --stack ${input.stack ?? "<stack>"}${outputsFlag}`;
    const results: CheckResult[] = [];
    const deadline = options.deadline ?? noDeadline();
    const now = (options.clock ?? realClock).now();
    const maxDrillAge = input.maxDrillAgeDays ?? defaultMaxDrillAgeDays;
    const drillCommand = `npm run -s drill -- -s ${input.stack ?? "<target stack>"}`;
    const extendCommand = `npm run -s extend -- -s ${input.settings.deploy === "staging" ? "<target stack>" : (input.stack ?? "<target stack>")}`;
    return {
        input,
        aws,
        progress,
        keys,
        stackTargets,
        targetAccess,
        alignCommand,
        drillCommand,
        extendCommand,
        deadline,
        now,
        maxDrillAge,
        readiness: {
            maxLagMinutes: input.maxLagMinutes ?? defaultMaxLagMinutes,
            maxSnapshotAgeMinutes: input.maxSnapshotAgeMinutes ?? defaultMaxSnapshotAgeMinutes,
            maxDrillAgeDays: maxDrillAge,
        },
        encryptions: new Map(),
        pointsInTime: new Map(),
        replicating: new Map<string, number>(),
        extendedCounts: new Map(stackTargets.map((target) => [target, new Map<string, number>()])),
        policyBytes: new Map<string, number>(),
        stagingPlaces: unique([...keys, ...input.settings.stagingAccounts].map((p) => `${p.accountId}/${p.region}`)),
        done: new Set<string>(),
        results,
    };
}

/** Runs one check and records its result; once the time limit is reached, a check not begun is not checked. */
export async function run(ctx: VerifyContext, check: string, scope: string, account: string, body: () => Promise<Outcome>): Promise<void> {
    const outcome = ctx.deadline.reached() ? notChecked(new TimeLimitReached(ctx.deadline.minutes), account) : await guarded(account, body);
    ctx.results.push({ check, scope, ...outcome });
}

/** Runs `body` the first time `id` is seen in this run, and never again. */
export async function once(ctx: VerifyContext, id: string, body: () => Promise<void>): Promise<void> {
    if (ctx.done.has(id)) return;
    ctx.done.add(id);
    await body();
}

/** A key's policy names every target it serves. */
export function policyTargetsOf(ctx: VerifyContext, key: StagingKeyExport): string[] {
    return key.targetAccountIds ?? ctx.stackTargets;
}

/** The targets of a key this stack checks: a target stack checks only its own target's side. */
export function targetsOfKey(ctx: VerifyContext, key: StagingKeyExport): string[] {
    return policyTargetsOf(ctx, key).filter((t) => ctx.stackTargets.includes(t));
}

/** A scope with its target named, when the stack serves several. */
export function forTarget(ctx: VerifyContext, scope: string, target: string): string {
    return ctx.stackTargets.length > 1 ? `${scope} for ${target}` : scope;
}

export function settingsOf(ctx: VerifyContext, target: string): TargetSettings | undefined {
    return ctx.input.settings.targets.find((t) => t.accountId === target);
}

export function stagingRegions(ctx: VerifyContext, account: string): string[] {
    return ctx.stagingPlaces.filter((p) => p.startsWith(`${account}/`)).map((p) => p.split("/")[1]);
}

export function keysServing(ctx: VerifyContext, target: string): StagingKeyExport[] {
    return ctx.keys.filter((k) => targetsOfKey(ctx, k).includes(target));
}

/** A target's Regions: those in its settings and those of the keys serving it. */
export function targetRegions(ctx: VerifyContext, target: string): string[] {
    return unique([...(settingsOf(ctx, target)?.regions ?? []), ...keysServing(ctx, target).map((k) => k.region)]);
}

/** A multi-Region key's parts share account and key ID (mrk-...); each lives in its own Region. */
export function family(ctx: VerifyContext, key: StagingKeyExport, part: "primary" | "replica"): StagingKeyExport[] {
    return ctx.keys.filter((k) => k.multiRegionKey === part && k.accountId === key.accountId && k.keyId === key.keyId);
}
