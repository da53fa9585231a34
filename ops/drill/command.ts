// The drill as the command line runs it: its flags as the options of a mode (a contradiction is a
// CannotDrill, exit 2), the stack as the drilled target sees it, and drillCommand, which opens the
// stack, checks the credentials once, runs drill() and turns Ctrl-C into a clean-up.
import { isDrillAccess } from "../aws/access";
import { AwsCommandDeps, AwsCommandOptions, openStack, stagingRolesOf, withStagingRoles } from "../aws/command";
import { PriceTable } from "../../plan/pricing";
import { interruptible } from "../io";
import { UsageError } from "../../config/errors";
import { defaultTrailWaitMinutes } from "./diagnosis";
import { drill } from "./run";
import { DrillDeps, DrillInput, DrillOptions, Mode, defaultTimeoutMinutes } from "./types";

/** The command cannot start (arguments, outputs, config): exit 2. */
export class CannotDrill extends UsageError {}

export interface DrillCommandOptions extends AwsCommandOptions {
    start?: boolean;
    cleanup?: boolean;
    diagnose?: boolean;
    /** --failback: the failback drill on the instances of --job. */
    failback?: boolean;
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
    if (o.failback && o.diagnose)
        throw new CannotDrill("--failback and --diagnose contradict each other: a failback drill diagnoses its own KMS refusals.");
    const mode: Mode = o.failback
        ? o.cleanup
            ? "failback-cleanup"
            : o.start
              ? "failback"
              : "failback-plan"
        : o.cleanup
          ? "cleanup"
          : o.diagnose
            ? "diagnose"
            : o.start
              ? "drill"
              : "dry-run";
    const byJob = mode !== "dry-run" && mode !== "drill";
    if (o.failback && !o.jobs?.length)
        throw new CannotDrill("--failback needs --job <jobID>: the drill job whose instances were kept (--start --keep).");
    if (byJob && !(o.jobs && o.jobs.length > 0)) throw new CannotDrill(`--${mode} needs --job <jobID>: the job ID the drill printed.`);
    if (!byJob && o.jobs?.length) throw new CannotDrill("--job goes with --cleanup, --diagnose or --failback.");
    const only = (flag: string, given: unknown, allowed: boolean, where: string) => {
        if (given && !allowed) throw new CannotDrill(`${flag} goes with ${where}.`);
    };
    only("--server", o.servers?.length, !byJob, "a plan or --start, not --cleanup, --diagnose or --failback");
    only("--count", o.count, !byJob, "a plan or --start, not --cleanup, --diagnose or --failback");
    only(
        "--timeout",
        o.timeout,
        mode === "dry-run" || mode === "drill" || mode === "failback-plan" || mode === "failback",
        "a plan or --start",
    );
    only("--keep", o.keep, mode === "drill" || mode === "failback", "--start");
    only("--any-identity", o.anyIdentity, mode === "dry-run" || mode === "drill", "a plan or --start, not --failback");
    only("--role", o.role, !o.failback, "a drill, not --failback (the failback drill runs as the target's role)");
    only(
        "--current-credentials",
        o.currentCredentials,
        !o.failback,
        "a drill, not --failback (the failback drill runs as the target's role)",
    );
    if (o.role && o.currentCredentials) throw new CannotDrill("--role and --current-credentials contradict each other: give one.");
    if (o.servers?.length && o.count !== undefined) throw new CannotDrill("--server and --count contradict each other: give one.");
    const count = o.count === undefined ? undefined : Number(o.count);
    if (count !== undefined && !(Number.isInteger(count) && count >= 1))
        throw new CannotDrill(`--count ${o.count}: give a whole number of servers per staging entry, 1 or more.`);
    const timeoutMinutes = o.timeout === undefined ? undefined : Number(o.timeout);
    if (timeoutMinutes !== undefined && !(timeoutMinutes > 0 && timeoutMinutes <= 24 * 60))
        throw new CannotDrill(`--timeout ${o.timeout}: give the minutes to follow the job, more than 0 and at most 1440.`);
    only("--trail-wait", o.trailWait, mode === "drill" || mode === "diagnose" || mode === "failback", "--start or --diagnose");
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
    const stagingRoles = stagingRolesOf(options.stagingRoles, (m) => new CannotDrill(m));
    const factory = withStagingRoles(stagingRoles, deps.access);
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
                // A failback origin outside the stack is reached the same way: its DRS and trail are read there.
                const reachable = [...new Set(keys.flatMap((k) => [k.accountId, k.wayBack?.originAccountId ?? k.accountId]))];
                if (!reachable.includes(account))
                    throw new CannotDrill(
                        `--staging-role for ${account}: not a staging account or failback origin of the stack (${reachable.join(", ")}).`,
                    );
            }
        },
    );
    if (!isDrillAccess(access))
        throw new Error("drill needs CloudTrail and the drill identity's sessions: the AWS access given has neither.");
    const started: string[] = [];
    const words = {
        first: drillOptions.mode.startsWith("failback")
            ? "stopping, and removing what the failback drill created"
            : "stopping, and cleaning up what the drill launched",
        second: () =>
            drillOptions.mode.startsWith("failback")
                ? `Stopped before the clean-up finished. Clean up with: ${drillOptions.command} --failback --cleanup ${drillOptions.jobs!.map((j) => `--job ${j}`).join(" ")}`
                : `Stopped before the clean-up finished.${started.length > 0 ? ` Clean up with: ${drillOptions.command} --cleanup ${started.map((j) => `--job ${j}`).join(" ")}` : ""}`,
    };
    return interruptible(io, !deps.signal, words, deps.signal, async (signal) => {
        const report = await drill(input!, access, drillOptions, {
            io,
            clock,
            deadline,
            trailPollMs: deps.trailPollMs,
            runId: deps.runId,
            signal,
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
    });
}
