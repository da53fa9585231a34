// The drill's DRS jobs: StartRecovery (always a drill, sent once, found again by its run tag when
// its answer is lost), DescribeJobs and the job log, what a job says of each server, and the
// termination of what a job launched. The phases decide when; these say how.
import {
    DescribeJobLogItemsCommand,
    DescribeJobsCommand,
    DrsClient,
    Job,
    JobLog,
    StartRecoveryCommand,
    StartRecoveryRequest,
    TerminateRecoveryInstancesCommand,
} from "@aws-sdk/client-drs";
import { IdentitySession } from "../aws/access";
import { allPages, answerLost, failure, MalformedAnswer, uncheckedOf } from "../aws/faults";
import { DrillContext } from "./context";
import { identitySession } from "./identity";
import { CleanupReport, JobReport, ServerResult, defaultTimeoutMinutes } from "./types";

/** The tag StartRecovery puts on the job: --cleanup terminates only what a job carrying it launched. */
export const drillTag = { key: "drs-cross-account-kms:tool", value: "drill" } as const;
/** The tag naming one run's StartRecovery: a request whose answer was lost is found by it, never sent twice. */
export const runTagKey = "drs-cross-account-kms:run";

/** A job of this command's drill: tagged by it, and a drill (a real recovery's instances are never touched). */
export const isDrillJob = (job: Job) => job.tags?.[drillTag.key] === drillTag.value && job.initiatedBy !== "START_RECOVERY";

/**
 * A --job job, looked for in each of the stack's Regions with `drsIn`'s client there: the job and
 * its Region, or why it was not found (each Region's error), for the report's blockers.
 */
export async function jobById(
    ctx: DrillContext,
    jobID: string,
    drsIn: (region: string) => Promise<DrsClient>,
): Promise<{ job: Job; region: string } | { notFound: string }> {
    const errors: string[] = [];
    for (const region of ctx.regions) {
        try {
            const drs = await drsIn(region);
            const job = (await drs.send(new DescribeJobsCommand({ filters: { jobIDs: [jobID] } }))).items?.find((j) => j.jobID === jobID);
            if (job) return { job, region };
        } catch (err) {
            errors.push(`${region}: ${failure(err)}`);
        }
    }
    return {
        notFound: `Job ${jobID}: not found in the target ${ctx.target} in ${ctx.regions.join(", ")}${errors.length > 0 ? ` (${errors.join("; ")})` : ""}.`,
    };
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

/**
 * StartRecovery, sent once (the writer client retries only a throttled call). When its answer is
 * lost, the job it may have started is looked for by this run's tag before anything is decided.
 */
export async function startJob(
    ctx: DrillContext,
    region: string,
    ids: string[],
    job: JobReport,
): Promise<{ job: Job; session: IdentitySession } | undefined> {
    let session: IdentitySession;
    try {
        session = await identitySession(ctx, region);
    } catch (err) {
        job.error = `the drill identity could not be used in ${region}: ${failure(err)}`;
        return undefined;
    }
    const sentAt = ctx.clock.now();
    try {
        const answer = await session.drsWriter.send(new StartRecoveryCommand(drillRequest(ids, ctx.input.stack, ctx.runId)));
        if (answer?.job?.jobID) return { job: answer.job, session };
        throw new MalformedAnswer("drs:StartRecovery", "no job");
    } catch (err) {
        if (!answerLost(err)) {
            job.error = `StartRecovery was refused: ${failure(err)}`;
            return undefined;
        }
        const tag = `${runTagKey}=${ctx.runId}`;
        ctx.io.err(`warning: ${region}: StartRecovery's answer was lost (${failure(err)}); looking for a job carrying ${tag}...\n`);
        const found = await findJob(ctx, session.drs, sentAt, (j) => j.tags?.[runTagKey] === ctx.runId && j.type === "LAUNCH");
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
async function findJob(
    ctx: DrillContext,
    drs: DrsClient,
    since: number,
    matches: (job: Job) => boolean,
): Promise<{ job?: Job; error?: string }> {
    for (let attempt = 0; attempt < 3; attempt++) {
        if (attempt > 0) await ctx.clock.sleep(findJobIntervalMs, ctx.deps.signal);
        try {
            const jobs = await allPages("drs:DescribeJobs", (nextToken) =>
                drs.send(
                    new DescribeJobsCommand({
                        filters: {
                            fromDate: new Date(since - 60_000).toISOString(),
                            toDate: new Date(ctx.clock.now() + 60_000).toISOString(),
                        },
                        nextToken,
                    }),
                ),
            );
            const job = jobs.filter(matches).pop();
            if (job) return { job };
        } catch (err) {
            if (!uncheckedOf(err, ctx.target, "drs:DescribeJobs")) throw err;
            return { error: failure(err) };
        }
    }
    return {};
}

/** What the job says of one server: launched, failed (with the job's own message), or why not yet. */
export function resultOf(
    ctx: DrillContext,
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
            p?.launchStatus === "TERMINATED" ? "its recovery instance was terminated before the job ended" : "the job reports it failed";
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
        message: `still ${state} after ${ctx.options.timeoutMinutes ?? defaultTimeoutMinutes} minutes${said ? ` (last failure in the log: ${said})` : ""}`,
    };
}

/**
 * Terminates the jobs' recovery instances (unless --keep), re-reading each job first: a server may
 * have launched since the last read. What could not be terminated is listed, with how to finish.
 */
export async function cleanUp(
    ctx: DrillContext,
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
        const sentAt = ctx.clock.now();
        try {
            // Sent once: the writer client retries only a throttled call.
            const answer = await session.drsWriter.send(new TerminateRecoveryInstancesCommand({ recoveryInstanceIDs: ids }));
            report.terminated.push(...ids);
            if (answer?.job?.jobID) report.terminateJobIDs.push(answer.job.jobID);
        } catch (err) {
            // A lost answer: the termination may have started; its job lists the instances.
            const found = answerLost(err)
                ? await findJob(
                      ctx,
                      session.drs,
                      sentAt,
                      (j) => j.type === "TERMINATE" && ids.every((id) => j.participatingServers?.some((p) => p.recoveryInstanceID === id)),
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

/** Every item of a job's log, all pages (bounded). */
export function jobLog(drs: DrsClient, jobID: string): Promise<JobLog[]> {
    return allPages("drs:DescribeJobLogItems", (nextToken) => drs.send(new DescribeJobLogItemsCommand({ jobID, nextToken })));
}

/** How long to wait between DescribeJobs reads when looking for a job whose start's answer was lost. */
const findJobIntervalMs = 10_000;

const failureEvents = /FAIL|SKIPPED/;

export function describeLogItem(item: JobLog): string {
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
